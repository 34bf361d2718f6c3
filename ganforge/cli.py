"""The ``ganforge`` command line: a thin layer over ``ganforge.api``.

Nothing here imports torch at module level, so ``ganforge --help`` is instant.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

import click

from ganforge import api, serving
from ganforge.contracts.exporter import EXPORT_MAX_BATCH, PRECISIONS, TOLERANCES
from ganforge.errors import GanforgeError
from ganforge.hooks.manager import KINDS
from ganforge.version import __version__


class Group(click.Group):
    """Turn user errors into one red line and exit status 1 (2 for a mistyped command line),
    never a traceback."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `ganforge`: the overview
            exc.show()
            sys.exit(0)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "ganforge"
            _error(f"{exc.format_message()} (see {command} --help)")
            sys.exit(exc.exit_code)
        except click.Abort:
            _error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GanforgeError as exc:
            _error(str(exc))
            sys.exit(1)
        except OSError as exc:  # a full disk, a read-only folder, a vanished file: say which, in one line
            where = f": '{exc.filename}'" if exc.filename else ""
            _error(f"{exc.strerror or exc}{where}")
            sys.exit(1)
        except MemoryError:  # an address-space cap (ulimit -v) or a machine out of memory
            _error("out of memory (is the process's memory capped, e.g. by ulimit -v?); nothing was written")
            sys.exit(1)


def _console(stderr=False):
    """Rich output; outside a terminal (a file, a pipe, CI) lines are never wrapped or cut."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.soft_wrap, console.width = True, 10_000
    return console


def _error(message: str) -> None:
    from rich.markup import escape

    # escaped: messages hold paths and package extras such as ganforge[tensorrt]
    _console(stderr=True).print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganforge")
def cli():
    """ganforge: train, sample and export GANs; every part is a plugin.

    \b
    Start with:
      ganforge list gans           the GANs you can train
      ganforge show dcgan          a recipe's hyperparameters and defaults
      ganforge train dcgan         train on the bundled MNIST digits (offline)
      ganforge sample runs/.../G.ckpt -n 64 -o grid.png
    """


def device_option(default: str | None = "cpu", note: str = ""):
    """The one ``--device`` option: every command turns it into a device the same way
    (``ganforge.devices.choose_device``), so a bad one is the same one line everywhere."""
    shown = {"show_default": True} if default else {}
    return click.option("--device", default=default, help=f"auto (CUDA when present), cpu, cuda or cuda:N.{note}",
                        **shown)


def _setting_options(command):
    """One option per engine setting, from its declaration in ``ganforge.training.settings``."""
    from ganforge.training.settings import SETTINGS

    for setting in reversed(SETTINGS):
        names = [setting.option, *([setting.short] if setting.short else [])]
        if setting.many:
            kind = {"multiple": True, "default": None, "type": setting.type}
        elif setting.type is bool:
            kind = {"is_flag": True, "default": None}
        elif setting.choices:
            kind = {"type": click.Choice(setting.choices)}
        elif setting.type is int and setting.minimum is not None:
            kind = {"type": click.IntRange(min=int(setting.minimum))}
        else:
            kind = {"type": setting.type}
        command = click.option(*names, setting.name, help=setting.help + ".", **kind)(command)
    return command


def _recipe_flags(args: list[str]) -> dict:
    """``--key value``, ``--key=value`` and bare ``--key`` (true) arguments: recipe parameters
    given as flags (``--loss hinge``, ``--labeled 100``)."""
    values, i = {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise GanforgeError(f"unexpected argument '{arg}' (see ganforge train --help)")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value, i = args[i + 1], i + 1
            else:
                value = "true"
        values[key.replace("-", "_")] = value
        i += 1
    return values


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             epilog="Settings left out take the recipe's defaults (ganforge show NAME lists them). "
                    "Every parameter of the recipe is also a flag of its own, e.g. "
                    "--loss hinge, --upsampler resize-conv, --lr 1e-4, --d-steps 2, --real-label 0.9, "
                    "--labeled 100 (sgan); or give it as -p KEY=VALUE.")
@click.argument("name", required=False)
@click.option("--out", "-o", type=click.Path(), help="Run directory. Default: a new folder under runs/.")
@click.option("--resume", type=click.Path(), help="Continue the run in this directory where it stopped.")
@click.option("--overwrite", is_flag=True, help="Clear --out first if it holds anything (without it, a folder "
              "that is not empty is refused).")
@device_option("auto")
@click.option("--config", "config_file", type=click.Path(), help="TOML or JSON file of settings and parameters.")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="Set a recipe parameter (see ganforge show NAME); repeatable.")
@click.option("--nproc", type=click.IntRange(min=1),
              help="Train in N processes on this machine through torchrun (DistributedDataParallel; "
                   "one per GPU, or gloo on CPU). --batch-size stays the global batch.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_setting_options
@click.pass_context
def train(ctx, name, out, resume, overwrite, device, config_file, params, nproc, quiet, **settings):
    """Train the GAN recipe NAME (ganforge list gans).

    Ctrl-C saves a checkpoint and stops; --resume RUN_DIR continues exactly
    where it stopped (NAME may then be left out). Hyperparameters come from the recipe's defaults, then
    --config, then -p KEY=VALUE and the recipe's own flags.

    \b
    On several GPUs or machines, with DistributedDataParallel:
      ganforge train dcgan --nproc 4             (this machine, 4 processes)
      torchrun --nproc-per-node 4 -m ganforge train dcgan
    """
    import os
    import time

    started = time.time()  # a budget (--minutes) counts from here: torch's import and the data's loading included
    from ganforge.training.config import parse_assignments
    from ganforge.training.stopping import listen_early

    if name is None and resume is None:
        raise click.UsageError("Missing argument 'NAME' (a recipe: ganforge list gans; or --resume RUN_DIR).")
    listen_early()
    values = parse_assignments(params)
    values.update(_recipe_flags(ctx.args))
    settings = {k: (v or None) if isinstance(v, tuple) else v for k, v in settings.items()}  # no --logger: default
    result = api.train(name, out=out, resume=resume, overwrite=overwrite, params=values or None, config=config_file,
                       device=device, quiet=quiet, nproc=nproc, started=started, **settings)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for the run
        return
    from rich.markup import escape

    from ganforge.artifacts import rundir
    from ganforge.training.progress import clock
    from ganforge.training.stopping import exit_status, signal_name

    console = _console()  # the run's own report: standard output, like its progress
    run_dir = result.run_dir
    if result.interrupted:
        console.print(f"[yellow]Stopped by {signal_name(result.signum)} at step {result.step}/{result.total_steps}[/]; "
                      f"saved to {escape(str(run_dir))}. Continue with: ganforge train --resume "
                      f"{escape(str(run_dir))}", soft_wrap=True)
        sys.exit(exit_status(result.signum))
    losses = "  ".join(f"{k} {v:.3f}" for k, v in result.last_metrics.items()
                       if k not in ("step", "epoch", "images_per_sec") and not k.startswith("lr_"))
    console.print(f"[green]Done[/]: {result.step} steps in {clock(result.seconds)} "
                  f"({result.images_per_sec:,.0f} images/s). {losses}")
    console.print(f"Generator: {escape(str(rundir.generator_file(run_dir)))}   "
                  f"samples: {escape(str(run_dir / rundir.SAMPLES))}")


TRUST = click.option("--trust", is_flag=True, help="Load a native-code artifact (.pt2, TensorRT engine) that this "
                     "ganforge did not export: it runs its own code, so only for files from someone you trust "
                     "(ganforge trust FILE records one for good).")

SCALE = click.option("--scale", type=click.IntRange(min=1),
                     help="Enlarge each image N times, pixel for pixel. Default: small images to at least 80 px.")


@cli.command()
@click.argument("folder", type=click.Path())
@click.option("--size", default=64, show_default=True, type=click.IntRange(min=1),
              help="Height and width to prepare at (the image_size you will train at).")
@click.option("--channels", default=3, show_default=True, type=click.Choice(["1", "3"]),
              help="3 for RGB, 1 for grey.")
@click.option("--background", default="white", show_default=True,
              help="Colour transparent pixels are composited onto: white, black, grey, #rrggbb or r,g,b.")
@click.option("--square", default="crop", show_default=True, type=click.Choice(["crop", "pad", "stretch"]),
              help="How a non-square image becomes square: crop (keep the centre), pad (with --background) or "
                   "stretch.")
@click.option("--out", type=click.Path(), help="Folder to write the store to (default: ganforge's cache, "
              "named by the folder's contents and the options).")
@click.option("--workers", type=click.IntRange(min=1), help="Decoding processes (default: the CPU count, at most 8).")
@click.option("--strict", is_flag=True, help="Exit with an error when any file cannot be used.")
@click.option("--force", is_flag=True, help="Prepare again even when an up-to-date store exists.")
def prepare(folder, size, channels, background, square, out, workers, strict, force):
    """Decode and resize a folder of images once, for training.

    Reads every image file under FOLDER (subfolders become class labels), lists every file
    it cannot use with the reason (unreadable, truncated, not an image, too large in pixels,
    too small for SIZE), converts the rest (transparency onto --background, grey, 16-bit,
    CMYK and palette images to RGB, non-square ones by --square) and keeps them as uint8 in a
    store. `ganforge train ... --dataset image-folder --data-root FOLDER` prepares the same
    way by itself and reuses this store while no file changes; --data-root STORE trains from
    the store directly.
    """
    result = api.prepare(folder, size, channels=int(channels), background=background, square=square, out=out,
                         workers=workers, force=force)
    from rich.markup import escape

    console = _console()
    console.print(escape(result["summary"]))
    for problem in result["problems"][:20]:
        console.print(f"  skipped {escape(problem['file'])}: {escape(problem['reason'])}")
    if len(result["problems"]) > 20:
        console.print(f"  ... and {len(result['problems']) - 20} more (all in {escape(result['store'])}/store.json)")
    console.print(f"store: {escape(result['store'])}")
    if strict and result["problems"]:
        raise GanforgeError(f"{len(result['problems'])} image files under '{folder}' cannot be used (--strict)")


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.option("-n", "count", default=64, show_default=True, type=click.IntRange(min=1), help="Number of images.")
@click.option("--output", "-o", type=click.Path(), help="Grid PNG to write (default samples.png when nothing else is asked).")
@click.option("--dir", "folder", type=click.Path(), help="Write one PNG per image into this folder.")
@click.option("--npz", type=click.Path(), help="Write an .npz file with key x: uint8 N x C x H x W.")
@click.option("--seed", type=int, help="Seed for reproducible images.")
@device_option()
@click.option("--label", type=int, help="Class to draw (class-conditional generators).")
@click.option("--text", help="Caption to draw (text-to-image generators such as stackgan).")
@click.option("--per-class", type=click.IntRange(min=1),
              help="Draw N images of every class, one grid row per class (instead of -n).")
@click.option("--force", is_flag=True, help="Replace output files that already exist.")
@SCALE
@TRUST
def sample(checkpoint, count, output, folder, npz, seed, device, label, per_class, text, force, scale, trust):
    """Draw images from a trained generator (G.ckpt, its run directory or an exported artifact)."""
    written = api.sample(checkpoint, count, out=output, folder=folder, npz=npz, seed=seed, device=device,
                         label=label, per_class=per_class, text=text, force=force, scale=scale, trust=trust)
    for kind, path in written.items():
        _console().print(f"{kind}: {path}")


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.argument("source", type=click.Path())
@click.option("--output", "-o", type=click.Path(), help="Output file (for one image) or folder (for a folder).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
              help="AtoB uses G.ckpt, BtoA the run's G_BA.ckpt (CycleGAN, DiscoGAN).")
@click.option("--compare", is_flag=True, help="Also write input | output (| target) side by side under "
              "OUTPUT/compare/, with an index.html to look through.")
@click.option("--pairs", is_flag=True, help="Each file holds A and B side by side (pix2pix's folders): translate "
              "the input half, compare with the other.")
@click.option("--targets", type=click.Path(), help="Folder of targets, matched to the inputs by name, for --compare.")
@click.option("--batch-size", "-b", type=click.IntRange(min=1), default=16, show_default=True,
              help="Images of one size translated at once.")
@device_option()
@click.option("--force", is_flag=True, help="Replace output files that already exist.")
@TRUST
def translate(checkpoint, source, output, direction, compare, pairs, targets, batch_size, device, force, trust):
    """Translate an image or a folder of images with an image-to-image run (pix2pix, CycleGAN,
    DiscoGAN). Fully convolutional generators keep each image's own size; a file that cannot
    be read is named in the summary and the rest are translated."""
    done = api.translate(checkpoint, source, output, direction=direction, device=device, force=force, trust=trust,
                         compare=compare, pairs=pairs, targets=targets, batch_size=batch_size)
    if not done.written:
        raise GanforgeError(done.summary().replace("translated 0 image(s); ", "no image translated: "))
    where = done.folder if Path(source).is_dir() else done.written[0]
    _console().print(f"{done.summary()} {direction}: {where}")
    if done.index:
        _console().print(f"compare: {done.index}")


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.option("--onnx", "fmt", flag_value="onnx", help="ONNX model for ONNX Runtime (the default).")
@click.option("--trt", "fmt", flag_value="tensorrt", help="TensorRT engine (NVIDIA GPU and tensorrt needed).")
@click.option("--aoti", "fmt", flag_value="aoti", help="AOTInductor package (.pt2), native code for CPU or CUDA.")
@click.option("--format", "-f", "fmt", help="Any exporter plugin by name (ganforge list exporters).")
@click.option("--output", "-o", type=click.Path(), help="Artifact to write. Default: beside the checkpoint, G.onnx etc.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True,
              help="Numeric precision (fp16/bf16 for TensorRT and AOTInductor).")
@click.option("--max-batch", type=click.IntRange(min=1), default=EXPORT_MAX_BATCH, show_default=True,
              help="Largest batch the artifact accepts (the batch dimension is dynamic up to it).")
@device_option(None, " Default: cpu, or cuda for exporters that run on CUDA only (TensorRT).")
@click.option("--opset", type=click.IntRange(min=1), help="ONNX opset for onnx and tensorrt. Default: 18.")
@click.option("--no-verify", is_flag=True, help="Skip running PyTorch and the artifact side by side.")
@click.option("--triton", "--triton-repo", "triton_repo", type=click.Path(), metavar="REPO",
              help="Write a Triton Inference Server model repository here instead (REPO/NAME/config.pbtxt and "
                   "REPO/NAME/1/model.onnx, or model.plan with --trt), dynamic batching on; NAME is the recipe's.")
def export(checkpoint, fmt, output, precision, max_batch, device, opset, no_verify, triton_repo):
    """Export a trained generator (G.ckpt or its run directory) for fast inference.

    The artifact is checked against PyTorch on the same seeded inputs at two batch
    sizes; if its largest absolute difference exceeds the tolerance for its precision
    ({tolerances}, on images in [-1, 1]) it is deleted and the command fails.
    """
    if triton_repo:
        folder = api.export(checkpoint, fmt or "onnx", triton=triton_repo, max_batch=max_batch, device=device)
        _console().print(f"wrote the Triton model [bold]{folder}[/] (config.pbtxt, 1/); serve it with: docker run "
                         f"--gpus all --rm -p 8000:8000 -v {Path(triton_repo).resolve()}:/models "
                         "nvcr.io/nvidia/tritonserver:<yy.mm>-py3 tritonserver --model-repository=/models")
        return
    result = api.export(checkpoint, fmt or "onnx", output, precision=precision, device=device,
                        max_batch=max_batch, verify=not no_verify, **({"opset": opset} if opset else {}))
    size = result.path.stat().st_size / 1e6
    _console().print(f"wrote [bold]{result.path}[/] ({result.format}, {result.precision}, {size:.1f} MB)")
    if result.max_abs_error is not None:
        _console().print(f"verified against PyTorch on {result.device}, batches {', '.join(map(str, result.batch_sizes))}: "
                         f"max abs error {result.max_abs_error:.2e} <= {result.tolerance:g} allowed for "
                         f"{result.precision} [green]OK[/] (max rel error {result.max_rel_error:.2e}, not checked)")


def _int_list(ctx, param, value):
    try:
        values = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got '{value}'") from None
    if not values or min(values) < 1:
        raise click.BadParameter("batch sizes must be positive integers")
    return values


class BenchCommand(click.Command):
    """``ganforge bench --help`` names the backends installed here, plugins' included."""

    def format_epilog(self, ctx, formatter):
        from ganforge.tools.bench import default_backends

        names = ", ".join(default_backends())
        formatter.write_paragraph()
        formatter.write_text(f"Backends installed here: {names}; on CUDA also torch-compile, torch-cudagraphs, "
                             "torch-bf16.")


@cli.command(cls=BenchCommand)
@click.argument("path", type=click.Path())
@click.option("--backends", default=None, help="Comma-separated backends (listed below), each with an optional "
              "precision suffix (tensorrt-fp16). Default: torch and every installed exporter, plugins' included "
              "(and the CUDA variants on a GPU); for an artifact, torch and that artifact.")
@click.option("--batch-sizes", default="1,64,256", show_default=True, callback=_int_list, help="Comma-separated.")
@device_option(None, " Default: cuda when present.")
@click.option("--repeats", type=click.IntRange(min=1), help="Timed calls per row. Default: about 1 s worth.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@TRUST
def bench(path, backends, batch_sizes, device, repeats, as_json, trust):
    """Time a generator (G.ckpt or an exported artifact) on each inference backend.

    Prints p50/p95 latency, images per second and the speed-up over PyTorch eager
    at each batch size; backends that cannot run here are listed with the reason.
    """
    names = [b.strip() for b in backends.split(",") if b.strip()] if backends else None
    console = _console(stderr=True)
    with console.status("benchmarking ...") as status:
        rows = api.bench(path, names, batch_sizes, device=device, repeats=repeats,
                         progress=lambda message: status.update(message), trust=trust)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"{path} on {rows[0]['device'] if rows else device}"), title_justify="left")
    for column in ("backend", "batch", "p50 ms", "p95 ms", "images/s", "GFLOP/s", "speed-up"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    skipped = {}  # backend -> why, said once below the table
    for row in rows:
        if "skipped" in row:
            if row["backend"] not in skipped:
                skipped[row["backend"]] = row["skipped"]
                table.add_row(escape(row["backend"]), "", "[dim]skipped (below)[/]", "", "", "", "")
            continue
        table.add_row(row["backend"], str(row["batch"]), f"{row['p50_ms']:.3f}", f"{row['p95_ms']:.3f}",
                      f"{row['images_per_s']:,.0f}", f"{row.get('gflop_per_s', 0):.1f}",
                      f"{row['speedup']:.2f}x" if "speedup" in row else "")
    _console().print(table)
    for backend, reason in skipped.items():
        _console().print(f"[dim]{escape(backend)} skipped: {escape(reason)}[/]")


@cli.command("eval")
@click.argument("path")
@click.option("--extractor", "-e", help="Feature extractor plugin: digits (offline, for MNIST-like data), inception "
              "(photos), or any other (ganforge list extractors). Default: the one the dataset names, else digits; "
              "a warning says when it does not fit the images.")
@click.option("--weights", type=click.Path(), help="Local weights file for the extractor (inception offline).")
@click.option("-n", "count", default=5000, show_default=True, type=click.IntRange(min=10), help="Generated images.")
@click.option("--dataset", "-d", help="Real images' dataset. Default: the one the run trained on.")
@click.option("--data-root", type=click.Path(), help="Folder of the real images (image-folder and other datasets "
              "read from disk). Default: the folder the run trained on.")
@click.option("--real-split", default="train", show_default=True, help="Split of the real dataset (train or test).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the latent draws and KID subsets.")
@device_option()
@click.option("--json", "as_json", is_flag=True, help="Print the result (metrics, configuration, warnings) as JSON.")
@TRUST
def eval_(path, extractor, weights, count, dataset, data_root, real_split, seed, device, as_json, trust):
    """Score a generator (run directory, G.ckpt or exported artifact) against real images.

    FID and KID (lower is better), Inception Score and precision/recall (higher is
    better), and for class-conditional generators the share of samples classified
    as the class asked for. PATH may be data:DATASET/SPLIT to score real images
    themselves against the same dataset's --real-split, e.g. data:mnist-5k/train
    against --real-split test.
    """
    console = _console(stderr=True)
    with console.status("evaluating ...") as status:
        result = api.evaluate(path, extractor=extractor, weights=weights, n=count, dataset=dataset,
                              data_root=data_root, real_split=real_split, seed=seed, device=device,
                              progress=lambda message: status.update(message), trust=trust)
    from rich.markup import escape

    for warning in result["warnings"]:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    from rich.table import Table

    c = result["config"]
    table = Table(title=escape(f"{path}: {c['n_generated']} generated vs {c['n_real']} real ({c['real']}), "
                               f"{c['extractor']} features"), title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in result["metrics"].items():
        shown = " ".join(f"{v:.2f}" for v in value) if isinstance(value, list) else f"{value:.4f}"
        table.add_row(key, shown)
    _console().print(table)
    _console().print(f"[dim]extractor weights sha256 {c['extractor_sha256'][:16]}..., seed {c['seed']}[/]")


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.option("--output", "-o", type=click.Path(), default="interpolation.png", show_default=True, help="Grid PNG.")
@click.option("--gif", type=click.Path(), help="Also write an animated GIF of the walks.")
@click.option("--rows", default=6, show_default=True, type=click.IntRange(min=1), help="Walks, one per row.")
@click.option("--steps", default=10, show_default=True, type=click.IntRange(min=2), help="Images per walk.")
@click.option("--mode", type=click.Choice(["slerp", "linear"]), default="slerp", show_default=True,
              help="Spherical (keeps the prior's radius) or linear interpolation of z.")
@click.option("--classes", is_flag=True, help="Walk from class c to c+1 at a fixed z (conditional GANs).")
@click.option("--seed", default=0, show_default=True, type=int)
@device_option()
@SCALE
@TRUST
def interpolate(checkpoint, output, gif, rows, steps, mode, classes, seed, device, scale, trust):
    """Walk between latent codes (or classes) and show each walk as a row."""
    written = api.interpolate(checkpoint, output, rows=rows, steps=steps, mode=mode, classes=classes, seed=seed,
                              gif=gif, device=device, scale=scale, trust=trust)
    for kind, path in written.items():
        _console().print(f"{kind}: {path}")


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.argument("expression", default="A - B + C")
@click.option("--group", "-g", "groups", multiple=True, metavar="NAME=label:CLASS|images:PATH",
              help="A group of codes: samples the digit classifier reads as CLASS, or codes recovered "
                   "from your images. Default: A=label:7 B=label:1 C=label:4.")
@click.option("--output", "-o", type=click.Path(), default="arithmetic.png", show_default=True)
@click.option("--samples", default=8, show_default=True, type=click.IntRange(min=1),
              help="Results drawn, each with small noise added to the combined code.")
@click.option("--pool", default=2000, show_default=True, type=click.IntRange(min=10),
              help="Samples drawn to find label groups.")
@click.option("--seed", default=0, show_default=True, type=int)
@device_option()
@SCALE
@TRUST
def arithmetic(checkpoint, expression, groups, output, samples, pool, seed, device, scale, trust):
    """Vector arithmetic on average latent codes, e.g. glasses man - man + woman.

    The grid shows each group's average, the combined code, then the samples.
    """
    parsed = {}
    for item in groups or ("A=label:7", "B=label:1", "C=label:4"):
        name, sep, spec = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=label:CLASS or NAME=images:PATH, got '{item}'")
        parsed[name.strip()] = spec.strip()
    path = api.arithmetic(checkpoint, expression, parsed, output, samples=samples, pool=pool, seed=seed,
                          device=device, scale=scale, trust=trust)
    _console().print(f"{expression} with {', '.join(f'{k}={v}' for k, v in parsed.items())}: {path}")


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.argument("images", type=click.Path(), required=False)
@click.option("--output", "-o", type=click.Path(), default="inversion.png", show_default=True,
              help="Originals beside their reconstructions.")
@click.option("--steps", default=300, show_default=True, type=click.IntRange(min=1), help="Adam steps per restart.")
@click.option("--restarts", default=4, show_default=True, type=click.IntRange(min=1), help="Random starts; best kept.")
@click.option("--heldout", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also invert N training and N held-out images of the run's dataset and compare errors.")
@click.option("--seed", default=0, show_default=True, type=int)
@device_option()
@click.option("--json", "as_json", is_flag=True, help="Print the errors as JSON.")
@SCALE
@TRUST
def invert(checkpoint, images, output, steps, restarts, heldout, seed, device, as_json, scale, trust):
    """Find the latent code that makes G draw each given image (G frozen).

    If held-out images are reconstructed about as well as training images, G
    generalizes rather than memorizing its training set.
    """
    if images is None and not heldout:
        raise click.UsageError("give IMAGES to invert, --heldout N, or both")
    with _console(stderr=True).status("optimizing latent codes ..."):
        result = api.invert(checkpoint, images, output, steps=steps, restarts=restarts, heldout=heldout, seed=seed,
                            device=device, scale=scale, trust=trust)
    if as_json:
        click.echo(json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in result.items()}, indent=2))
        return
    console = _console()
    for name, err in result.get("errors", {}).items():
        console.print(f"{name}: reconstruction MSE {err:.4f}")
    if "grid" in result:
        console.print(f"grid: {result['grid']}")
    if heldout:
        console.print(f"mean reconstruction MSE: training {result['train_mse']:.4f}, held-out {result['heldout_mse']:.4f} "
                      f"(ratio {result['heldout_over_train']:.2f}; near 1 means no sign of memorization)")


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--output", "-o", type=click.Path(), help="HTML file. Default: RUN_DIR/report.html.")
def report(run_dir, output):
    """Write a self-contained HTML report of a run: grids over time, loss and metric
    curves, final metrics, configuration and an interpolation strip."""
    with _console(stderr=True).status("writing the report ..."):
        path = api.report(run_dir, output)
    _console().print(f"report: {path}")


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare(run_dirs, as_json):
    """Final metrics of several runs side by side (run ganforge eval on each first for FID etc.)."""
    rows = api.compare(run_dirs)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    keys = list(dict.fromkeys(k for row in rows for k in row if k not in ("run",)))
    table = Table(title="runs", title_justify="left")
    table.add_column("metric", style="bold")
    for row in rows:
        table.add_column(row["run"], justify="right")
    for key in keys:
        cells = []
        for row in rows:
            v = row.get(key, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        table.add_row(key, *cells)
    _console().print(table)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name, as_json):
    """Show a GAN recipe's hyperparameters and defaults."""
    info = api.show(name)
    if as_json:
        click.echo(json.dumps({section: {k: v[0] for k, v in info[section].items()} for section in ("params", "engine")},
                              indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    from ganforge.training.settings import BY_NAME

    for section, title, how in (("params", "parameters", "-p KEY=VALUE"), ("engine", "training", "--key value")):
        table = Table(title=f"{name}: {title} (set with {how} or --config)", title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("default")
        table.add_column("type")
        table.add_column("what it is")
        for key, (default, text) in info[section].items():
            table.add_row(key if section == "params" else BY_NAME[key].option, escape(repr(default)),
                          escape(info["types"][section][key]), escape(text))
        _console().print(table)
    _console().print(f"D's regularization: {escape(info['regularization'])}")


@cli.command("list")
@click.argument("kind", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(kind, as_json):
    """List registered components of every kind, or of KIND ({kinds})."""
    found = api.components(kind)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    for k, items in found.items():
        table = Table(title=k, title_justify="left", show_header=False)
        table.add_column("name", style="bold cyan")
        table.add_column("description")
        for item in items:
            table.add_row(escape(item["name"]), escape(item["description"]))
        if not items:
            table.add_row("(none)", "")
        _console().print(table)


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@click.option("--hook", help="Only plugins implementing this hook (e.g. register_losses).")
@click.option("--requirements", is_flag=True, help="Print name==version of installed plugins, for pip install -r.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(show_all, hook, requirements, as_json):
    """List installed plugins: version, hooks and what each registered."""
    if requirements:
        for line in api.plugin_requirements():
            click.echo(line)
        return
    found = api.plugins(include_builtins=show_all, hook=hook)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        builtins = sum(p["builtin"] for p in api.plugins(include_builtins=True))
        _console().print(f"{builtins} built-in plugins loaded and no third-party plugins installed "
                         "(ganforge plugins --all lists the built-ins; ganforge install ganforge-NAME adds one)")
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(caption="source: the folder a plugin's components are defined in", caption_justify="left")
    table.add_column("plugin", no_wrap=True)
    for col in ("package", "version", "hooks", "registered", "source"):
        table.add_column(col)
    for p in found:
        registered = escape("; ".join(f"{k}: {', '.join(v)}" for k, v in p["registered"].items() if v))
        if p["problems"]:
            state = "not loaded" if not p["loaded"] else "partly loaded"
            registered = "; ".join(filter(None, [registered, f"[red]{state}: {escape(' / '.join(p['problems']))}[/]"]))
        name = escape(p["name"]) + (" [dim](built-in)[/]" if p["builtin"] else "")
        package = "ganforge" if p["builtin"] else escape(p["distribution"] or "?")
        table.add_row(name, package, escape(p["version"]), ", ".join(p["hooks"]), registered,
                      escape(_common_folder(p["sources"].values())))
    _console().print(table)


@cli.command()
@click.argument("path", type=click.Path())
@click.option("--name", help="The model's name in the protocol's URLs. Default: the recipe's (dcgan).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 makes the server reachable from other machines.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@device_option()
@click.option("--max-batch", default=serving.MAX_BATCH, show_default=True, type=click.IntRange(min=1),
              help="Largest forward pass: concurrent requests are merged up to this many images (1: no batching).")
@click.option("--max-delay-ms", default=serving.MAX_DELAY_MS, show_default=True, type=click.FloatRange(min=0),
              help="How long the first request of a batch may wait for others to join it (0: a batch is what "
                   "queued while the generator was busy; more gives fuller batches under light load, at a lone "
                   "client's expense).")
@click.option("--max-queue", default=serving.MAX_QUEUE, show_default=True, type=click.IntRange(min=1),
              help="Images that may wait for the generator; more are answered 503 with Retry-After.")
@click.option("--backend", default="given", show_default=True, type=click.Choice(["given", "auto"]),
              help="given: serve the file PATH names; auto: time the checkpoint and every artifact exported beside "
                   "it at --max-batch images and serve the fastest.")
@TRUST
def serve(path, name, host, port, device, max_batch, max_delay_ms, max_queue, trust, backend):
    """Serve a generator (run directory, G.ckpt or an exported artifact) over HTTP.

    \b
    The Open Inference Protocol (KServe v2, as Triton speaks it, binary tensors included):
      GET  /v2/health/ready, /v2/models/NAME      health and the inputs' names, types, shapes
      POST /v2/models/NAME/infer                  the generator's inputs as tensors -> images
    and for people:
      GET  /api/generate?seed=0&n=16&label=3      a PNG grid (&format=npz: uint8 pixels)
      POST /api/generate                          an image in the body, for image-to-image GANs
      GET  /api/interpolate?a=0&b=1&t=0.5         one image between the latent codes of seeds a and b
      GET  /api/describe, /metrics                what is served; Prometheus metrics
      GET  /                                      the playground: all of the above in a browser
    """
    from rich.markup import escape

    from ganforge.serving.app import Limits

    api.serve(path, name=name, host=host, port=port, device=device, max_batch=max_batch, max_delay_ms=max_delay_ms,
              trust=trust, limits=Limits(max_queue=max_queue), backend=backend,
              announce=lambda line: _console().print(escape(line), soft_wrap=True))


@cli.command("trust")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--forget", is_flag=True, help="Stop trusting FILES.")
def trust_(files, forget):
    """Trust native-code artifacts (.pt2, TensorRT engines) you decided to trust, as they are now.

    Such an artifact runs its own code when it loads, so ganforge loads one only if it
    exported it here, if it was recorded with this command (by its SHA-256: a changed file
    is refused again), or with --trust. Without FILES, lists what is trusted.
    """
    from rich.markup import escape

    records = api.trust(*files, forget=forget)
    for path in files:
        _console().print(f"{'forgot' if forget else 'trusted'}: {escape(str(Path(path)))}")
    if not files:
        for entry in records:
            _console().print(f"{entry['sha256'][:16]}...  {entry['how']:<8}  {escape(entry['path'])}")
        if not records:
            _console().print("no artifacts are trusted besides those exported here (ganforge trust FILE adds one)")


def _common_folder(files) -> str:
    """The folder the files share, shown relative to here when it is below here."""
    import os

    files = [f for f in files if f]
    if not files:
        return ""
    folder = Path(os.path.commonpath([str(Path(f).parent) for f in files]))
    try:
        return str(folder.relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(folder) + "/"


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("packages", nargs=-1, required=True)
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade to the newest versions.")
@click.option("--editable", "-e", is_flag=True, help="Install a local plugin folder in editable mode.")
def install(packages, upgrade, editable):
    """Install plugin packages with pip into ganforge's own environment."""
    args = ["install", *(["--upgrade"] if upgrade else [])]
    for package in packages:
        args += ["-e", package] if editable else [package]
    sys.exit(api.pip(*args))


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def uninstall(packages, yes):
    """Uninstall plugin packages from ganforge's environment (works even if a plugin is broken).

    pip asks for confirmation on a terminal; without one (a script, CI), pass -y.
    """
    if not yes and not sys.stdin.isatty():
        raise GanforgeError("uninstall asks for confirmation, and there is no terminal to ask on; "
                            "pass -y to uninstall without asking")
    sys.exit(api.pip("uninstall", *(["-y"] if yes else []), *packages))


# Help texts that state facts declared elsewhere, filled in from their declarations.
export.help = export.help.format(tolerances=", ".join(
    f"{tolerance:g} for {precision} on {device}" for (precision, device), tolerance in TOLERANCES.items()))
list_.help = list_.help.format(kinds=", ".join(KINDS))


def main():
    cli(prog_name="ganforge")


if __name__ == "__main__":
    main()
