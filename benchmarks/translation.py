"""Image-to-image translation measured on real pairs: Twemoji drawn in a light and a dark skin tone.

../shared/data/twemoji-64/ (Twemoji, CC-BY 4.0 by Twitter, Inc. and other contributors) holds
emoji drawn in each skin tone; a file ending -1f3fb (light) and the same name ending -1f3ff
(dark) are the same drawing: a paired task with ground truth. The pairs are split by emoji (the
first code point: every 5th emoji's pairs are the test split), written as A/ (light) and B/
(dark) folders, and trained from at 64 px through ``--dataset paired-folder``, each variant for
the same wall time (``--minutes SECONDS/60``: each run ends itself at its budget, and every
schedule spans it):

- identity: the input as the output (what doing nothing scores);
- L1-only U-Net: pix2pix with ``-p adversarial_weight=0`` (the paper's L1 ablation);
- pix2pix: the default command;
- with ``--variant NAME=ARGS``, more pix2pix commands (e.g. ``--variant 'warm-up=-p adversarial_from=0.5'``);
- with ``--cyclegan``, CycleGAN on the same two domains with no pair seen (trainA/ trainB/),
  judged against the true pairs;
- with ``--edges``, edges -> emoji (the edges2shoes task; edges by a stated Sobel detector).

Each is scored on the test split: L1, PSNR and SSIM against the targets, and FID and KID of the
outputs against the targets on the features of benchmarks/emoji_features.py trained with a
class per subcategory and skin tone and without the test images (a classifier of subcategories
alone hardly sees skin tone: the identity scored FID 5.9 on it); the test split is small, so
FID is biased upwards: compare variants, not other papers. Wall time, steps and images seen beside every figure.

    python benchmarks/translation.py --seconds 240 --cyclegan --edges --grid docs/pix2pix-skin-tones.png
    python benchmarks/translation.py --seconds 600 --train-args='--ema-images 0'

(``--cfg auto``, the default on folders, gives pix2pix a moving average of G, ``--ema-images
10000``, and on a CPU a D of width 16; ``--train-args='--ema-images 0'`` measures without the
average, ``--train-args='--cfg recipe'`` with the recipe's defaults.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ganforge  # noqa: E402
from ganforge.devices import describe  # noqa: E402

from emoji_features import EMOJI, WORK, EmojiFeatures, train_classifier  # noqa: E402
from quality import images_seen, slug, train  # noqa: E402

LIGHT, DARK = "-1f3fb", "-1f3ff"


def skin_tone_pairs(folder: Path, unpaired: Path | None = None) -> tuple[int, int]:
    """Write the pairs as A/ and B/ with train/ and test/ (and, with ``unpaired``, the CycleGAN
    layout of the same train split with the pairing hidden by shuffled names). Returns the counts."""
    light = sorted(p for p in EMOJI.glob(f"*{LIGHT}*.png") if (EMOJI / p.name.replace(LIGHT, DARK)).is_file())
    bases = sorted({p.name.split("-")[0] for p in light})
    test_bases = set(bases[4::5])
    counts = {"train": 0, "test": 0}
    shutil.rmtree(folder, ignore_errors=True)
    for p in light:
        split = "test" if p.name.split("-")[0] in test_bases else "train"
        for side, source in (("A", p), ("B", EMOJI / p.name.replace(LIGHT, DARK))):
            (folder / side / split).mkdir(parents=True, exist_ok=True)
            shutil.copy(source, folder / side / split / p.name.replace(LIGHT, ""))
        counts[split] += 1
    if unpaired is not None:
        shutil.rmtree(unpaired, ignore_errors=True)
        rng = np.random.default_rng(0)
        for side, name in (("A", "trainA"), ("B", "trainB")):
            files = sorted((folder / side / "train").iterdir())
            (unpaired / name).mkdir(parents=True)
            for i, f in zip(rng.permutation(len(files)), files):  # names say nothing about partners
                shutil.copy(f, unpaired / name / f"{i:04d}.png")
        for side, name in (("A", "testA"), ("B", "testB")):
            shutil.copytree(folder / side / "test", unpaired / name)
    return counts["train"], counts["test"]


def test_pairs(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from ganforge.plugin import split_pair
    from ganforge.hooks.manager import get

    test = get("datasets", "paired-folder")(root=folder, image_size=64, split="test")
    return split_pair(test.images)


def scores(outputs: torch.Tensor, targets: torch.Tensor, features: EmojiFeatures) -> dict:
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from ganforge.evaluation.metrics import extract, fid_kid_is

    outputs = outputs.clamp(-1, 1)
    fake, logits = extract(features, outputs)
    real, _ = extract(features, targets)
    figures = fid_kid_is(fake, real, logits, kid_subset=min(50, len(targets)))
    return {"l1": F.l1_loss(outputs, targets).item(),
            "psnr": peak_signal_noise_ratio(outputs, targets, data_range=2.0).item(),
            "ssim": structural_similarity_index_measure(outputs, targets, data_range=2.0).item(),
            "fid": figures["fid"], "kid": figures["kid"]}


def translated(run: Path, inputs: torch.Tensor) -> torch.Tensor:
    G = ganforge.load_generator(run)
    return torch.cat([G(inputs[i:i + 64]) for i in range(0, len(inputs), 64)])


def edge_pairs(folder: Path) -> tuple[int, int]:
    """Edges (A) and emoji (B) of every emoji, the edges2shoes task: each emoji composited onto
    white at 64 px (as ganforge prepare does), its edges the Sobel gradient magnitude of the grey
    image above 0.25 of its range, drawn black on white. Every 5th emoji (sorted by name) is the
    test split."""
    from PIL import Image

    from ganforge.data.pictures import image_files, read_file

    shutil.rmtree(folder, ignore_errors=True)
    files = image_files(EMOJI)
    sobel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    kernels = torch.stack([sobel, sobel.T])[:, None]
    counts = {"train": 0, "test": 0}
    for i, path in enumerate(files):
        split = "test" if i % 5 == 4 else "train"
        pixels, _ = read_file(path, 64)
        grey = torch.from_numpy(pixels).float().mean(0, keepdim=True)[None] / 255
        gradient = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernels).pow(2).sum(1).sqrt()[0]
        edges = np.where(gradient.numpy() > 0.25 * 4, 0, 255).astype(np.uint8)  # 4: the largest Sobel response
        for side, image in (("A", Image.fromarray(edges)), ("B", Image.fromarray(pixels.transpose(1, 2, 0)))):
            (folder / side / split).mkdir(parents=True, exist_ok=True)
            image.save(folder / side / split / f"{path.stem}.png")
        counts[split] += 1
    return counts["train"], counts["test"]


def measure(title: str, pairs: Path, unpaired: Path | None, features, args, grid: Path | None) -> None:
    """Train each variant on ``pairs`` for ``args.seconds`` and print the table of test figures."""
    inputs, targets = test_pairs(pairs)
    rows = [("identity (the input)", 0.0, 0, 0, scores(inputs, targets, features))]
    budget = ["--minutes", f"{args.seconds / 60:g}"]
    common = ["--dataset", "paired-folder", "--data-root", str(pairs), "-p", "image_size=64", *budget,
              *args.train_args.split()]
    variants = [("L1-only U-Net", ["pix2pix", *common, "-p", "adversarial_weight=0"]),
                ("pix2pix (default)", ["pix2pix", *common])]
    for variant in args.variant:
        name, _, extra = variant.partition("=")
        variants.append((f"pix2pix {name}", ["pix2pix", *common, *extra.split()]))
    if unpaired is not None:
        variants.append(("CycleGAN (unpaired)", ["cyclegan", "--dataset", "unpaired-folder", "--data-root",
                                                 str(unpaired), "-p", "image_size=64", *budget]))
    outputs = {}
    for name, command in variants:
        out = args.work / "runs" / f"{pairs.name}-{slug(name)}"
        shutil.rmtree(out, ignore_errors=True)
        wall, step = train(command, out, plain=True)  # ended by its own --minutes
        outputs[name] = translated(out, inputs)
        rows.append((name, wall, step, images_seen(out, step), scores(outputs[name], targets, features)))
    identity = rows[0][4]
    print(f"\n{title}\n")
    print("| variant | wall | steps | images seen | test L1 | PSNR | SSIM | FID | KID |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, wall, step, seen, s in rows:
        print(f"| {name} | {wall:.0f} s | {step:,} | {seen:,} | {s['l1']:.4f} ({s['l1'] / identity['l1']:.2f}x "
              f"identity) | {s['psnr']:.2f} | {s['ssim']:.3f} | {s['fid']:.1f} | {s['kid']:.2f} |", flush=True)
    if grid:
        from ganforge.data.images import save_grid

        k = min(8, len(inputs))
        panels = [inputs[:k]] + [outputs[name][:k].clamp(-1, 1) for name, _ in variants] + [targets[:k]]
        save_grid(torch.cat(panels), (-1.0, 1.0), grid, nrow=k,
                  row_labels=["input", *[name.split(" (")[0] for name, _ in variants], "target"])
        print(f"grid: {grid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=150, help="wall time of each training")
    parser.add_argument("--cyclegan", action="store_true", help="also CycleGAN on the unpaired skin-tone domains")
    parser.add_argument("--edges", action="store_true", help="also edges -> emoji")
    parser.add_argument("--grid", type=Path, help="write test translations beside their targets here (PNG; "
                        "edges -> emoji beside it, -edges.png)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS",
                        help="also train pix2pix with these arguments, e.g. --variant 'warm-up=-p adversarial_from=0.5'")
    parser.add_argument("--work", type=Path, default=WORK / "translation")
    parser.add_argument("--train-args", default="", help="more arguments for every pix2pix training, e.g. "
                        "--train-args='--ema-images 0' (the same for pix2pix and the L1-only U-Net)")
    args = parser.parse_args()
    print(f"machine: {describe()}" + (f"; every pix2pix run also given: {args.train_args}" if args.train_args else ""),
          flush=True)
    if not EMOJI.is_dir():
        sys.exit(f"Error: {EMOJI} is not here")
    pairs, unpaired = args.work / "skin-tones", args.work / "skin-tones-unpaired"
    n_train, n_test = skin_tone_pairs(pairs, unpaired if args.cyclegan else None)
    # The yardstick: the emoji classifier with a class per subcategory and skin tone (a classifier
    # of subcategories alone is blind to what this task changes), never shown a test emoji.
    unseen = frozenset(f.name for side in "AB" for f in (pairs / side / "test").iterdir())
    unseen = frozenset(name for f in unseen for name in (f.replace(".png", f"{LIGHT}.png"), f.replace(".png", f"{DARK}.png")))
    weights, accuracy = train_classifier(tones=True, exclude=unseen)
    features = EmojiFeatures(weights)
    print(f"yardstick: emoji subcategory x skin tone classifier, {accuracy:.1%} held-out accuracy, "
          f"trained without the {len(unseen)} test images", flush=True)
    measure(f"light -> dark skin tone: {n_train} train, {n_test} test pairs (split by emoji), 64 px, "
            f"{args.seconds:.0f} s each", pairs, unpaired if args.cyclegan else None, features, args, args.grid)
    if args.edges:
        edges = args.work / "edges"
        n_train, n_test = edge_pairs(edges)
        measure(f"edges -> emoji: {n_train} train, {n_test} test (every 5th emoji), 64 px, {args.seconds:.0f} s each",
                edges, None, features, args, args.grid.with_name(args.grid.stem + "-edges.png") if args.grid else None)


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: quality.train stops its training too
    started = time.perf_counter()
    main()
    print(f"total wall time {time.perf_counter() - started:.0f} s")
