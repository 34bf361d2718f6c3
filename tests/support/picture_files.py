"""Image files of every kind a user's folder holds, good and bad, written small."""

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims ``width x height`` pixels in its header and holds almost nothing:
    a decompression bomb, a few bytes on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def good_images(folder: Path, count: int, size: int = 40) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"good{i:02d}.png" for i in range(count)]
    for i, path in enumerate(paths):
        noise(size, size, i).save(path)
    return paths


def every_kind(folder: Path, good: int = 8) -> dict[str, str]:
    """The must-hold folder: good images and one of each troublesome kind. Returns what each
    troublesome file is (by file name)."""
    good_images(folder, good)
    noise(40, 40, 3).save(folder / "whole.png")
    whole = (folder / "whole.png").read_bytes()
    (folder / "whole.png").unlink()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (folder / "notes.jpg").write_text("this is not a picture\n")
    png_header_only(folder / "bomb.png", 30_000, 30_000)
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 10:30] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(folder / "cutout.png")
    Image.fromarray(np.full((40, 40), 32768, np.uint16)).save(folder / "deep.png")
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(folder / "print.jpg")
    noise(40, 40, 99).convert("P").save(folder / "palette.gif")
    noise(5, 5, 5).save(folder / "thumbnail.png")
    noise(200, 40, 7).save(folder / "banner.png")
    return {"truncated.png": "truncated", "notes.jpg": "not an image", "bomb.png": "too large",
            "thumbnail.png": "too small", "cutout.png": "transparency", "deep.png": "16-bit",
            "print.jpg": "CMYK", "palette.gif": "palette", "banner.png": "non-square"}
