"""A user's own image folder: prepared once, bad files found before step 1, conversions
stated, and batches from the store (in memory or memory-mapped, mirrored or not) the same
from any step."""

import json
from pathlib import Path
import os

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.data import prepared
from ganforge.data.pictures import read_file, Unusable
from ganforge.errors import GanforgeError
from ganforge.training.batches import Batches

from support.cli import cli
from support.picture_files import every_kind, good_images, noise, png_header_only
from support.sizes import TINY_DCGAN


def prepare(folder, size=32, **options):
    return prepared.read_manifest(prepared.prepare_images(folder, size, progress=None, workers=1, **options))


def test_every_kind_of_unusable_file_is_listed_with_its_reason_and_conversions_are_counted(tmp_path):
    kinds = every_kind(tmp_path / "folder")
    manifest = prepare(tmp_path / "folder")
    reasons = {p["file"]: p["reason"] for p in manifest["problems"]}
    assert set(reasons) == {"truncated.png", "notes.jpg", "bomb.png", "thumbnail.png"}
    for name, reason in reasons.items():
        assert reason.startswith(kinds[name]), (name, reason)
    assert "30,000 x 30,000" in reasons["bomb.png"]
    assert manifest["found"] == 17 and manifest["images"] == 13
    for conversion in ("transparency", "16-bit", "CMYK", "palette", "non-square"):
        assert manifest["converted"][conversion] == 1, conversion
    assert "upscaled" not in manifest["converted"]  # 40 px and more: nothing enlarged
    line = prepared.summary(manifest)
    assert "\n" not in line and line.startswith("13 of 17 images used at 32 px; skipped 4 (")
    assert "1 truncated" in line and "1 CMYK to RGB" in line


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path):
    with pytest.raises(Unusable, match="too large: 30,000 x 30,000"):
        read_file(png_header_only(tmp_path / "bomb.png", 30_000, 30_000), 64)
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own guard is back in place


def test_transparency_is_composited_onto_the_background_white_unless_asked(tmp_path):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[8:24, 8:24] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    white, notes = read_file(tmp_path / "cutout.png", 32)
    black, _ = read_file(tmp_path / "cutout.png", 32, background=prepared.background_colour("black"))
    assert notes == ["transparency"]
    assert white[:, 0, 0].tolist() == [255, 255, 255] and black[:, 0, 0].tolist() == [0, 0, 0]
    assert white[:, 16, 16].tolist() == [255, 0, 0] == black[:, 16, 16].tolist()
    with pytest.raises(GanforgeError, match="not a colour"):
        prepared.background_colour("mauve-ish")


def test_sixteen_bit_grey_keeps_its_range(tmp_path):
    Image.fromarray(np.full((16, 16), 65535, np.uint16)).save(tmp_path / "bright.png")
    Image.fromarray(np.full((16, 16), 32768, np.uint16)).save(tmp_path / "middle.png")
    assert read_file(tmp_path / "bright.png", 16)[0].min() == 255  # not clipped, not wrapped
    assert read_file(tmp_path / "middle.png", 16)[0].max() == 128


def test_non_square_images_become_square_as_chosen(tmp_path):
    banner = np.zeros((40, 200, 3), np.uint8)
    banner[:, 80:120] = 255  # a white bar in the middle
    Image.fromarray(banner).save(tmp_path / "banner.png")
    crop, _ = read_file(tmp_path / "banner.png", 32, square="crop")
    pad, _ = read_file(tmp_path / "banner.png", 32, square="pad", background=(0, 0, 255))
    stretch, _ = read_file(tmp_path / "banner.png", 32, square="stretch")
    assert crop.shape == pad.shape == stretch.shape == (3, 32, 32)
    assert crop[:, 16, 16].min() > 200  # the centre kept, enlarged
    assert pad[:, 0, 16].tolist() == [0, 0, 255]  # the band above the image filled
    assert stretch[:, 16, 2].max() < 40 and stretch[:, 16, 16].min() > 200  # all of it, squeezed


def test_a_store_is_reused_until_a_file_changes_and_a_damaged_one_is_one_line(tmp_path):
    good_images(tmp_path / "folder", 4)
    first = prepared.prepare_images(tmp_path / "folder", 16, progress=None)
    written = (first / prepared.MANIFEST).stat().st_mtime_ns
    assert prepared.prepare_images(tmp_path / "folder", 16, progress=None) == first
    assert (first / prepared.MANIFEST).stat().st_mtime_ns == written  # not prepared twice
    assert prepared.prepare_images(tmp_path / "folder", 16, square="pad", progress=None) != first  # options count
    noise(24, 24, 42).save(tmp_path / "folder" / "good00.png")
    os.utime(tmp_path / "folder" / "good00.png", ns=(1, 1))
    assert prepared.prepare_images(tmp_path / "folder", 16, progress=None) != first  # a changed file counts
    assert prepared.prepare_images(first, 16) == first  # a store is its own dataset root
    np.save(first / prepared.LABELS, np.zeros(3, np.int64))
    with pytest.raises(GanforgeError, match="damaged"):
        prepared.read_manifest(first)


def test_a_failed_preparation_leaves_nothing_half_written(tmp_path, monkeypatch):
    good_images(tmp_path / "folder", 4)
    out = tmp_path / "stores" / "mine"

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "open_memmap", full_disk)
    with pytest.raises(GanforgeError, match="No space left on device"):
        prepared.prepare_images(tmp_path / "folder", 16, out=out, progress=None)
    assert not out.exists() and [p.name for p in (tmp_path / "stores").iterdir()] == ["mine.lock"]


def test_subfolders_are_labels_and_the_store_opens_as_pixels(tmp_path):
    good_images(tmp_path / "folder" / "cats", 3)
    good_images(tmp_path / "folder" / "dogs", 2)
    data = prepared.open_prepared(prepared.prepare_images(tmp_path / "folder", 16, progress=None))
    assert data.num_classes == 2 and data.labels.tolist() == [0, 0, 0, 1, 1]
    image, label = data[4]
    assert image.shape == (3, 16, 16) and image.dtype == torch.float32 and -1 <= image.min() <= image.max() <= 1
    assert label == 1
    assert torch.equal(data.batch([4, 0]), torch.from_numpy(np.array(data.pixels[[4, 0]])))


def _drawn(data, step, count, mirror):
    feed = Batches(data, 4, seed=5, device=torch.device("cpu"), mirror=mirror)
    it = feed.from_step(step)
    return [next(it) for _ in range(count)], feed.kind


@pytest.mark.parametrize("mirror", [False, True])
def test_mapped_and_in_memory_stores_give_the_same_batches_from_any_step(tmp_path, mirror):
    good_images(tmp_path / "folder", 10)
    store = prepared.prepare_images(tmp_path / "folder", 16, progress=None)
    mapped, kind = _drawn(prepared.open_prepared(store, in_memory=False), 0, 7, mirror)
    held, held_kind = _drawn(prepared.open_prepared(store, in_memory=True), 0, 7, mirror)
    assert (kind, held_kind) == ("mapped", "pixels")
    later, _ = _drawn(prepared.open_prepared(store, in_memory=False), 3, 4, mirror)  # as a resumed run starts
    for (a, la), (b, lb) in zip(mapped, held):
        assert torch.equal(a, b) and torch.equal(la, lb)
    for (a, _), (b, _) in zip(mapped[3:], later):
        assert torch.equal(a, b)
    plain, _ = _drawn(prepared.open_prepared(store), 0, 7, False)
    flipped = sum(not torch.equal(a, b) for (a, _), (b, _) in zip(plain, mapped))
    assert (flipped > 0) == mirror


def test_mirror_flips_about_half_of_the_images_of_any_dataset(tmp_path):
    from ganforge.data.datasets import InMemoryDataset

    images = torch.rand(64, 1, 4, 4)
    data = InMemoryDataset(images, torch.zeros(64, dtype=torch.long), 1)
    feed = Batches(data, 64, seed=1, device=torch.device("cpu"), mirror=True)
    batch, _ = next(feed.from_step(0))
    order = feed.order(0)[0]
    flipped = [torch.equal(batch[i], images[j].flip(-1)) for i, j in enumerate(order)]
    kept = [torch.equal(batch[i], images[j]) for i, j in enumerate(order)]
    assert all(f or k for f, k in zip(flipped, kept)) and 16 < sum(flipped) < 48


def test_prepare_command_lists_what_it_skipped_and_strict_exits_non_zero(tmp_path):
    every_kind(tmp_path / "folder")
    done = cli("prepare", tmp_path / "folder", "--size", 32, "--out", tmp_path / "store")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("13 of 17 images used at 32 px; skipped 4")
    assert "skipped bomb.png: too large" in done.stdout and f"store: {tmp_path / 'store'}" in done.stdout
    strict = cli("prepare", tmp_path / "folder", "--size", 32, "--out", tmp_path / "store", "--strict")
    assert strict.returncode == 1 and strict.stderr.startswith("Error: 4 image files")
    missing = cli("prepare", tmp_path / "nowhere")
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_file_options_are_refused_for_a_dataset_that_reads_no_files(tmp_path):
    with pytest.raises(GanforgeError, match="takes no --background"):
        ganforge.train("dcgan", steps=1, background="black", out=tmp_path / "run", params=TINY_DCGAN, quiet=True)


def test_a_folder_of_troublesome_files_trains_to_the_end_with_one_summary_line(tmp_path):
    """The issue's folder: a truncated PNG, a text file named .jpg, a 30,000 x 30,000 PNG, RGBA,
    16-bit, CMYK, palette GIF, 5 x 5 and 200 x 40 images, beside good ones."""
    every_kind(tmp_path / "folder")
    env = {"GANFORGE_CACHE": str(tmp_path / "cache")}
    args = ["train", "dcgan", "--dataset", "image-folder", "--data-root", tmp_path / "folder", "-p", "image_size=32",
            "--steps", 4, "-b", 4, "--mirror", *[f"-p{k}={v}" for k, v in TINY_DCGAN.items()]]
    done = cli(*args, "--out", tmp_path / "run", env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    summary = [line for line in done.stdout.splitlines() if "skipped" in line]
    assert len(summary) == 1 and "images used at 32 px; skipped 4" in summary[0] and "data.json" in summary[0]
    report = json.loads((tmp_path / "run" / "data.json").read_text())
    assert {p["file"] for p in report["problems"]} == {"truncated.png", "notes.jpg", "bomb.png", "thumbnail.png"}
    assert json.loads((tmp_path / "run" / "config.json").read_text())["engine"]["mirror"] is True
    refused = cli(*args, "--strict-data", "--out", tmp_path / "strict", env=env)
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
    assert refused.stderr.startswith("Error: --strict-data: 4 image files cannot be used: bomb.png")
    assert all(name in refused.stderr for name in ("truncated.png", "notes.jpg", "thumbnail.png"))
    assert not (tmp_path / "strict").exists()


@pytest.mark.e2e
def test_resume_from_a_prepared_store_with_mirror_is_bit_exact(tmp_path):
    good_images(tmp_path / "folder", 20)
    common = dict(dataset="image-folder", data_root=str(tmp_path / "folder"), batch_size=8, mirror=True,
                  params={**TINY_DCGAN, "image_size": 32}, quiet=True, checkpoint_every=100)
    ganforge.train("dcgan", steps=6, out=tmp_path / "straight", **common)  # 2 batches an epoch: 3 epochs
    ganforge.train("dcgan", steps=3, out=tmp_path / "split", **common)
    ganforge.train("dcgan", steps=6, resume=tmp_path / "split", quiet=True)
    from ganforge.artifacts import checkpoint

    for net in ("G", "D"):
        a = checkpoint.load(tmp_path / "straight" / f"{net}.ckpt")[0]
        b = checkpoint.load(tmp_path / "split" / f"{net}.ckpt")[0]
        assert all(torch.equal(a[k], b[k]) for k in a), net


def test_evaluation_reads_the_real_images_as_the_run_converted_them(tmp_path):
    from ganforge.evaluation.metrics import real_images

    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[8:24, 8:24] = (255, 0, 0, 255)
    (tmp_path / "folder").mkdir()
    for i in range(3):
        Image.fromarray(rgba, "RGBA").save(tmp_path / "folder" / f"{i}.png")
    white = real_images("image-folder", "train", 16, tmp_path / "folder")
    black = real_images("image-folder", "train", 16, tmp_path / "folder", {"background": "black", "square": "crop"})
    assert white[0, :, 0, 0].tolist() == [1.0, 1.0, 1.0] and black[0, :, 0, 0].tolist() == [-1.0, -1.0, -1.0]
    assert real_images("mnist-5k", "test", None, None, {"background": "black"}).shape[1:] == (1, 28, 28)


@pytest.mark.e2e
def test_strict_data_names_ten_unusable_files_and_where_every_one_is_listed(tmp_path):
    good_images(tmp_path / "folder", 8)
    for i in range(13):
        (tmp_path / "folder" / f"broken-{i:02d}.png").write_bytes(b"not a picture")
    result = cli("train", "dcgan", "--dataset", "image-folder", "--data-root", tmp_path / "folder", "--strict-data",
                 "-p", "image_size=16", "--steps", 1, "--out", tmp_path / "run")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    named = [f"broken-{i:02d}.png" for i in range(13) if f"broken-{i:02d}.png" in result.stderr]
    assert len(named) == 10 and "and 3 more, every one listed in " in result.stderr
    listing = Path(result.stderr.split("every one listed in ")[1].strip())
    assert listing.name == "store.json"
    problems = json.loads(listing.read_text())["problems"]
    assert sorted(p["file"] for p in problems) == [f"broken-{i:02d}.png" for i in range(13)]
