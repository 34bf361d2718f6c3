"""Planning a run, before anything is built: which recipe, which settings (checked),
which run directory, and what a resumed run may change.

Every mistake a user can make in the settings is found here, in one process, so
that it costs one line and not a failure in each of N distributed processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ganforge.training import config as cfg
from ganforge.contracts.augmentation import build as build_augmentation
from ganforge.artifacts import rundir
from ganforge.contracts.recipe import parameters
from ganforge.errors import GanforgeError
from ganforge.hooks.manager import SINGULAR, get, registry
from ganforge.training.runlock import user_files
from ganforge.training.settings import (RESUMABLE, SETTINGS, canonical, check_alternatives, setting,
                                        turn_off_other_forms)


@dataclass
class Plan:
    recipe_name: str
    recipe_cls: type
    config: dict  # {"engine": settings, "params": recipe parameters}, every value checked
    run_dir: Path
    resuming: bool
    overwrite: bool = False
    saved: dict = field(default_factory=dict)  # a resumed run's config.json, as read (auto values, budget)

    @property
    def engine(self) -> dict:
        return self.config["engine"]

    @property
    def params(self) -> dict:
        return self.config["params"]

    def set_by_user(self, param: str) -> bool:
        """Whether a config file or the command line chose this recipe parameter (a resumed run's
        saved parameters all count as chosen)."""
        return self.resuming or param in self.config.get("set_by_user", ())

    def setting_chosen(self, name: str) -> bool:
        """Whether a config file, the command line or the API chose this engine setting (a
        resumed run's saved settings all count as chosen)."""
        return self.resuming or name in self.config.get("settings_by_user", ())


def new_run_dir(recipe_name: str) -> Path:
    base = Path("runs") / f"{recipe_name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def plan(recipe_name: str, settings: dict, *, out=None, resume=None, overwrite: bool = False, params=None,
         config=None) -> Plan:
    """Check ``settings`` (engine settings by name; ``None`` means "not given") and the recipe
    parameters, and resolve the run's configuration."""
    given = {canonical(k): v for k, v in settings.items() if v is not None}
    for key in given:
        setting(key)  # an unknown name fails here, before a resume rule could hide it
    check_alternatives(given)
    recipe_cls = get("gans", recipe_name)
    if resume is not None:
        result = _plan_resume(recipe_name, recipe_cls, given, Path(resume), params, config)
    else:
        params = cfg.normalize_keys(params or {})
        if "loss" in params and "loss" not in recipe_cls.hparams:
            reason = getattr(recipe_cls, "no_loss_reason", "it has no adversarial loss to choose")
            raise GanforgeError(f"{recipe_name} does not take a loss plugin: {reason}")
        run_dir = Path(out) if out else new_run_dir(recipe_name)
        _check_new_run_dir(run_dir, overwrite)
        result = Plan(recipe_name, recipe_cls, cfg.resolve(recipe_cls, given, params, config, recipe_name), run_dir,
                      False, overwrite)
    size = result.params.get("image_size")
    if size is not None and size < 1:  # handed to the dataset, which reads 0 as "as stored"
        raise GanforgeError(f"'image_size' must be at least 1, got {size}")
    check_components(result)
    build_augmentation(result.engine["augment"])  # its options too, before anything loads
    _one_penalty(result)
    if not result.setting_chosen("cfg") and _reads_image_files(result.engine["dataset"]):
        result.engine["cfg"] = "auto"  # a user's own images: chosen for them (--cfg recipe keeps the defaults)
    return result


def _reads_image_files(dataset_name: str) -> bool:
    """Whether a dataset reads a user's image files: it takes the image-file options."""
    from ganforge.data.datasets import IMAGE_FILE_OPTIONS, file_options

    return bool(file_options(get("datasets", dataset_name), dict.fromkeys(IMAGE_FILE_OPTIONS)))


def _one_penalty(planned: Plan) -> None:
    """D is regularized one way: a recipe's own gradient penalties (R3GAN's gamma) and the
    engine's --r1 / --r2 never add up silently."""
    own = [name for name in planned.recipe_cls.own_penalty_weights if planned.params.get(name)]
    flags = [f"--{name}" for name in ("r1", "r2") if planned.engine.get(name)]
    if own and flags:  # its weights are named, not quoted: --cfg auto may still choose them
        weights = " and ".join(f"-p {name}" for name in planned.recipe_cls.own_penalty_weights)
        asked = " and ".join(f"{flag} {planned.engine[flag[2:]]:g}" for flag in flags)
        raise GanforgeError(f"{planned.recipe_name} applies R1 and R2 itself, weighted by {weights}, and {asked} "
                            f"would add a second penalty: leave {' and '.join(flags)} out, or set "
                            f"{' and '.join(f'-p {name}=0' for name in own)} to use the engine's alone")


def _check_new_run_dir(run_dir: Path, overwrite: bool) -> None:
    """A new run goes into a folder that is new or empty; ``overwrite`` lets it clear one."""
    if run_dir.exists() and not run_dir.is_dir():
        raise GanforgeError(f"--out '{run_dir}' is a file, not a folder")
    if overwrite or not user_files(run_dir):
        return
    if (run_dir / rundir.STATE).exists():
        raise GanforgeError(f"'{run_dir}' already holds a run; continue it with --resume {run_dir}, "
                            "choose another --out, or replace it with --overwrite")
    raise GanforgeError(f"'{run_dir}' is not empty; choose another --out, or clear it with --overwrite")


def _plan_resume(recipe_name, recipe_cls, given: dict, run_dir: Path, params, config) -> Plan:
    """A resumed run keeps its configuration; only the settings declared resumable may change."""
    if not (run_dir / rundir.STATE).exists():
        raise GanforgeError(f"'{run_dir}' is not a ganforge run directory (no {rundir.STATE} or {rundir.CONFIG})")
    saved = rundir.read_run_config(run_dir)
    if saved["recipe"] != recipe_name:
        raise GanforgeError(f"run '{run_dir}' trained '{saved['recipe']}', not '{recipe_name}'")
    changed = set(given) - RESUMABLE
    params = cfg.normalize_keys(params or {})
    declared = parameters(recipe_cls, saved["params"].get("loss"))
    resumable_params = {k for k, p in declared.items() if p.resumable}
    fixed = sorted(set(params) - resumable_params)
    if changed or fixed or config:
        allowed = sorted(RESUMABLE | resumable_params)
        raise GanforgeError(f"a resumed run keeps its configuration; only {', '.join(allowed)} "
                            f"can change (got {', '.join(sorted(changed) + fixed) or 'a config file'})")
    engine = {canonical(k): v for k, v in saved["engine"].items()}
    engine.setdefault("ema_rampup", 0.0)  # saved before the ramp-up existed: the half-life from the start
    for declared in SETTINGS:  # any other setting the run predates: its own default, which kept runs as they
        engine.setdefault(declared.name, declared.default)  # were (not a recipe's later default: dcgan's EMA)
    engine.update(given)
    turn_off_other_forms(engine, given)  # --steps on resume replaces the run's --epochs, and back
    return Plan(recipe_name, recipe_cls, cfg.resolve(recipe_cls, engine, {**saved["params"], **params}), run_dir, True,
                saved=saved)


def check_components(planned: Plan) -> None:
    """Every plugin the run will use exists: its dataset and the components its recipe
    parameters name (declared with ``Param(component=KIND)``, or listed in ``Recipe.components``)."""
    reg = registry()
    for declared in SETTINGS:
        if declared.component:
            value = planned.engine[declared.name]
            for name in value if declared.many else [value]:
                name = str(name).partition(":")[0]  # NAME:OPTIONS (--augment diffaug:cutout)
                if name == "none":
                    continue
                component = reg.get(declared.component, name)
                reason = getattr(component, "unavailable", lambda: None)()  # a missing package, say
                if reason:
                    raise GanforgeError(f"{SINGULAR[declared.component]} '{name}': {reason}")
    kinds = {**getattr(planned.recipe_cls, "components", {}),
             **{k: p.component for k, p in parameters(planned.recipe_cls, planned.params.get("loss")).items()
                if p.component}}
    for param, kind in kinds.items():
        value = planned.params.get(param)
        if isinstance(value, str):
            reg.component(kind, value)
