"""What each GAN's default run achieves, and what each technique buys DCGAN.

Trains every built-in recipe with its defaults (``ganforge train NAME``, one after
another: two trainings on 2 cores slow each other several times over), then prints
wall time and the figures that judge it, all by the shipped digit classifier:

* gan, dcgan, lsgan: digit FID / KID / IS of 5,000 samples against the 4,500
  training digits (``ganforge eval``), and how many of the ten classes are drawn
  (a class counts when at least 2% of the samples are classified as it);
* cgan, acgan: samples classified as the class asked for;
* sgan: its discriminator's held-out accuracy with 100 labels;
* cyclegan, discogan: classes kept B->A and A->B->A;
* stackgan: "a handwritten <class>" captions drawn as that class; thick/thin ink.

``--ablation SECONDS`` trains DCGAN variants for the same wall time each (stopped by
SIGTERM, which saves): the paper's settings (``examples/dcgan-paper.toml``), the
default, then the default with one technique added at a time.

``--colour SECONDS`` does the same on a real colour folder at 64 px,
``../shared/data/twemoji-64`` (3,786 Twemoji RGBA PNGs, CC-BY 4.0 by Twitter, Inc. and other
contributors), trained as a user would (``ganforge train dcgan --dataset image-folder
--data-root FOLDER -p image_size=64``), judged by FID/KID of 2,000 samples against the
3,786 images on the features of a benchmark-only classifier of emoji subcategories
(``benchmarks/emoji_features.py``), and writes the default's sample grid.

``--versus SECONDS`` trains r3gan and dcgan with their defaults for the same wall time each,
on the bundled digits (digit FID/KID/IS) and on the Twemoji folder at 64 px (emoji FID/KID),
and prints steps, images seen and wall time beside every figure. ``--curve 150,300,600``
trains both on the digits to each cumulative time in turn (stopped by SIGTERM, evaluated,
resumed exactly), to find the length at which one overtakes the other.

``--release REV --minutes 3 [--colour-minutes 10]`` compares today's plain budgeted command,
``ganforge train dcgan --minutes 3`` (on the Twemoji folder at 64 px with ``--colour-minutes``),
with release REV's plain command given the same wall time and stopped by SIGTERM. The release
is installed beside this checkout from the repository's history (``git archive REV``, ``pip
install --target``) and run from outside the checkout; both are judged by today's ``ganforge
eval`` (digit FID of 5,000 samples; the emoji yardstick for the folder).

``--budgets 3,10,30`` trains dcgan and r3gan with their plain commands and ``--minutes M`` for
each budget, as separate runs (each run's schedules span its own budget), on the digits and
on the Twemoji folder at 64 px, and prints FID beside wall time, steps and images seen: which
recipe to use for which budget.

``--equal-steps 866 [--r3gan-variants "-p g_width=32 -p d_width=32|--r1-every 16"]`` trains
dcgan and r3gan (and r3gan with each variant's extra arguments) for the same number of steps on
the digits, batch 64 each, so the same images seen: what each recipe learns per image.
``--equal-epochs 12 [--dcgan-variants "--batch-size 16"]`` does the same for a number of passes
over the digits, so that runs at different batch sizes (r3gan's CPU configuration trains at 16)
still see the same images.

``--stacked MINUTES`` measures mode coverage on Stacked MNIST (Metz et al. 2017; VEEGAN's,
PacGAN's and the R3GAN paper's tables): three of the bundled training digits stacked as the
R, G and B channels of one 28 px image, 1,000 modes. 24,000 such images are written to a
folder and dcgan and r3gan train on it at that size (``-p image_size=28``; ``image-folder``
would otherwise train at 64 px) with their plain commands for ``--minutes MINUTES`` each; 26,000 samples of each are classified channel by channel with the shipped digit
classifier, and the benchmark prints the modes covered (at least one sample) and the KL
divergence of the sampled mode distribution to the uniform one, with the steps and images
seen. ``--d-sizes 1,0.5,0.25`` repeats it with D's widths (every stage's) at those fractions of
the recipe's: Metz et al. made mode collapse likelier by training D at a quarter and a half of
its size.

    python benchmarks/quality.py [--recipes dcgan,cgan] [--runs runs/quality] [--ablation 150] [--colour 300]
                                 [--versus 120] [--curve 150,300,600,1200]
                                 [--release 7f62249 --minutes 3 --colour-minutes 10] [--stacked 10 --d-sizes 1,0.5,0.25]
                                 [--budgets 3,10,30 --on digits] [--equal-steps 866 --r3gan-variants "ARGS|ARGS"]
                                 [--equal-epochs 12 --dcgan-variants "ARGS|ARGS"]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

import ganforge
from ganforge.artifacts.rundir import read_config
from ganforge.evaluation.digits import load_digit_classifier

sys.path.insert(0, str(Path(__file__).parent))
from conditioning import caption_agreement, class_accuracy, sgan_accuracy, translation_accuracy  # noqa: E402

RECIPES = ["gan", "dcgan", "lsgan", "cgan", "acgan", "sgan", "cyclegan", "discogan", "stackgan"]
ROOT = Path(__file__).resolve().parents[1]
PAPER = ["--config", str(ROOT / "examples" / "dcgan-paper.toml")]
ABLATION = [  # (name, arguments after `ganforge train dcgan`): the paper, the default, then one technique added to it
    ("paper settings (Adam 2e-4)", PAPER),
    ("default (Adam 1e-3)", []),
    ("default + EMA 0.99", ["--ema", "0.99"]),
    ("default + DiffAugment", ["--augment", "diffaug"]),
    ("default + ADA", ["--augment", "ada"]),
    ("default + spectral norm", ["-p", "d_norm=spectral"]),
    ("default + R1 (gamma 1)", ["--r1", "1"]),
]


def train(args: list[str], out: Path, seconds: float | None = None, resume: bool = False,
          release: Path | None = None, plain: bool = False) -> tuple[float, int]:
    """``ganforge train ARGS --out OUT`` (``--resume OUT`` with ``resume``) in its own process;
    with ``seconds``, stopped by SIGTERM then (it saves first), and given a million steps unless
    ``plain`` (the command as a user types it). ``release``: the folder an earlier release is
    installed in, run from outside this checkout. Returns wall time and the step reached."""
    start = time.perf_counter()
    where = ["--resume", str(out.resolve())] if resume else ["--out", str(out.resolve())]
    env = {**os.environ, "PYTHONPATH": str(release)} if release else None
    process = subprocess.Popen([sys.executable, "-m", "ganforge", "train", *args, *where, "-q",
                                *(["--steps", "1000000"] if seconds and not plain else [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                               cwd=out.resolve().parent if release else None)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        process.wait()
    finally:  # a benchmark stopped while this trains stops the training too: no process left running
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait()
    wall = time.perf_counter() - start
    if process.returncode not in (0, 143):
        sys.exit(f"Error: training {args} failed: {process.stderr.read().strip()[-300:]}")
    return wall, ganforge.load_generator(out).meta["step"]


def slug(text: str) -> str:
    """``text`` as part of a folder name: lower case, each run of other characters than letters,
    digits, dots and underscores one ``-``."""
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-")


def images_seen(run: Path, step: int) -> int:
    """The images a run has seen by ``step``: steps times its (global) batch size."""
    return step * read_config(run)["engine"]["batch_size"]


COLOUR = [  # (name, arguments after the plain image-folder command)
    ("default", []),
    ("+ DiffAugment", ["--augment", "diffaug"]),
    ("+ ADA", ["--augment", "ada"]),
    ("+ R1 (gamma 1)", ["--r1", "1"]),
    ("+ EMA (half-life 10k images)", ["--ema-images", "10000"]),
    ("+ mirror", ["--mirror"]),
    ("fp32", ["--precision", "fp32"]),
    ("bf16", ["--precision", "bf16"]),
]


def colour(seconds: float, runs: Path, variants: str | None, grid: Path | None) -> None:
    from emoji_features import EMOJI, EmojiPlugin, train_classifier
    from ganforge.hooks import manager

    weights, accuracy = train_classifier()
    print(f"dcgan on {EMOJI.name} at 64 px, {seconds:.0f} s of training each, on this machine; FID/KID of 2,000 "
          f"samples on the emoji yardstick ({accuracy:.1%} held-out subcategory accuracy):")
    print("| variant | wall | steps | images seen | FID | KID |\n|---|---|---|---|---|---|")
    chosen = [v for v in COLOUR if variants is None or v[0] in variants.split(",")]
    for i, (name, extra) in enumerate(chosen):
        out = runs / f"colour-{i}"
        wall, step = train(["dcgan", "--dataset", "image-folder", "--data-root", str(EMOJI), "-p", "image_size=64",
                            *extra], out, seconds)
        manager.reset_plugins()
        manager.load_plugins().add(EmojiPlugin(), "emoji-bench", "0", builtin=False)
        scored = ganforge.evaluate(out, extractor="emoji", weights=str(weights), n=2000, save=False)["metrics"]
        print(f"| {name} | {wall:.0f} s | {step:,} | {images_seen(out, step):,} | {scored['fid']:.1f} | {scored['kid']:.4f} |",
              flush=True)
        if grid is not None and name == "default":
            ganforge.sample(out, 64, out=grid, seed=0, force=True)


def versus(seconds: float, runs: Path, classifier, grid_dir: Path | None) -> None:
    from emoji_features import EMOJI, EmojiPlugin, train_classifier
    from ganforge.hooks import manager

    weights, accuracy = train_classifier()
    print(f"r3gan against dcgan, each trained {seconds:.0f} s with its defaults, on this machine")
    print("| data | recipe | wall | steps | images seen | FID | KID | IS |\n|---|---|---|---|---|---|---|---|")
    for data, extra in (("digits", []), ("twemoji 64 px", ["--dataset", "image-folder", "--data-root", str(EMOJI),
                                                           "-p", "image_size=64"])):
        for recipe in ("dcgan", "r3gan"):
            out = runs / f"versus-{recipe}-{'digits' if not extra else 'colour'}"
            wall, step = train([recipe, *extra], out, seconds)
            if extra:
                manager.reset_plugins()
                manager.load_plugins().add(EmojiPlugin(), "emoji-bench", "0", builtin=False)
                f = ganforge.evaluate(out, extractor="emoji", weights=str(weights), n=2000, save=False)["metrics"]
                figures = f"{f['fid']:.1f} | {f['kid']:.3f} | -"
            else:
                f = digit_figures(out, classifier)
                figures = f"{f['FID']:.1f} | {f['KID']:.1f} | {f['IS']:.2f}"
            print(f"| {data} | {recipe} | {wall:.0f} s | {step:,} | {images_seen(out, step):,} | {figures} |", flush=True)
            if grid_dir is not None:
                ganforge.sample(out, 64, out=grid_dir / f"{out.name}.png", seed=0, force=True)


def curve(marks: list[float], runs: Path, classifier) -> None:
    """r3gan and dcgan on the digits, each trained to every mark of wall time in turn (stopped by
    SIGTERM there, evaluated, resumed exactly), to find where one overtakes the other."""
    print(f"r3gan against dcgan on the digits along {marks[-1]:.0f} s of training each, on this machine "
          "(evaluation between the segments is not counted)")
    print("| recipe | wall | steps | images seen | FID | KID | IS |\n|---|---|---|---|---|---|---|")
    for recipe in ("dcgan", "r3gan"):
        out, wall = runs / f"curve-{recipe}", 0.0
        for i, mark in enumerate(marks):
            spent, step = train([recipe], out, mark - wall, resume=i > 0)
            wall += spent
            f = digit_figures(out, classifier)
            print(f"| {recipe} | {wall:.0f} s | {step:,} | {images_seen(out, step):,} | {f['FID']:.1f} | {f['KID']:.1f} | "
                  f"{f['IS']:.2f} |", flush=True)


def judged(run: Path, colour: bool, classifier, yardstick: dict) -> tuple[float, float]:
    """FID and KID of a run: digit features, or (``colour``) the emoji yardstick, trained once
    per benchmark run and kept in ``yardstick``."""
    if not colour:
        f = digit_figures(run, classifier)
        return f["FID"], f["KID"]
    from emoji_features import EmojiPlugin, train_classifier
    from ganforge.hooks import manager

    if "weights" not in yardstick:
        yardstick["weights"], _ = train_classifier()
    manager.reset_plugins()
    manager.load_plugins().add(EmojiPlugin(), "emoji-bench", "0", builtin=False)
    f = ganforge.evaluate(run, extractor="emoji", weights=str(yardstick["weights"]), n=2000, save=False)["metrics"]
    return f["fid"], f["kid"]


def install_release(rev: str, runs: Path) -> Path:
    """Release ``rev`` of this repository installed into a folder of its own (no dependencies:
    this environment's torch and the rest serve it)."""
    target = runs / f"release-{rev}"
    if (target / "ganforge").is_dir():
        return target.resolve()
    source = runs / f"release-{rev}-source"
    source.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(source)], check=True)
    return target.resolve()


def release_versus(rev: str, minutes: float | None, colour_minutes: float | None, runs: Path, classifier) -> None:
    """Today's plain budgeted command against release ``rev``'s plain command stopped by SIGTERM
    after the same wall time, on the digits and (``colour_minutes``) the Twemoji folder."""
    from emoji_features import EMOJI

    release = install_release(rev, runs)
    print(f"dcgan, today's `--minutes` against release {rev}'s plain command stopped by SIGTERM after the same "
          "wall time, on this machine")
    print("| data | command | wall | steps | images seen | FID | KID | change in FID |\n|---|---|---|---|---|---|---|---|")
    folder = ["--dataset", "image-folder", "--data-root", str(EMOJI), "-p", "image_size=64"]
    yardstick: dict = {}
    for data, budget, extra in (("digits", minutes, []), ("twemoji 64 px", colour_minutes, folder)):
        if not budget:
            continue
        results = {}
        for who in (f"release {rev}", "today"):
            out = runs / f"release-versus-{'old' if who != 'today' else 'new'}-{'colour' if extra else 'digits'}"
            if who == "today":
                wall, step = train(["dcgan", *extra, "--minutes", f"{budget:g}"], out, plain=True)
            else:
                wall, step = train(["dcgan", *extra], out, budget * 60, release=release, plain=True)
            fid, kid = judged(out, bool(extra), classifier, yardstick)
            results[who] = fid
            change = "" if who != "today" else f"{(fid / results[f'release {rev}'] - 1):+.1%}"
            command = (f"release {rev}: `ganforge train dcgan{' (folder)' if extra else ''}`, SIGTERM at {budget:g} min"
                       if who != "today" else f"`ganforge train dcgan{' (folder)' if extra else ''} --minutes {budget:g}`")
            print(f"| {data} | {command} | {wall:.0f} s | {step:,} | {images_seen(out, step):,} | {fid:.1f} | {kid:.2f} | "
                  f"{change} |", flush=True)


def budgets(minutes: list[float], runs: Path, classifier, on: str = "both", recipes=("dcgan", "r3gan"),
            extra_args: str = "") -> None:
    """``recipes`` (dcgan and r3gan) with ``--minutes M`` for each budget, on the digits and the
    Twemoji folder (``on``: both, digits or twemoji), each given ``extra_args`` too."""
    from emoji_features import EMOJI

    yardstick: dict = {}
    print("dcgan and r3gan, each budget a run of its own (its schedules span it), on this machine")
    print("| data | recipe | budget | wall | steps | images seen | FID | KID |\n|---|---|---|---|---|---|---|---|")
    folder = ["--dataset", "image-folder", "--data-root", str(EMOJI), "-p", "image_size=64"]
    tag = slug(extra_args)
    suffix = f"-{tag}" if tag else ""  # the extra arguments name the runs they change
    for data, extra in (("digits", []), ("twemoji 64 px", folder)):
        if on != "both" and not data.startswith(on):
            continue
        for budget in minutes:
            for recipe in recipes:
                out = runs / f"budget-{recipe}-{'colour' if extra else 'digits'}-{budget:g}{suffix}"
                wall, step = train([recipe, *extra, "--minutes", f"{budget:g}", *extra_args.split()], out, plain=True)
                fid, kid = judged(out, bool(extra), classifier, yardstick)
                shown = f"{recipe} {extra_args}".strip()
                print(f"| {data} | {shown} | {budget:g} min | {wall:.0f} s | {step:,} | {images_seen(out, step):,} | "
                      f"{fid:.1f} | {kid:.2f} |", flush=True)


def equal_images(length: list[str], variants: list[tuple[str, str]], runs: Path, classifier) -> None:
    """dcgan and r3gan with their plain commands, then each variant (recipe, extra arguments),
    all for the same length on the digits: ``["--steps", N]`` (the same images at the same batch
    size) or ``["--epochs", E]`` (the same images whatever batch each run takes): what each
    learns per image."""
    print(f"dcgan and r3gan on the digits, {' '.join(length)} each, on this machine; wall time is the whole "
          "command, start-up included")
    print("| run | wall | steps | images seen | FID | KID | IS |\n|---|---|---|---|---|---|---|")
    for i, (recipe, extra) in enumerate([("dcgan", ""), ("r3gan", ""), *variants]):
        out = runs / f"equal-{recipe}-{i}"
        wall, step = train([recipe, *length, *extra.split()], out, plain=True)
        f = digit_figures(out, classifier)
        command = f"ganforge train {recipe} {extra}".strip()
        print(f"| `{command}` | {wall:.0f} s | {step:,} | {images_seen(out, step):,} | {f['FID']:.1f} | {f['KID']:.1f} | "
              f"{f['IS']:.2f} |", flush=True)


def stacked_folder(root: Path, count: int = 24_000, seed: int = 0) -> Path:
    """``count`` Stacked MNIST images (three random training digits as R, G, B) as PNG files."""
    from PIL import Image

    from ganforge.builtins.datasets.mnist import bundled_mnist

    folder = root / "stacked-mnist"
    if folder.is_dir() and len(list(folder.glob("*.png"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    digits = bundled_mnist(split="train")
    pixels = ((digits.images[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    pick = torch.randint(len(pixels), (count, 3), generator=torch.Generator().manual_seed(seed))
    for i, rows in enumerate(pick):
        Image.fromarray(pixels[rows].permute(1, 2, 0).numpy(), "RGB").save(folder / f"{i:05d}.png")
    return folder


def modes(run: Path, classifier, n: int = 26_000) -> tuple[int, float]:
    """Modes covered by ``n`` samples of a Stacked MNIST run, and KL(samples || uniform)."""
    G = ganforge.load_generator(run)
    found = []
    for start in range(0, n, 1000):
        images = G.generate(min(1000, n - start), seed=start)
        channels = [classifier.predict(images[:, c:c + 1]) for c in range(3)]
        found.append(channels[0] * 100 + channels[1] * 10 + channels[2])
    counts = torch.bincount(torch.cat(found), minlength=1000).double()
    share = counts / counts.sum()
    kl = float((share[share > 0] * (share[share > 0] * 1000).log()).sum())
    return int((counts > 0).sum()), kl


def stacked(minutes: float, runs: Path, classifier, d_sizes: list[float]) -> None:
    """Each recipe's plain command on Stacked MNIST, with D at each of ``d_sizes`` times its widths."""
    folder = stacked_folder(runs)
    print(f"Stacked MNIST ({len(list(folder.glob('*.png'))):,} images, 1,000 modes, 28 px), each recipe's plain "
          f"command with -p image_size=28 --minutes {minutes:g}; 26,000 samples each, on this machine")
    print("| D size | recipe | D width | wall | steps | images seen | modes covered | KL to uniform |\n"
          "|---|---|---|---|---|---|---|---|")
    for size in d_sizes:
        for recipe in ("dcgan", "r3gan"):
            width = max(1, round(ganforge.show(recipe)["params"]["d_width"][0] * size))  # all D's widths scale
            out = runs / f"stacked-{recipe}-d{size:g}"
            wall, step = train([recipe, "--dataset", "image-folder", "--data-root", str(folder), "-p", "image_size=28",
                                "-p", f"d_width={width}", "--minutes", f"{minutes:g}"], out, plain=True)
            covered, kl = modes(out, classifier)
            print(f"| {size:g} | {recipe} | {width} | {wall:.0f} s | {step:,} | {images_seen(out, step):,} | "
                  f"{covered} | {kl:.2f} |", flush=True)


def digit_figures(run: Path, classifier) -> dict:
    scored = ganforge.evaluate(run, n=5000, save=False)["metrics"]
    G = ganforge.load_generator(run)
    predicted = classifier.predict(G.generate(5000, seed=0))
    drawn = int((torch.bincount(predicted, minlength=10) >= 100).sum())
    return {"FID": scored["fid"], "KID": scored["kid"], "IS": scored["is"], "classes drawn": drawn}


def figures(recipe: str, run: Path, classifier) -> dict:
    if recipe in ("gan", "dcgan", "lsgan"):
        return digit_figures(run, classifier)
    if recipe in ("cgan", "acgan"):
        return {"class accuracy": class_accuracy(run, 500, classifier)[0]}
    if recipe == "sgan":
        return {"held-out accuracy": sgan_accuracy(run)}
    if recipe in ("cyclegan", "discogan"):
        b_to_a, round_trip = translation_accuracy(run, classifier)
        return {"B->A kept": b_to_a, "A->B->A kept": round_trip}
    if recipe == "stackgan":
        agreement, ink = caption_agreement(run, classifier, 100)
        return {"caption class": agreement, "thick/thin ink": ink}
    return {}


SHARES = ("class accuracy", "held-out accuracy", "B->A kept", "A->B->A kept", "caption class")


def shown(key: str, value) -> str:
    if key in SHARES:
        return f"{value:.1%}"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def main():
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--runs", default="runs/quality")
    parser.add_argument("--ablation", type=float, metavar="SECONDS", help="DCGAN variants, this long each")
    parser.add_argument("--colour", type=float, metavar="SECONDS", help="DCGAN variants on the emoji, this long each")
    parser.add_argument("--variants", help="with --colour: only these (comma-separated names)")
    parser.add_argument("--grid", type=Path, help="with --colour: write the default's sample grid here")
    parser.add_argument("--versus", type=float, metavar="SECONDS", help="r3gan against dcgan, this long each")
    parser.add_argument("--curve", metavar="S1,S2,...", help="r3gan and dcgan on the digits, evaluated after "
                        "each of these cumulative training times (seconds)")
    parser.add_argument("--grids", type=Path, help="with --versus: write each run's sample grid into this folder")
    parser.add_argument("--release", metavar="REV", help="today's --minutes runs against this release's plain "
                        "command given the same time")
    parser.add_argument("--minutes", type=float, help="with --release: the budget on the digits")
    parser.add_argument("--colour-minutes", type=float, help="with --release: the budget on the Twemoji folder")
    parser.add_argument("--budgets", metavar="M1,M2,...", help="dcgan and r3gan with each of these --minutes")
    parser.add_argument("--budget-recipes", default="dcgan,r3gan", help="with --budgets: these recipes")
    parser.add_argument("--budget-args", default="", metavar="ARGS",
                        help="with --budgets: more train arguments for every run (--budget-args='--batch-size 16')")
    parser.add_argument("--on", choices=("both", "digits", "twemoji"), default="both",
                        help="with --budgets: the data to train on")
    parser.add_argument("--stacked", type=float, metavar="MINUTES", help="Stacked MNIST mode coverage of dcgan and "
                        "r3gan, this many minutes each")
    parser.add_argument("--d-sizes", default="1", metavar="F1,F2,...", help="with --stacked: D's widths times each "
                        "of these (Metz et al. trained D at 1/4 and 1/2 of its size: --d-sizes 1,0.5,0.25)")
    parser.add_argument("--equal-steps", type=int, metavar="STEPS", help="dcgan and r3gan for this many steps each "
                        "on the digits (equal images seen)")
    parser.add_argument("--equal-epochs", type=int, metavar="EPOCHS", help="dcgan and r3gan for this many passes "
                        "over the digits each (equal images seen, whatever batch each run takes)")
    parser.add_argument("--r3gan-variants", default="", metavar="ARGS|ARGS", help="with --equal-steps or "
                        "--equal-epochs: r3gan again with each of these extra arguments ('|' between variants)")
    parser.add_argument("--dcgan-variants", default="", metavar="ARGS|ARGS", help="the same for dcgan")
    args = parser.parse_args()
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    classifier = load_digit_classifier()
    os.environ.setdefault("GANFORGE_LOAD_PLUGINS", "")  # the built-ins alone
    if args.stacked:
        stacked(args.stacked, runs, classifier, [float(f) for f in args.d_sizes.split(",")])
        return
    if args.equal_steps or args.equal_epochs:
        length = ["--steps", str(args.equal_steps)] if args.equal_steps else ["--epochs", str(args.equal_epochs)]
        variants = [(recipe, v.strip()) for recipe, given in (("dcgan", args.dcgan_variants),
                                                              ("r3gan", args.r3gan_variants))
                    for v in given.split("|") if v.strip()]
        equal_images(length, variants, runs, classifier)
        return
    if args.budgets:
        budgets([float(m) for m in args.budgets.split(",")], runs, classifier, args.on,
                args.budget_recipes.split(","), args.budget_args)
        return
    if args.release:
        release_versus(args.release, args.minutes, args.colour_minutes, runs, classifier)
        return
    if args.colour:
        colour(args.colour, runs, args.variants, args.grid)
        return
    if args.versus or args.curve:
        if args.versus:
            versus(args.versus, runs, classifier, args.grids)
        if args.curve:
            curve([float(m) for m in args.curve.split(",")], runs, classifier)
        return
    if args.ablation:
        print(f"DCGAN, {args.ablation:.0f} s of training each, on this machine:")
        print("| variant | steps | digit FID | KID | IS | classes drawn |\n|---|---|---|---|---|---|")
        for i, (name, extra) in enumerate(ABLATION):
            out = runs / f"ablation-{i}"
            wall, step = train(["dcgan", *extra], out, args.ablation)
            f = digit_figures(out, classifier)
            print(f"| {name} | {step:,} | {f['FID']:.1f} | {f['KID']:.3f} | {f['IS']:.2f} | {f['classes drawn']} |",
                  flush=True)
        return
    print("| GAN | default run | figures |\n|---|---|---|")
    for recipe in args.recipes.split(","):
        out = runs / recipe
        wall, step = train([recipe], out)
        result = figures(recipe, out, classifier)
        print(f"| {recipe} | {wall:.0f} s, {step:,} steps | "
              + ", ".join(f"{k} {shown(k, v)}" for k, v in result.items()) + " |", flush=True)


if __name__ == "__main__":
    main()
