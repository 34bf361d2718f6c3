"""Prepared image stores: a folder of the user's images decoded and resized once.

``prepare_images(folder, size)`` reads every image file under ``folder`` once (in parallel worker
processes, with a progress bar on a terminal), converts each to ``size x size`` pixels and
keeps them in a store::

    ~/.cache/ganforge/prepared/faces-64px-3c-1f0e.../
        images.npy    N x C x size x size uint8 (NumPy's own format: memory-mappable)
        labels.npy    N int64 class indices (immediate subfolders, sorted; 0 without any)
        store.json    what was read: the folder, its classes, the options, every file that
                      could not be used and why, and how many images were converted

The store's name holds a key of the folder's contents (every file's path, size and
modification time) and of the options, so a changed folder, size or option is prepared
again and an unchanged one is read back at once. Training from a store needs no decoding:
it fits in memory (on the training device, as uint8) or is memory-mapped and read a batch at
a time (``ganforge.data.datasets.PixelDataset``).

Files that cannot be used are listed with the reason, never raised while training:
unreadable, truncated, not an image, too large in pixels (refused from the header, before
anything is decoded) or too small for the size (a short side under a quarter of it).
Conversions are stated: transparency is composited onto ``background`` (white by default),
grey, 16-bit, CMYK and palette images are converted to the channels asked for, and
non-square images become square by ``square``: ``crop`` (resize the short side, keep the
centre; the default), ``pad`` (resize the long side, fill with ``background``) or
``stretch``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from ganforge.data.pictures import (IMAGE_EXTENSIONS, MAX_PIXELS, SQUARE, Unusable, background_colour, image_files,
                                    read_file, read_pair)
from ganforge.errors import GanforgeError

FORMAT = 1  # of the store; a different one is prepared again
UPSCALE_WARNING = 0.10  # warn when more than this share of the images had to be enlarged
IMAGES, LABELS, MANIFEST = "images.npy", "labels.npy", "store.json"
CONVERSIONS = {  # what store.json and the summary call each conversion
    "transparency": "transparency composited onto the background",
    "grey": "grey to colour",
    "colour": "colour to grey",
    "16-bit": "16-bit to 8-bit",
    "CMYK": "CMYK to RGB",
    "palette": "palette to RGB",
    "other mode": "other colour modes converted",
    "non-square": "non-square made square",
    "upscaled": "smaller than the size, enlarged",
}


def _read_job(job):
    """A worker's share: ``(index, pixels or None, notes or the reason)``. ``source`` is a file,
    or a pair (``read_pair``)."""
    index, source, options = job
    try:
        pixels, notes = read_file(source, **options) if isinstance(source, str) else read_pair(source, **options)
        return index, pixels, notes
    except Unusable as exc:
        return index, None, str(exc)
    except Exception as exc:  # a decoder's own bug must not end the preparation of 100,000 files
        return index, None, f"unreadable: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


def cache_root() -> Path:
    """Where stores are kept: ``$GANFORGE_CACHE/prepared``, else the user's cache folder."""
    import platformdirs

    base = os.environ.get("GANFORGE_CACHE") or platformdirs.user_cache_dir("ganforge")
    return Path(base) / "prepared"


def is_store(path) -> bool:
    return (Path(path) / MANIFEST).is_file() and (Path(path) / IMAGES).is_file()


def folder_key(files: list[Path], root: Path, options: dict) -> str:
    """A digest of what a store is made from: every file's path, size and modification time,
    and the options. A changed file changes it."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, **options}, sort_keys=True).encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def labels_of(files: list[Path], root: Path) -> tuple[list[str], list[int]]:
    """Class names (the immediate subfolders, sorted) and each file's class index (0 for files
    at the top, when there are no subfolders)."""
    parts = [p.relative_to(root).parts for p in files]
    classes = sorted({q[0] for q in parts if len(q) > 1})
    index = {c: i for i, c in enumerate(classes)}
    return classes, [index.get(q[0], 0) if len(q) > 1 else 0 for q in parts]


def prepare_images(folder, size: int = 64, *, channels: int = 3, background="white", square: str = "crop",
            max_pixels: int = MAX_PIXELS, out=None, workers: int | None = None, progress="auto",
            force: bool = False) -> Path:
    """Prepare ``folder`` at ``size`` px and return the store's folder: ``out`` if given, else
    one in the cache named by the folder's key (reused when it is there already; ``force``
    prepares it again). ``progress`` is a callable ``(done, total)``, ``"auto"`` (a bar on a
    terminal) or None."""
    root = _folder(folder, "image folder")
    if is_store(root):
        return root
    options = _options(size, channels, background, square, max_pixels)
    files = image_files(root)
    if not files:
        raise GanforgeError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) found under '{root}'")
    key = folder_key(files, root, options)

    def sources():
        classes, labels = labels_of(files, root)
        names = [f.relative_to(root).as_posix() for f in files]
        return Sources([str(f) for f in files], names, labels, classes)

    return _store(root, f"{root.resolve().name}-{size}px-{channels}c-{key[:16]}", key, options, sources, out, force,
                  workers, progress)


def _folder(folder, what: str) -> Path:
    """``folder`` as a path, or a one-line error when it is not a folder."""
    root = Path(folder)
    if not root.is_dir():
        raise GanforgeError(f"{what} '{root}' does not exist or is not a folder")
    return root


def _options(size: int, channels: int, background, square: str, max_pixels: int) -> dict:
    """The options a store is prepared with, checked."""
    if square not in SQUARE:
        raise GanforgeError(f"square '{square}' is not one of {', '.join(SQUARE)}")
    if channels not in (1, 3):
        raise GanforgeError(f"images can be prepared with 1 or 3 channels, not {channels}")
    if size < 1:
        raise GanforgeError(f"the size must be at least 1 pixel, not {size}")
    return {"size": size, "channels": channels, "background": list(background_colour(background)), "square": square,
            "max_pixels": max_pixels}


def _store(root: Path, name: str, key: str, options: dict, sources, out, force: bool, workers, progress,
           extra: dict | None = None) -> Path:
    """The store of ``key``: ``out`` or ``name`` in the cache, reused when it holds ``key``, else
    written from ``sources()`` (a ``Sources``)."""
    from filelock import FileLock

    store = Path(out) if out else cache_root() / name
    store.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(store) + ".lock"):  # two runs preparing the same folder: the second waits, then reads
        if is_store(store) and not force:
            manifest = json.loads((store / MANIFEST).read_text())
            if manifest.get("key") == key:
                return store
            if out is None:
                raise GanforgeError(f"'{store}' holds another preparation; remove it or pass another --out")
        elif store.exists() and any(store.iterdir()) and not is_store(store):
            raise GanforgeError(f"'{store}' exists and is not a prepared store; choose another --out")
        _write(store, root, sources(), key, options, workers, progress, extra)
    return store


PAIR_LAYOUTS = ("side-by-side", "folders")


def pair_layout(root: Path) -> str:
    """``folders`` when ``root`` holds ``A/`` and ``B/`` (each with the same split subfolders),
    ``side-by-side`` when it holds split folders (``train/``, ...) of files with A and B side by side."""
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "folders"
    if any((root / split).is_dir() for split in ("train", "val", "test")):
        return "side-by-side"
    raise GanforgeError(f"'{root}' holds neither train/ (files with A and B side by side) nor A/ and B/ "
                        "(with the same split subfolders, files matched by name)")


def pair_sources(root: Path, split: str) -> tuple[str, list[Path], Sources]:
    """The layout of ``root``, every file of ``split`` and the pairs to decode from them. In the
    ``folders`` layout a file of A/SPLIT and one of B/SPLIT pair when their paths, less the
    extension, agree; one without a partner is a problem, named with the reason."""
    layout = pair_layout(root)
    if layout == "side-by-side":
        files = image_files(root / split)
        names = [f.relative_to(root).as_posix() for f in files]
        return layout, files, Sources([(str(f),) for f in files], names, [0] * len(files), [], channels_per_row=2)
    found = {side: {f.relative_to(root / side / split).with_suffix("").as_posix(): f
                    for f in image_files(root / side / split)} for side in ("A", "B")}
    both = sorted(found["A"].keys() & found["B"].keys())
    problems = [{"file": found[side][name].relative_to(root).as_posix(),
                 "reason": f"no partner: nothing named {name}.* in {other}/{split}/"}
                for side, other in (("A", "B"), ("B", "A")) for name in sorted(found[side].keys() - found[other].keys())]
    files = sorted(found["A"].values()) + sorted(found["B"].values())
    sources = Sources([(str(found["A"][n]), str(found["B"][n])) for n in both],
                      [f"{found['A'][n].relative_to(root).as_posix()} + B" for n in both], [0] * len(both), [],
                      problems, channels_per_row=2)
    return layout, files, sources


def prepare_pairs(folder, split: str = "train", size: int = 64, *, channels: int = 3, background="white",
                  square: str = "crop", max_pixels: int = MAX_PIXELS, out=None, workers: int | None = None,
                  progress="auto", force: bool = False) -> Path:
    """Prepare the aligned pairs of ``split`` under ``folder`` (``pair_layout``) at ``size`` px:
    a store whose every row holds A's channels, then B's, each converted as ``prepare_images``
    converts a file. Reused, skipped files and the lock as there."""
    root = _folder(folder, "pairs folder")
    if is_store(root):
        return root
    options = _options(size, channels, background, square, max_pixels)
    layout, files, sources = pair_sources(root, split)
    if not files:
        where = root / split if layout == "side-by-side" else f"{root / 'A' / split} and {root / 'B' / split}"
        raise GanforgeError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) found in {where}")
    key = folder_key(files, root, {**options, "pairs": layout, "split": split})
    return _store(root, f"{root.resolve().name}-{split}-pairs-{size}px-{channels}c-{key[:16]}", key, options,
                  lambda: sources, out, force, workers, progress, extra={"pairs": layout, "split": split})


class Sources:
    """What a store is decoded from: one source per row (a file's path, or a pair: see
    ``read_pair``), the name each is reported under, its class index and the class names; and
    ``problems`` found before decoding (a file without its partner), reported with the rest."""

    def __init__(self, sources: list, names: list[str], labels: list[int], classes: list[str],
                 problems: list[dict] | None = None, channels_per_row: int = 1):
        self.sources, self.names, self.labels, self.classes = sources, names, labels, classes
        self.problems, self.channels_per_row = problems or [], channels_per_row


def _write(store: Path, root: Path, sources: Sources, key: str, options: dict, workers, progress,
           extra: dict | None = None) -> None:
    """Decode every source into a temporary folder beside ``store``, then rename it into place:
    an interrupted or failed preparation leaves no half-written store behind. ``extra`` is added
    to store.json."""
    files, labels = sources.sources, sources.labels
    size, channels = options["size"], options["channels"] * sources.channels_per_row
    job_options = {"size": size, "channels": options["channels"], "background": tuple(options["background"]),
                   "square": options["square"], "max_pixels": options["max_pixels"]}
    tmp = store.parent / f".{store.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    report = reporter(progress, len(files))
    try:
        pixels = np.lib.format.open_memmap(tmp / "all.npy", mode="w+", dtype=np.uint8,
                                           shape=(len(files), channels, size, size))
        kept, problems, converted = [], list(sources.problems), Counter()
        for index, image, notes in _decode(files, job_options, workers):
            if image is None:
                problems.append({"file": sources.names[index], "reason": notes})
            else:
                pixels[len(kept)] = image
                kept.append(index)
                converted.update(notes)
            report(1)
        if not kept:
            raise GanforgeError(f"none of the {len(files):,} image files under '{root}' can be used "
                                f"(first: {problems[0]['file']}: {problems[0]['reason']})")
        pixels.flush()
        if len(kept) == len(files):  # nothing skipped: the array is the store's as it is
            del pixels
            (tmp / "all.npy").rename(tmp / IMAGES)
        else:  # the usable rows, which come first, copied into an array of their own size
            final = np.lib.format.open_memmap(tmp / IMAGES, mode="w+", dtype=np.uint8,
                                              shape=(len(kept), channels, size, size))
            for start in range(0, len(kept), 4096):
                end = min(start + 4096, len(kept))
                final[start:end] = pixels[start:end]
            final.flush()
            del final, pixels
            (tmp / "all.npy").unlink()
        np.save(tmp / LABELS, np.asarray([labels[i] for i in kept], dtype=np.int64))
        manifest = {"format": FORMAT, "key": key, "folder": str(root.resolve()), **options,
                    "found": len(files) + len(sources.problems), "images": len(kept), "classes": sources.classes,
                    "num_classes": max(len(sources.classes), 1), "converted": dict(sorted(converted.items())),
                    "problems": problems, **(extra or {})}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        if store.exists():
            shutil.rmtree(store)
        tmp.rename(store)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GanforgeError(f"cannot write the prepared images to '{store.parent}': "
                            f"{exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        report(None)


def _decode(files: list, options: dict, workers: int | None):
    """``(index, pixels, notes)`` for every source, in order; in worker processes when there are
    enough files for them to pay."""
    jobs = [(i, p, options) for i, p in enumerate(files)]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if workers <= 1 or len(files) < 64:
        yield from map(_read_job, jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(_read_job, jobs, chunksize=32)


def reporter(progress, total: int, label: str = "preparing images"):
    """``report(n)`` after ``n`` more items, ``report(None)`` at the end. ``progress`` is a callable
    ``(done, total)``, ``"auto"`` (a bar labelled ``label`` on a terminal) or None."""
    if progress == "auto":
        from rich.console import Console

        console = Console(stderr=True)
        if not console.is_terminal:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=console, transient=True)
        task = bar.add_task("prepare", total=total)
        bar.start()

        def report(n):
            if n is None:
                bar.stop()
            else:
                bar.advance(task, n)
        return report
    if callable(progress):
        done = [0]

        def report(n):
            if n is not None:
                done[0] += n
                progress(done[0], total)
        return report
    return lambda n: None


def read_manifest(store) -> dict:
    """A store's ``store.json``, checked against its arrays' headers (never their contents)."""
    store = Path(store)
    try:
        manifest = json.loads((store / MANIFEST).read_text())
        pixels = np.load(store / IMAGES, mmap_mode="r")
        labels = np.load(store / LABELS, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise GanforgeError(f"'{store}' is not a readable prepared store: {' '.join(str(exc).split())[:160]}") from None
    if (pixels.dtype != np.uint8 or pixels.ndim != 4 or labels.shape != (len(pixels),)
            or len(pixels) != manifest.get("images")):
        raise GanforgeError(f"'{store}' is damaged: its arrays do not match its store.json; prepare it again")
    return manifest


def summary(manifest: dict) -> str:
    """One line: how many images were found, used, skipped (by reason) and converted."""
    found, used = manifest["found"], manifest["images"]
    line = f"{used:,} of {found:,} {'pairs' if manifest.get('pairs') else 'images'} used at {manifest['size']} px"
    problems = manifest.get("problems") or []
    if problems:
        reasons = Counter(p["reason"].split(":")[0] for p in problems)
        line += f"; skipped {len(problems):,} ({', '.join(f'{n} {r}' for r, n in reasons.most_common())})"
    converted = {k: v for k, v in (manifest.get("converted") or {}).items() if k != "non-square" or v}
    if converted:
        square = manifest.get("square", "crop")
        names = {**CONVERSIONS, "non-square": f"non-square by {square}"}
        line += "; converted: " + ", ".join(f"{n:,} {names.get(k, k)}" for k, n in converted.items())
    if used and converted.get("upscaled", 0) > UPSCALE_WARNING * used:
        line += f" (warning: {converted['upscaled'] / used:.0%} are smaller than {manifest['size']} px)"
    return line


def open_prepared(store, in_memory: bool | None = None):
    """A prepared store as a ``PixelDataset``: memory-mapped, so opening it costs nothing;
    the engine decides whether it fits in memory (``in_memory``: None decides by size)."""
    from ganforge.data.datasets import PixelDataset

    store = Path(store)
    manifest = {**read_manifest(store), "store": str(store)}  # the report says where its full list is
    pixels = np.load(store / IMAGES, mmap_mode="r")
    labels = np.load(store / LABELS)
    return PixelDataset(pixels, labels, manifest["num_classes"], report=manifest, in_memory=in_memory)
