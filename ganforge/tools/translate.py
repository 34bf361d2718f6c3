"""``ganforge translate``: an image-to-image generator applied to a file or a folder.

A fully convolutional generator (one whose checkpoint records ``size_multiple``: pix2pix's
U-Net, CycleGAN's ResNet) translates every image at its own size: padded at the right and
bottom edges (edge pixels repeated) to the next multiple, translated, and cropped back. Any
other generator sees each image resized and cropped to its training size, as training did.
Images of one padded size go through in batches. A file that cannot be read, or is too large
to translate at once, is named in the summary and the rest are translated.

``compare`` also writes, for each image, input | output (| target) side by side under
``OUT/compare/``, with an ``index.html`` to look through them. The target is the other half
of a pair file (``pairs``: A|B side by side, as pix2pix's folders hold them) or the file of
the same name in ``targets``.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganforge.artifacts import rundir
from ganforge.artifacts.checkpoint import atomic_write
from ganforge.data import images as im
from ganforge.data.pictures import Unusable, halves, image_files, normalize_mode, opened
from ganforge.data.prepared import reporter
from ganforge.errors import GanforgeError

MAX_TRANSLATE_PIXELS = 16_000_000  # an image larger than this is skipped (a 4,000 x 4,000 photo passes)
COMPARE = "compare"


@dataclass
class Translated:
    """What a translation wrote and skipped."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    compared: list[Path] = field(default_factory=list)
    index: Path | None = None
    folder: Path | None = None  # where the outputs are

    def summary(self) -> str:
        line = f"translated {len(self.written):,} image(s)"
        if self.skipped:
            reasons = Counter(reason.split(":")[0] for _, reason in self.skipped)
            first = self.skipped[0]
            line += (f"; skipped {len(self.skipped):,} ({', '.join(f'{n} {r}' for r, n in reasons.most_common())}; "
                     f"first: {first[0]}: {first[1]})")
        return line


def generator_file(path: Path, direction: str) -> Path:
    """The generator to translate with: the run's G (AtoB) or G_BA (BtoA), or the file given
    (for BtoA, the file beside it named G_BA with the same suffix)."""
    if path.is_dir():
        return path / rundir.network_file("G" if direction == "AtoB" else "G_BA")
    return path if direction == "AtoB" else path.with_name("G_BA" + path.suffix)


def read_pixels(path, channels: int, half: str | None = None,
                max_pixels: int = MAX_TRANSLATE_PIXELS) -> tuple[np.ndarray, np.ndarray | None]:
    """An image file (or file object) as ``C x H x W`` uint8 pixels at its own size, and with
    ``half`` (left or right: the file holds a pair side by side) the other half as the target.
    ``Unusable`` when it cannot be read or is larger than ``max_pixels``."""
    with opened(path, max_pixels) as picture:
        width, height = picture.size
        if width * height > max_pixels:
            raise Unusable(f"too large: {width:,} x {height:,} pixels (translate takes up to {max_pixels:,})")
        picture.load()
        picture, _ = normalize_mode(picture, channels)
        if half is None:
            return _array(picture), None
        left, right = halves(picture)
        source, target = (left, right) if half == "left" else (right, left)
        return _array(source), _array(target)


def _array(picture) -> np.ndarray:
    pixels = np.array(picture, dtype=np.uint8)  # a writable copy
    return np.ascontiguousarray(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))


def translate(path, source, out=None, *, direction: str = "AtoB", device: str = "cpu", batch_size: int = 16,
              force: bool = False, trust: bool = False, compare: bool = False, pairs: bool = False,
              targets=None, progress="auto") -> Translated:
    """Translate ``source`` (an image file or a folder, searched recursively) with the
    generator of ``path`` (a run directory, a checkpoint or an exported artifact); outputs are
    PNG files under ``out`` (default: ``SOURCE_DIRECTION``) with the inputs' relative names."""
    from ganforge.artifacts.loading import load_generator

    if direction not in ("AtoB", "BtoA"):
        raise GanforgeError(f"direction must be AtoB or BtoA, got '{direction}'")
    path, source = Path(path), Path(source)
    ckpt = generator_file(path, direction)
    if direction == "BtoA" and not ckpt.exists():
        raise GanforgeError(f"no B->A generator next to '{path}' (looked for {ckpt})")
    G = load_generator(ckpt, device=device, trust=trust)
    spec = G.signature[0]
    if len(G.signature) != 1 or spec["distribution"] != "image":
        raise GanforgeError(f"'{ckpt}' generates from {', '.join(s['name'] for s in G.signature)}, "
                            "not from an image; translate needs an image-to-image GAN")
    if source.is_dir():
        files = image_files(source)
        if not files:
            raise GanforgeError(f"no images found in '{source}'")
        folder = Path(out or f"{source}_{direction}")
        outputs = [folder / f.relative_to(source).with_suffix(".png") for f in files]
        names = [f.relative_to(source).as_posix() for f in files]
    elif source.is_file():
        files = [source]
        outputs = [Path(out or source.with_name(f"{source.stem}_{direction}.png"))]
        folder, names = outputs[0].parent, [source.name]
    else:
        raise GanforgeError(f"input '{source}' does not exist")
    im.refuse_overwrite(outputs + ([folder / COMPARE / "index.html"] if compare else []), force)
    target_files = _targets(files, source, Path(targets)) if targets else None
    done = Translated(folder=folder)
    translator = Translator(G, batch_size)
    half = ("left" if direction == "AtoB" else "right") if pairs else None
    report = reporter(progress, len(files), "translating")
    try:
        for i, (file, output, name) in enumerate(zip(files, outputs, names)):
            try:
                pixels, target = read_pixels(file, spec["shape"][0], half)
                if target_files is not None:
                    target = _target_pixels(target_files[i], pixels, spec["shape"][0])
            except Unusable as exc:
                done.skipped.append((name, str(exc)))
                report(1)
                continue
            for finished in translator.add(pixels, (output, name, pixels, target)):
                _write(finished, done, folder, compare, G.output_range)
            report(1)
        for finished in translator.flush():
            _write(finished, done, folder, compare, G.output_range)
    finally:
        report(None)
    if compare and done.compared:
        done.index = write_index(folder / COMPARE, done.compared, folder)
    return done


def _targets(files: list[Path], source: Path, folder: Path) -> list[Path | None]:
    """Each input's target: the file under ``folder`` with the same relative name, any extension."""
    if not folder.is_dir():
        raise GanforgeError(f"targets folder '{folder}' does not exist")
    found = {f.relative_to(folder).with_suffix("").as_posix(): f for f in image_files(folder)}
    base = source if source.is_dir() else source.parent
    return [found.get(f.relative_to(base).with_suffix("").as_posix()) for f in files]


def _target_pixels(path: Path | None, pixels: np.ndarray, channels: int) -> np.ndarray | None:
    if path is None:
        return None
    target, _ = read_pixels(path, channels)
    return target if target.shape == pixels.shape else None  # a target of another size is left out


def size_multiple(G) -> int | None:
    """The multiple of which a fully convolutional generator takes any height and width (a
    checkpoint, or an artifact exported with dynamic height and width), or None: its trained size only."""
    from ganforge.contracts.exporter import spatial

    dynamic = G.backend == "torch" or G.meta.get("dynamic_size")
    return G.meta.get("size_multiple") if dynamic and spatial(G.signature, G.meta.get("size_multiple")) else None


class Translator:
    """Images queued by padded size and translated a batch at a time."""

    def __init__(self, G, batch_size: int):
        self.G, self.batch_size = G, batch_size
        spec = G.signature[0]
        self.size = spec["shape"][-1]
        self.multiple = size_multiple(G)
        self.queues: dict[tuple[int, int], list] = {}

    def shape_for(self, height: int, width: int) -> tuple[int, int]:
        if not self.multiple:
            return self.size, self.size
        m = self.multiple
        return -(-height // m) * m, -(-width // m) * m

    def add(self, pixels: np.ndarray, item):
        shape = self.shape_for(*pixels.shape[1:])
        queue = self.queues.setdefault(shape, [])
        queue.append((pixels, item))
        if len(queue) >= self.batch_size:
            del self.queues[shape]
            yield from self._run(shape, queue)

    def flush(self):
        for shape, queue in list(self.queues.items()):
            yield from self._run(shape, queue)
        self.queues.clear()

    def _run(self, shape, queue):
        batch = torch.stack([self.input_tensor(pixels) for pixels, _ in queue])
        result = self.G(batch).cpu()
        for (pixels, item), image in zip(queue, result):
            yield item, self.output_pixels(image, pixels)

    def output_pixels(self, image: torch.Tensor, pixels: np.ndarray) -> np.ndarray:
        """The generator's output for ``pixels`` as uint8 pixels of their size: cropped (padded
        inputs) or resized back."""
        h, w = pixels.shape[1:]
        if self.multiple:
            image = image[:, :h, :w]
        else:
            image = torch.nn.functional.interpolate(image[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        return im.to_uint8(image[None], self.G.output_range)[0]

    def input_tensor(self, pixels: np.ndarray) -> torch.Tensor:
        """uint8 pixels as the generator's input: in [-1, 1], padded to the next multiple (edge
        pixels repeated) or resized to the trained size."""
        shape = self.shape_for(*pixels.shape[1:])
        x = torch.from_numpy(pixels).float().div(127.5).sub(1.0)
        if not self.multiple:
            return torch.nn.functional.interpolate(x[None], size=shape, mode="bilinear", antialias=True,
                                                   align_corners=False)[0].clamp(-1, 1)
        h, w = pixels.shape[1:]
        return torch.nn.functional.pad(x[None], (0, shape[1] - w, 0, shape[0] - h), mode="replicate")[0]


def _write(finished, done: Translated, folder: Path, compare: bool, output_range) -> None:
    (output, name, pixels, target), translated = finished
    save_png(translated, output)
    done.written.append(output)
    if compare:
        panels = [pixels, translated] + ([target] if target is not None else [])
        if len({p.shape[0] for p in panels}) > 1:  # a grey input beside a colour output: all in colour
            panels = [np.repeat(p, 3, 0) if p.shape[0] == 1 else p for p in panels]
        gap = np.full((panels[0].shape[0], pixels.shape[1], 4), 255, np.uint8)
        row = np.concatenate([x for p in panels for x in (p, gap)][:-1], axis=2)
        path = folder / COMPARE / Path(name).with_suffix(".png")
        save_png(row, path)
        done.compared.append(path)


def save_png(pixels: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(pixels))


def png_bytes(pixels: np.ndarray) -> bytes:
    """``C x H x W`` uint8 pixels as a PNG file's bytes."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_index(folder: Path, pages: list[Path], root: Path) -> Path:
    """``index.html`` in ``folder`` listing every side-by-side image, with its name."""
    rows = "\n".join(f'<figure><img src="{html.escape(p.relative_to(folder).as_posix())}" loading="lazy">'
                     f"<figcaption>{html.escape(p.relative_to(folder).as_posix())}</figcaption></figure>"
                     for p in pages)
    page = (f"<!doctype html><meta charset=utf-8><title>ganforge translate: {html.escape(str(root))}</title>"
            "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:.5em}"
            "img{image-rendering:pixelated;min-height:96px}figcaption{font-size:12px;color:#555}</style>"
            f"<h1>{len(pages):,} translations</h1><p>input | output | target, where there is one</p>\n{rows}\n")
    path = folder / "index.html"
    atomic_write(path, page.encode())
    return path
