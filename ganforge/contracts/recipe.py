"""What a GAN recipe declares: its hyperparameters, networks, optimizers and one
training step. The engine (``ganforge.training.engine``) owns everything else."""

from __future__ import annotations

import contextlib
import inspect
from contextlib import contextmanager
from types import SimpleNamespace

import torch
from torch import nn

from ganforge.contracts.context import TrainingContext, context_of
from ganforge.contracts.params import Param, declared
from ganforge.contracts.networks import random_inputs
from ganforge.hooks.manager import get, recording


def parameters(recipe_cls, loss: str | None = None) -> dict[str, Param]:
    """Every parameter a run of ``recipe_cls`` takes, declared: the recipe's ``hparams`` and
    those of its adversarial loss (``loss``, else the recipe's default one), so that a loss's
    options (WGAN-GP's ``gp_weight``) are set like any recipe parameter."""
    found = declared(recipe_cls.hparams)
    name = loss or (found["loss"].default if "loss" in found else None)
    if name is not None:
        found.update({k: p for k, p in declared(getattr(get("losses", name), "hparams", {})).items() if k not in found})
    return found


def linear_decay(step: int, total: int, decay_from: float) -> float:
    """The learning rate's factor at ``step``: 1 until ``decay_from`` x ``total`` steps, then
    down linearly to 0 at ``total`` (CycleGAN's and pix2pix's schedule; ``decay_from`` of the
    adversarial recipes). ``total`` is the run's planned steps (``--steps``, or the plan of
    ``--minutes``), so the decay spans the run."""
    start = int(total * decay_from)
    return 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(total - start, 1))


def regularization(recipe_cls, params: dict, engine: dict) -> str:
    """One sentence on what regularizes D in a run of ``recipe_cls`` with these parameters and
    engine settings: R1/R2, whose weights, how often, and what --r1/--r2 would do."""
    own = [name for name in recipe_cls.own_penalty_weights if params.get(name)]
    every = engine.get("r1_every", 16)
    how = ("at every D step, from the loss's forward pass of D" if every == 1 else
           f"every {every} steps as an update of D's own, times {every}, D's Adam lr and betas corrected by "
           f"{every}/{every + 1}")
    if own:
        weights = " -> ".join(f"{params[name]:g}" for name in own)
        return (f"R1 and R2 weighted by the recipe's own gamma ({weights} over the run), {how}; "
                f"--r1/--r2 are refused unless {' and '.join(f'{name}=0' for name in recipe_cls.own_penalty_weights)}")
    r1, r2 = engine.get("r1", 0.0), engine.get("r2", 0.0)
    if not (r1 or r2):
        return f"no R1/R2 (--r1 GAMMA, --r2 GAMMA add them: {how})"
    named = " and ".join(f"{n} {g:g}" for n, g in (("R1", r1), ("R2", r2)) if g)
    return f"{named}, {how}"


class Recipe:
    """Base class of GAN recipes.

    ``hparams`` declares each parameter (a ``Param``, or ``(default, help)``); users see
    them with ``ganforge show NAME`` and set them with ``-p KEY=VALUE``, a flag of their
    own or a config file. ``train_defaults`` gives the engine's defaults for this recipe
    (dataset, steps, batch size, ...). ``networks`` must hold the generator as
    ``"G"``; ``optimizers`` one optimizer per network that trains.

    The engine hands every recipe a ``ganforge.plugin.TrainingContext`` at
    construction: its device, its share of a distributed run, its precision and
    its held-out data (``self.held_out()``). A recipe built by hand may be given a
    bare device instead.
    """

    hparams: dict[str, Param | tuple[object, str]] = {}
    train_defaults: dict[str, object] = {}
    # The networks the engine saves as self-describing generator checkpoints (``G`` as G.ckpt;
    # a translation recipe adds ``G_BA``); the others are saved as NAME.ckpt too.
    generators: tuple[str, ...] = ("G",)

    # A recipe parameter ``image_size`` follows the dataset's own size unless the user sets
    # it; a recipe whose architecture needs its default size (stackgan) sets this to False,
    # and the dataset is asked to resize to it.
    image_size_follows_data = True

    # Recipe parameters whose values name plugins, by kind: checked when a run is planned,
    # before anything loads (also ``Param(component=KIND)``; this list is for tuple parameters).
    components: dict[str, str] = {"loss": "losses", "upsampler": "upsamplers"}

    def __init__(self, hp: dict, data, context: TrainingContext | torch.device | str):
        self.hp = SimpleNamespace(**hp)
        self.data = data  # the dataset: channels, image_size, num_classes
        self.context = context_of(context)
        self.device = self.context.device
        self._lazy_penalties: list = []  # R1/R2 due as an update of their own (d_objective, update)
        # The networks as built: what checkpoints hold. ``networks`` may show the engine's views of them.
        self.built: dict[str, nn.Module] = {k: v.to(self.device) for k, v in self.build_networks().items()}
        self.optimizers: dict[str, torch.optim.Optimizer] = self.build_optimizers()
        # each optimizer's learning rates as built: what a schedule scales (restored state changes them)
        self._start_lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in self.optimizers.items()}
        # The adversarial loss plugin, for recipes with a "loss" parameter (sgan's classifier D has none).
        self.loss = self.build_loss() if "loss" in hp else None

    def build_loss(self):
        """The loss plugin named by ``hp.loss``, built with ``real_label`` and its own parameters
        (``Loss.hparams``, which the run's parameters include)."""
        loss_cls = get("losses", self.hp.loss)
        options = {k: getattr(self.hp, k) for k in declared(getattr(loss_cls, "hparams", {})) if hasattr(self.hp, k)}
        return loss_cls(real_label=self.hp.real_label, **options)

    # -- to implement ---------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam per network."""
        return {name: self.adam(name) for name in self.networks}

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """One iteration; returns detached scalar tensors to log (read only when logged)."""
        raise NotImplementedError

    def schedule(self, step: int, total: int) -> None:
        """Called before every step; set learning rates here (it must depend on the step only,
        so that a resumed run follows the same schedule)."""

    # True when D's loss differentiates D's gradient (R1/R2 at every step): a distributed run
    # then averages gradients by hand instead of through DDP, which cannot.
    gradient_penalties = False
    # The parameters that weigh a penalty of D's the recipe applies itself (``d_regularization``):
    # a run that sets one of them and --r1 or --r2 too is refused, so that two penalties never
    # add up without the user knowing.
    own_penalty_weights: tuple[str, ...] = ()

    @classmethod
    def auto_config(cls, facts) -> dict[str, tuple[object, str]]:
        """``--cfg auto``: values for this recipe's parameters and engine settings chosen from
        ``facts`` (``ganforge.training.auto.Facts``: image size, number of images, device,
        budget), as ``{name: (value, why)}``; the engine applies those the user left unset, on
        top of its own rules (precision). A recipe that proposes a precision decides it: the
        engine's start-up bf16 timing runs only where no recipe did (``facts.bf16_speedup`` is
        None here). None by default."""
        return {}

    def ema_half_life(self, step: int, total: int) -> float | None:
        """The generators' moving-average half-life in images at ``step``, for a recipe that
        schedules it (a function of the step only); None: the run's ``--ema-images``."""
        return None

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Tensors besides weights and optimizers that resume needs (e.g. an image pool)."""
        return {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        pass

    def evaluate(self) -> dict[str, float]:
        """Figures worth logging now and then (e.g. held-out accuracy); the engine calls it
        every ``eval_every`` steps and at the end. ``self.held_out()`` gives the test split."""
        return {}

    @classmethod
    def evaluate_run(cls, run_dir, config: dict, device: str = "cpu") -> dict[str, float]:
        """Figures of a finished run that only this recipe knows how to compute from its
        checkpoints (``ganforge eval`` adds them to its own); ``config`` is the run's
        ``config.json``."""
        return {}

    def fixed_inputs(self, n: int, generator: torch.Generator) -> tuple[list[torch.Tensor], int]:
        """Inputs of the sample grids (drawn once per run) and the grid's columns. A generator
        with a class input gets one row per class."""
        inputs = random_inputs(self.generator.signature, n, generator, self.device)
        for i, spec in enumerate(self.generator.signature):
            if spec["distribution"] == "categorical":
                k = spec["num_classes"]
                per_class = max(n // k, 1)
                inputs[i] = (torch.arange(n, device=self.device) // per_class).clamp(max=k - 1)
                return inputs, per_class
        return inputs, None

    def grid_labels(self, inputs: list[torch.Tensor], columns: int | None) -> list[str] | None:
        """A label for each row of the sample grids (``fixed_inputs``' rows): the class of
        each row for a generator with a class input, none otherwise."""
        for spec, values in zip(self.generator.signature, inputs):
            if spec["distribution"] == "categorical" and columns:
                return [str(int(c)) for c in values[::columns].tolist()]
        return None

    # -- helpers --------------------------------------------------------------------
    def adam(self, *networks: str) -> torch.optim.Adam:
        """One Adam over the named networks, with ``lr``, ``beta1`` and ``beta2`` from hparams;
        ``g_lr`` / ``d_lr``, when set, override ``lr`` for generators (names starting with G)
        and discriminators (two time-scale update rule); D's are corrected for lazy R1/R2
        (``lazy_ratio``)."""
        params = [p for name in networks for p in self.networks[name].parameters()]
        generator = all(n.startswith("G") for n in networks)
        separate = getattr(self.hp, "g_lr" if generator else "d_lr", None)
        c = 1.0 if generator else self.lazy_ratio(networks[0])  # lazy R1/R2: StyleGAN2's Adam correction
        # On CUDA, one fused kernel updates every parameter instead of a launch per tensor.
        return torch.optim.Adam(params, lr=(separate or self.hp.lr) * c,
                                betas=(self.hp.beta1 ** c, self.hp.beta2 ** c), fused=self.device.type == "cuda" or None)

    @property
    def networks(self) -> dict[str, nn.Module]:
        """The networks to call: those built, or the view the engine has put in use (DDP
        wrappers while training, moving averages while drawing grids)."""
        return self.context.networks(self.built)

    def held_out(self):
        """The dataset's held-out split (from the context)."""
        return self.context.held_out()

    def sharded(self, n: int, draw) -> torch.Tensor:
        """``draw(N)`` random rows for the whole global batch, and this process's ``n`` of them.

        Draw a recipe's random numbers (latent codes, labels, picks) through this: the
        processes of a distributed run share a seed, so each one draws the same global
        batch and keeps its own rows, and the run sees what one process would."""
        rank, world = self.context.shard
        return draw(n) if world == 1 else draw(n * world)[rank * n:(rank + 1) * n]

    def latent(self, n: int) -> torch.Tensor:
        """``n`` standard normal latent codes, for recipes with a ``latent_dim`` (sharded)."""
        return self.sharded(n, lambda m: torch.randn(m, self.hp.latent_dim, device=self.device))

    def update(self, optimizer: str, loss: torch.Tensor) -> None:
        """One step of ``self.optimizers[optimizer]`` down the gradient of ``loss`` (with loss
        scaling under fp16), then the lazy R1/R2 update ``d_objective`` left for it, if any."""
        self._apply(optimizer, loss)
        if self._lazy_penalties:
            self._lazy_update(optimizer)

    def _apply(self, optimizer: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[optimizer]
        opt.zero_grad(set_to_none=True)
        scaler = self.context.scalers.get(optimizer)
        if scaler is None:
            loss.backward()
            self.context.sync_gradients(opt)
            opt.step()
            return
        scaler.scale(loss).backward()
        self.context.sync_gradients(opt)
        scaler.step(opt)
        scaler.update()

    @staticmethod
    @contextmanager
    def frozen(*networks: nn.Module):
        """Gradients flow through these networks but not into their weights (G's step through D)."""
        with contextlib.ExitStack() as stack:
            for net in networks:
                net.requires_grad_(False)
                if hasattr(net, "no_sync"):  # DDP: nothing of this network's to synchronize
                    stack.enter_context(net.no_sync())
            try:
                yield
            finally:
                for net in networks:
                    net.requires_grad_(True)

    def network(self, name: str, **kwargs) -> nn.Module:
        """Build a registered network and remember how, so ``G.ckpt`` can rebuild it."""
        with recording() as used:  # the plugins it is made of: a plugin upsampler inside, say
            module = get("networks", name)(**kwargs)
        module.ganforge_spec = {"network": name, "kwargs": kwargs, "components": sorted(used)}
        return module

    def augmented(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` as D should see them: through the run's augmentation (``--augment``), the
        same for real and fake batches, in D's step and in G's; unchanged without one."""
        augmentation = self.context.augmentation
        return images if augmentation is None else augmentation(images, self.sharded)

    def observe_real(self, real_scores: torch.Tensor) -> None:
        """Tell an adaptive augmentation D's scores on the real batch (each D step), with the
        run's statistics channel (``self.context.stats``)."""
        augmentation, stats = self.context.augmentation, self.context.stats
        if augmentation is None or not hasattr(augmentation, "observe"):
            return
        if len(inspect.signature(augmentation.observe).parameters) >= 2:
            augmentation.observe(real_scores, stats)
        else:  # written before the statistics channel: observe(real_scores) and metrics()
            from ganforge._moved import deprecated

            deprecated(f"{type(augmentation).__name__}.observe(real_scores) without the statistics channel",
                       "take observe(real_scores, stats) and report figures with stats.report(name, value)")
            augmentation.observe(real_scores)
            for name, value in getattr(augmentation, "metrics", dict)().items():
                stats.report(name, value)

    # -- R1 and R2: one way to regularize D, for every recipe ----------------------------
    def penalty_weights(self) -> tuple[float, float]:
        """The R1 and R2 weights (gamma) at this step: the run's ``--r1`` and ``--r2``. A recipe
        that schedules its own (R3GAN's gamma, named in ``own_penalty_weights``) overrides this;
        either way they go through the same machinery below, at the steps of ``--r1-every``."""
        return self.context.r1[0], self.context.r2

    @property
    def penalty_interval(self) -> int:
        """k of lazy regularization: R1/R2 at every k-th step (``--r1-every``)."""
        return self.context.r1[1]

    def regularized(self) -> bool:
        """Whether this run applies R1 or R2 at all (the engine's flags or the recipe's own weights)."""
        return bool(self.context.r1[0] or self.context.r2
                    or any(getattr(self.hp, name, 0) for name in self.own_penalty_weights))

    def lazy_ratio(self, optimizer: str) -> float:
        """StyleGAN2's correction for lazy regularization, c = k / (k + 1), for D's optimizers
        (names not starting with G) when R1/R2 come every k > 1 steps as updates of their own:
        such an optimizer takes k + 1 steps per k batches, so it runs at lr * c with betas ** c.
        1 otherwise. ``adam()`` applies it; a recipe that sets learning rates or betas itself
        (a schedule) multiplies by it too."""
        k = self.penalty_interval
        if optimizer.startswith("G") or k <= 1 or not self.regularized():
            return 1.0
        return k / (k + 1)

    def _penalty_due(self) -> tuple[float, float]:
        """This step's R1 and R2 weights, (0, 0) when neither is due."""
        r1, r2 = self.penalty_weights()
        if not (r1 or r2) or self.context.step % self.penalty_interval:
            return 0.0, 0.0
        return r1, r2

    @contextmanager
    def scoring(self, real_images: torch.Tensor, fake_images: torch.Tensor):
        """``(real, fake)`` as D's step should score them, for R1 and R2 to share D's forward
        pass with the loss: at a step where they are due in D's update (``--r1-every 1``, and
        R3GAN), detached copies that require grad, under eager execution (a compiled graph has no
        double backward); otherwise as given, fakes detached. Score them inside the ``with``
        block and pass them to ``d_objective``."""
        r1, r2 = self._penalty_due() if self.penalty_interval == 1 else (0.0, 0.0)
        real, fake = real_images.detach(), fake_images.detach()
        if not (r1 or r2):
            yield real_images, fake
            return
        with torch.compiler.set_stance("force_eager"):
            yield real.requires_grad_(bool(r1)), fake.requires_grad_(bool(r2))

    def _gradient_penalty(self, critic, images: torch.Tensor, gamma: float, scores=None, times: int = 1):
        """gamma / 2 E||grad_x D(x)||^2 at ``images``, times ``times``: from ``scores`` when they
        were computed from ``images`` as prepared by ``scoring`` (one forward pass), else from a
        forward pass of ``critic`` of its own."""
        grad = None
        if scores is not None and images.is_leaf and images.requires_grad:
            grad, = torch.autograd.grad(scores.float().sum(), images, create_graph=True, allow_unused=True)
        if grad is None:
            x = images.detach().requires_grad_(True)
            # eager even under --compile: compiled graphs have no double backward (the penalty's
            # gradient is differentiated again by loss.backward())
            with torch.compiler.set_stance("force_eager"):
                grad, = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
        return gamma / 2 * grad.float().pow(2).flatten(1).sum(1).mean() * times

    def d_objective(self, critics, base=None, weight: float = 1.0) -> torch.Tensor:
        """D's loss, assembled here for every recipe: the one place where the loss plugin, its
        penalty and R1/R2 meet.

        ``critics`` lists one ``(real_scores, fake_scores, critic, real_images, fake_images)``
        per discriminator, ``critic(images)`` giving that D's raw scores through the run's
        augmentation. The result is the loss plugin's ``d_loss`` on each pair of scores (left out
        for a recipe without a loss plugin, whose D has a loss of its own: it passes that as
        ``base``), plus ``base``, plus each critic's ``Loss.penalty`` (fakes detached), every
        term times ``weight``. What it returns is what the run logs as ``d_loss``.

        R1 (at ``real_images``) and R2 (at ``fake_images``), weighted by ``penalty_weights()``:
        with ``--r1-every 1`` they join this loss at every step, computed from the scores given
        when the images came from ``scoring`` (one forward pass of D per input); with
        ``--r1-every k > 1`` they are StyleGAN2's lazy regularization: every k-th step, times k,
        as an update of D's own taken right after this loss's (``update``), with the Adam
        correction of ``lazy_ratio``."""
        scale = (lambda x: x) if weight == 1 else (lambda x: weight * x)
        total = None
        for real_scores, fake_scores, *_ in critics:
            if real_scores is not None and self.loss is not None:
                term = self.loss.d_loss(real_scores, fake_scores)
                total = term if total is None else total + term
        total = base if total is None else (scale(total) if base is None else scale(total) + base)
        r1, r2 = self._penalty_due()
        lazy = (r1 or r2) and self.penalty_interval > 1
        for real_scores, fake_scores, critic, real_images, fake_images in critics:
            if self.loss is not None:
                penalty = self.loss.penalty(critic, real_images, fake_images.detach())
                if penalty is not None:
                    total = total + scale(penalty)
            if lazy:
                self._lazy_penalties.append((critic, real_images.detach(), fake_images.detach(), weight))
                continue
            for gamma, scores, images in ((r1, real_scores, real_images), (r2, fake_scores, fake_images)):
                if gamma:
                    total = total + scale(self._gradient_penalty(critic, images, gamma, scores))
        return total

    def _lazy_update(self, optimizer: str) -> None:
        """The lazy R1/R2 update d_objective left for ``optimizer``: a forward pass of each
        critic at the same images, with the weights just updated, times the interval."""
        pending, self._lazy_penalties = self._lazy_penalties, []
        r1, r2 = self._penalty_due()
        k, total = self.penalty_interval, None
        for critic, real_images, fake_images, weight in pending:
            for gamma, images in ((r1, real_images), (r2, fake_images)):
                if gamma:
                    term = weight * self._gradient_penalty(critic, images, gamma, times=k)
                    total = term if total is None else total + term
        if total is not None:
            self._apply(optimizer, total)

    def g_adversarial(self, fake_scores: torch.Tensor, real_scores) -> torch.Tensor:
        """G's adversarial loss from D's scores on fakes. ``real_scores`` is a function giving
        D's scores on the real batch; it is called (without gradient) only for a loss that
        uses them, such as a relativistic loss, and otherwise costs nothing."""
        if getattr(self.loss, "uses_real_scores", False):
            with torch.no_grad():
                real = real_scores()
            return self.loss.g_loss(fake_scores, real)
        return self.loss.g_loss(fake_scores)

    @property
    def generator(self) -> nn.Module:
        return self.networks["G"]

    def generate(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.generator(*inputs)


class AdversarialRecipe(Recipe):
    """The two-player loop of Goodfellow et al. (2014): ``d_steps`` updates of D on real and
    fake batches, then ``g_steps`` updates of G through a frozen D, with a loss plugin.

    A ``conditional`` recipe feeds class labels to G and D: D sees fakes drawn
    for the real batch's labels. With one update of each (the default), G's step
    reuses the fake batch D was just trained on (the usual hand-written loop: one
    forward pass of G per iteration, not two); otherwise every step draws fresh
    fakes, and G's on uniformly drawn labels.
    """

    conditional = False

    def schedule(self, step: int, total: int) -> None:
        """With ``decay_from`` below 1: every optimizer's learning rate constant, then down
        linearly to 0 over the rest of the run (``linear_decay``)."""
        decay_from = getattr(self.hp, "decay_from", 1.0)
        if decay_from >= 1:
            return
        factor = linear_decay(step, total, decay_from)
        for name, optimizer in self.optimizers.items():
            for group, start in zip(optimizer.param_groups, self._start_lrs[name]):
                group["lr"] = start * factor

    def random_labels(self, n: int) -> torch.Tensor:
        return self.sharded(n, lambda m: torch.randint(self.data.num_classes, (m,), device=self.device))

    def fake_batch(self, n: int, labels=None) -> torch.Tensor:
        G = self.networks["G"]
        return G(self.latent(n), labels) if self.conditional and labels is not None else G(self.latent(n))

    def discriminate(self, images, labels=None):
        D, images = self.networks["D"], self.augmented(images)
        return D(images, labels) if self.conditional else D(images)

    def d_step(self, images, labels, fake=None):
        """One update of D (on ``fake`` if given, else on a fresh fake batch); returns its
        loss and mean scores on real and fake."""
        n = images.shape[0]
        y = labels if self.conditional else None
        if fake is None:
            with torch.no_grad():
                fake = self.fake_batch(n, y)
        with self.scoring(images, fake) as (real, fake):
            d_real, d_fake = self.discriminate(real, y), self.discriminate(fake, y)
        self.observe_real(d_real)
        critic = lambda x: self.discriminate(x, y)  # noqa: E731
        d_loss = self.d_objective([(d_real, d_fake, critic, real, fake)],
                                  base=self._own_regularization(critic, real, fake))
        self.update("D", d_loss)
        return d_loss.detach(), d_real.detach().mean(), d_fake.detach().mean()

    def _own_regularization(self, critic, real, fake):
        """A term of D's loss from a subclass that still overrides ``d_regularization`` (R1/R2
        now come from ``penalty_weights``); added, with a warning."""
        if type(self).d_regularization is AdversarialRecipe.d_regularization:
            return None
        from ganforge._moved import deprecated

        deprecated(f"{type(self).__name__}.d_regularization", "weigh R1/R2 by overriding penalty_weights(), or add a "
                   "term of your own to D's loss in train_step", stacklevel=3)
        return self.d_regularization(critic, real, fake)

    def d_regularization(self, critic, real_images, fake_images):
        """Deprecated: a term of D's loss at this step, added by ``d_step``. None by default."""
        return None

    def g_step(self, images, real_labels, fake=None, labels=None):
        """One update of G through D, on ``fake`` (drawn for ``labels``) if given, else on a
        fresh fake batch; the real batch is there for losses that compare with it."""
        n = images.shape[0]
        if fake is None:
            labels = self.random_labels(n) if self.conditional else None
            fake = self.fake_batch(n, labels)
        y = real_labels if self.conditional else None
        g_loss = self.g_adversarial(self.discriminate(fake, labels), lambda: self.discriminate(images, y))
        self.update("G", g_loss)
        return g_loss.detach()

    def train_step(self, images, labels):
        n, D = images.shape[0], self.networks["D"]
        if self.hp.d_steps == 1 and self.hp.g_steps == 1:
            fake = self.fake_batch(n, labels)  # kept with its graph for G's step
            d_loss, d_real, d_fake = self.d_step(images, labels, fake)
            with self.frozen(D):
                g_loss = self.g_step(images, labels, fake, labels)
        else:
            for _ in range(self.hp.d_steps):
                d_loss, d_real, d_fake = self.d_step(images, labels)
            with self.frozen(D):
                for _ in range(self.hp.g_steps):
                    g_loss = self.g_step(images, labels)
        return {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}


# Hyperparameters every adversarial recipe shares, for recipes to merge into their own
# ``hparams``. Adam 2e-4 with beta1 0.5 is the DCGAN paper's; the built-in recipes override
# the learning rate with what they measured on the bundled digits (1e-3; ganforge show NAME).
ADVERSARIAL_HPARAMS = {
    "loss": Param(str, "non-saturating", "adversarial loss plugin (ganforge list losses)", component="losses"),
    "real_label": Param(float, 1.0, "target for real images in D's loss; 0.9 is one-sided label smoothing",
                        minimum=0),
    "lr": Param(float, 2e-4, "Adam learning rate of G and D", minimum=0),
    "beta1": Param(float, 0.5, "Adam beta1", minimum=0, below=1),
    "beta2": Param(float, 0.999, "Adam beta2", minimum=0, below=1),
    "g_lr": Param(float, 0.0, "generator learning rate if different from lr (two time-scale update rule; 0: lr)",
                  minimum=0),
    "d_lr": Param(float, 0.0, "discriminator learning rate if different from lr (two time-scale update rule; 0: lr)",
                  minimum=0),
    "d_steps": Param(int, 1, "discriminator updates per iteration", minimum=1),
    "g_steps": Param(int, 1, "generator updates per iteration", minimum=1),
    "decay_from": Param(float, 1.0, "share of the run after which every learning rate decays linearly to 0 by its "
                                    "end (its planned steps: --steps, or the plan of --minutes); 1: constant",
                        minimum=0, maximum=1),
}
