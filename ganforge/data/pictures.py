"""Reading image files: which files are images, and one file (or PIL image) as pixels.

Every path that reads a picture converts it the same way (``convert``): transparency
composited onto a background colour (white by default), grey, 16-bit, CMYK and palette
images turned into the channels asked for, and non-square images made square by ``square``
(``crop``, the default; ``pad``; ``stretch``). ``read_file`` also says why a file cannot be
used (``Unusable``): not an image, truncated, unreadable, too large in pixels (from the
header, before decoding) or too small.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np

from ganforge.errors import GanforgeError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def image_files(folder) -> list[Path]:
    """Image files under ``folder``, recursively, in a stable order."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


SQUARE = ("crop", "pad", "stretch")
MAX_PIXELS = 64_000_000  # an image's width x height, read from its header before decoding
SMALL_FRACTION = 4  # a short side under size / 4 is unusable: blown up that far it is a blur
NAMED_COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128), "gray": (128, 128, 128)}


class Unusable(Exception):
    """A file that cannot be trained on; the message is the reason."""


def background_colour(value) -> tuple[int, int, int]:
    """``white``, ``black``, ``grey``, ``#rrggbb`` or ``r,g,b`` as an RGB triple."""
    text = str(value).strip().lower()
    if text in NAMED_COLOURS:
        return NAMED_COLOURS[text]
    try:
        if text.startswith("#") and len(text) == 7:
            return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))
        parts = tuple(int(p) for p in text.split(","))
        if len(parts) == 3 and all(0 <= p <= 255 for p in parts):
            return parts
    except ValueError:
        pass
    raise GanforgeError(f"background '{value}' is not a colour: use white, black, grey, #rrggbb or r,g,b")


def convert(picture, size: int, channels: int = 3, background=(255, 255, 255), square: str = "crop",
            max_pixels: int = MAX_PIXELS, min_side: int | None = None):
    """A PIL image as ``channels x size x size`` uint8 pixels and the conversions it needed
    (names from ``CONVERSIONS``). Raises ``Unusable`` for an image too large or too small."""
    from PIL import Image

    width, height = picture.size
    if width * height > max_pixels:
        raise Unusable(f"too large: {width:,} x {height:,} pixels (more than {max_pixels:,})")
    min_side = max(1, size // SMALL_FRACTION) if min_side is None else min_side
    if min(width, height) < min_side:
        raise Unusable(f"too small: {width} x {height} pixels (a side under {min_side})")
    notes = []
    if width != height:
        notes.append("non-square")
    if min(width, height) < size:
        notes.append("upscaled")
    if picture.format == "JPEG" and square != "stretch":  # decode at a reduced scale: far less work
        picture.draft(picture.mode, (size, size))
    picture.load()
    picture, converted = normalize_mode(picture, channels, background)
    notes += converted
    picture = square_up(picture, size, square, background)
    pixels = np.asarray(picture, dtype=np.uint8)
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return np.ascontiguousarray(pixels), notes


def normalize_mode(picture, channels: int = 3, background=(255, 255, 255)):
    """A loaded PIL image in mode ``RGB`` (3 channels) or ``L`` (1), and the conversions it
    needed: 16-bit scaled to 8, palette and CMYK to RGB, transparency composited onto
    ``background``, grey to colour or colour to grey."""
    from PIL import Image

    notes = []
    mode = picture.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        pixels = np.asarray(picture, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or (mode == "I" and pixels.max(initial=0) > 255) else 255.0
        picture = Image.fromarray(np.clip(pixels / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
        notes.append("16-bit" if peak > 255 else "other mode")
    elif mode == "P":
        notes.append("palette")
        picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
    elif mode == "CMYK":
        notes.append("CMYK")
        picture = picture.convert("RGB")
    elif mode not in ("RGB", "RGBA", "L", "LA", "1", "PA", "La", "RGBa"):
        notes.append("other mode")
        picture = picture.convert("RGBA" if "A" in mode else "RGB")
    if "transparency" in picture.info and picture.mode in ("L", "RGB"):
        picture = picture.convert("RGBA")
    if picture.mode in ("LA", "PA", "La", "RGBa", "RGBA"):
        picture = picture.convert("RGBA")
        if picture.getchannel("A").getextrema()[0] < 255:
            notes.append("transparency")
        plate = Image.new("RGBA", picture.size, tuple(background) + (255,))
        picture = Image.alpha_composite(plate, picture).convert("RGB")
    if channels == 3 and picture.mode in ("L", "1"):
        notes.append("grey")
        picture = picture.convert("RGB")
    elif channels == 1 and picture.mode != "L":
        if picture.mode == "RGB":
            notes.append("colour")
        picture = picture.convert("L")
    return picture, notes


def square_up(picture, size: int, square: str, background):
    """``size x size``: by ``crop`` (short side to size, centre kept), ``pad`` (long side to
    size, the rest ``background``) or ``stretch``."""
    from PIL import Image

    width, height = picture.size
    resample = Image.Resampling.LANCZOS
    if square == "stretch" or width == height:
        return picture.resize((size, size), resample) if picture.size != (size, size) else picture
    if square == "crop":
        scale = size / min(width, height)
        w, h = max(size, round(width * scale)), max(size, round(height * scale))
        resized = picture.resize((w, h), resample)
        left, top = (w - size) // 2, (h - size) // 2
        return resized.crop((left, top, left + size, top + size))
    if square == "pad":
        scale = size / max(width, height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        fill = tuple(background) if picture.mode == "RGB" else round(sum(background) / 3)
        canvas = Image.new(picture.mode, (size, size), fill)
        canvas.paste(picture.resize((w, h), resample), ((size - w) // 2, (size - h) // 2))
        return canvas
    raise GanforgeError(f"square '{square}' is not one of {', '.join(SQUARE)}")


@contextlib.contextmanager
def opened(path, max_pixels: int = MAX_PIXELS):
    """The picture in ``path``, opened lazily (only its header read) without Pillow's own size
    limit, which callers check themselves before decoding; every failure to decode it, inside
    the block too, is raised as ``Unusable`` with the reason."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the size is checked by the caller
        bound, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(path) as picture:
                Image.MAX_IMAGE_PIXELS = bound
                yield picture
        except Unusable:
            raise
        except UnidentifiedImageError:
            raise Unusable("not an image: Pillow cannot identify it") from None
        except Image.DecompressionBombError:
            raise Unusable(f"too large: more than {max_pixels:,} pixels") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            kind = "truncated" if "truncat" in message.lower() else "unreadable"
            raise Unusable(f"{kind}: {message[:160]}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = bound


def read_file(path, size: int, channels: int = 3, background=(255, 255, 255), square: str = "crop",
              max_pixels: int = MAX_PIXELS):
    """One file through ``convert``; ``Unusable`` with the reason when it cannot be used."""
    with opened(path, max_pixels) as picture:
        return convert(picture, size, channels, background, square, max_pixels)


def read_pair(source, size: int, channels: int = 3, background=(255, 255, 255), square: str = "crop",
              max_pixels: int = MAX_PIXELS):
    """An input and its target as one ``2C x size x size`` array (A's channels, then B's) and
    the conversions either needed. ``source`` is ``(path,)``: one file holding A and B side by
    side, A on the left (the pix2pix layout); or ``(path_a, path_b)``: two files."""
    if len(source) == 2:
        (a, notes_a), (b, notes_b) = (read_file(path, size, channels, background, square, max_pixels)
                                      for path in source)
        return np.concatenate([a, b]), sorted(set(notes_a) | set(notes_b))
    with opened(source[0], max_pixels) as picture:
        width, height = picture.size
        if width * height > max_pixels:
            raise Unusable(f"too large: {width:,} x {height:,} pixels (more than {max_pixels:,})")
        picture.load()
        (a, notes_a), (b, notes_b) = (convert(half, size, channels, background, square, max_pixels)
                                      for half in halves(picture))
    return np.concatenate([a, b]), sorted(set(notes_a) | set(notes_b))


def halves(picture):
    """The left and right halves of a picture that holds two side by side (A|B); ``Unusable``
    when it is too narrow to hold two."""
    width, height = picture.size
    if width < 2:
        raise Unusable(f"too small: {width} x {height} pixels (no two halves side by side)")
    half = width // 2
    return picture.crop((0, 0, half, height)), picture.crop((half, 0, 2 * half, height))


def read_image(path, channels: int, size: int):
    """An image file as C x size x size in [-1, 1], converted as a prepared store converts it
    (``picture_tensor``)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return picture_tensor(im, channels, size)
    except (OSError, Unusable) as exc:
        raise GanforgeError(f"cannot read image '{path}': {' '.join(str(exc).split())}") from None


def picture_tensor(picture, channels: int, size: int):
    """A PIL image as C x size x size in [-1, 1]: transparency composited onto white, then grey
    (1 channel) or RGB (3), resized on its short side and center-cropped
    (``ganforge.data.prepared.convert``)."""
    import torch

    pixels, _ = convert(picture, size, channels, min_side=1)
    return torch.from_numpy(pixels).float().div(127.5).sub(1.0)
