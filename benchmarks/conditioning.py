"""Is the conditioning real? Figures for the class-aware GANs, judged offline by the
shipped digit classifier (trained on the bundled train split, 97.2% on held-out digits).

* cgan, acgan: the fraction of samples that the classifier assigns to the class
  they were drawn for (1,000 per class by default); chance is 10%.
* sgan: its discriminator's accuracy on the 500 held-out digits, trained with
  100 labels (10 per class) and the other 4,400 digits unlabeled.
* cyclegan, discogan: held-out outlined digits (domain B) translated to digits
  (B->A) and classified against the label of the digit they outline; and held-out
  digits sent A->B->A.
* stackgan: images drawn for "a handwritten <class>" captions classified as that
  class; and the ink of images drawn for "thick" captions over that of "thin" ones
  (above 1 means the stroke words are followed).

Runs are trained with each recipe's defaults (``ganforge train NAME``) unless
they already exist under ``--runs``.

    python benchmarks/conditioning.py [--runs runs/bench] [--per-class 1000] [--recipes cgan,stackgan]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import ganforge
from ganforge.evaluation.digits import load_digit_classifier
from ganforge.hooks.manager import get


def trained(recipe: str, runs: Path) -> Path:
    run = runs / recipe
    if not (run / "G.ckpt").exists():
        start = time.perf_counter()
        ganforge.train(recipe, out=run)
        print(f"trained {recipe} with its defaults in {time.perf_counter() - start:.0f} s")
    return run


def class_accuracy(run: Path, per_class: int, classifier) -> tuple[float, list[float]]:
    G = ganforge.load_generator(run)
    images = G.generate_per_class(per_class, seed=0)
    asked = torch.arange(10).repeat_interleave(per_class)
    hit = (classifier.predict(images) == asked).float()
    return hit.mean().item(), hit.view(10, per_class).mean(1).tolist()


def sgan_accuracy(run: Path) -> float:
    from ganforge.builtins.gans.sgan import accuracy

    return accuracy(ganforge.load_network(run / "D.ckpt"), get("datasets", "mnist-5k")(split="test"))


def translation_accuracy(run: Path, classifier) -> tuple[float, float]:
    test = get("datasets", "unpaired-digits")(split="test")
    to_a = ganforge.load_generator(run / "G_BA.ckpt")
    to_b = ganforge.load_generator(run / "G.ckpt")
    with torch.no_grad():
        b_to_a = (classifier.predict(to_a(test.other)) == test.other_labels).float().mean().item()
        round_trip = (classifier.predict(to_a(to_b(test.images))) == test.labels).float().mean().item()
    return b_to_a, round_trip


def caption_agreement(run: Path, classifier, per_caption: int) -> tuple[float, float]:
    from ganforge.builtins.datasets.captions import WORDS

    G = ganforge.load_generator(run)
    hits, ink = [], {}
    for c, word in enumerate(WORDS):
        images = G.generate(per_caption, seed=c, text=f"a handwritten {word}")
        hits.append((classifier.predict(images) == c).float().mean().item())
        for stroke in ("thick", "thin"):
            drawn = G.generate(per_caption, seed=100 + c, text=f"a {stroke} handwritten {word}")
            ink.setdefault(stroke, []).append(((drawn + 1) / 2).mean().item())
    return sum(hits) / len(hits), sum(ink["thick"]) / sum(ink["thin"])


def main():
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/bench"))
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--recipes", default="cgan,acgan,sgan,cyclegan,discogan,stackgan",
                        help="comma-separated subset to measure")
    args = parser.parse_args()
    wanted = set(args.recipes.split(","))
    classifier = load_digit_classifier()
    rows = []
    for recipe in ("cgan", "acgan"):
        if recipe in wanted:
            overall, per_class = class_accuracy(trained(recipe, args.runs), args.per_class, classifier)
            rows.append((recipe, "samples classified as the class asked for", overall,
                         " ".join(f"{a:.2f}" for a in per_class)))
    if "sgan" in wanted:
        rows.append(("sgan", "D's accuracy on 500 held-out digits, 100 labels",
                     sgan_accuracy(trained("sgan", args.runs)), ""))
    for recipe in ("cyclegan", "discogan"):
        if recipe in wanted:
            b_to_a, round_trip = translation_accuracy(trained(recipe, args.runs), classifier)
            rows.append((recipe, "outlined test digits B->A keep their class", b_to_a, ""))
            rows.append((recipe, "test digits A->B->A keep their class", round_trip, ""))
    if "stackgan" in wanted:
        match, ink_ratio = caption_agreement(trained("stackgan", args.runs), classifier, args.per_class // 10)
        rows.append(("stackgan", "'a handwritten <class>' drawn as that class", match, ""))
        rows.append(("stackgan", "ink of 'thick' captions / ink of 'thin' ones", ink_ratio, ""))
    print(f"{'gan':9s} {'figure':48s} {'value':>6s}  per class 0..9")
    for recipe, what, value, detail in rows:
        print(f"{recipe:9s} {what:48s} {value:6.3f}  {detail}")


if __name__ == "__main__":
    main()
