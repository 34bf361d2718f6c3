"""pix2pix and paired data: the networks, pairs through prepared stores in both layouts, jitter
and mirror under resume, and translation of folders of any size."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge import testing
from ganforge.hooks.manager import get
from ganforge.plugin import held_out_rows, split_pair
from support.cli import cli
from support.picture_files import every_kind, noise

TINY = {"g_width": 4, "d_width": 4}


def test_unet_skips_mirror_the_encoder_and_any_multiple_of_its_size_translates():
    G = get("networks", "unet-generator")(channels=3, image_size=32, width=4, norm="instance")
    assert G.size_multiple == 32 and len(G.down) == 5 and len(G.up) == 5  # 32 px halves 5 times: down to 1 x 1
    G.eval()
    for shape in ((32, 32), (64, 96)):
        out = G(torch.rand(2, 3, *shape) * 2 - 1)
        assert out.shape == (2, 3, *shape) and out.abs().max() <= 1
    paper = get("networks", "unet-generator")(channels=3, image_size=256, width=64)
    assert len(paper.down) == 8 and paper.down[-1][1].out_channels == 512  # C64-C128-C256-C512 x 5
    assert round(sum(p.numel() for p in paper.parameters()) / 1e6, 1) == 54.4  # the paper's G: 54.4 M weights
    assert get("networks", "unet-generator")(channels=1, image_size=28, width=4).size_multiple == 4
    with pytest.raises(ValueError, match="not divisible"):
        get("networks", "unet-generator")(channels=3, image_size=28, width=4, depth=3)


def test_patchgan_sees_70_px_at_256_and_is_sized_by_resolution():
    D = get("networks", "patch-discriminator")
    assert [D.patch_size(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    assert [D.layers_for(s) for s in (64, 128, 256, 512)] == [1, 2, 3, 4]
    net = D(channels=6, width=4, layers=3, norm="batch").eval()  # batch statistics would mix every pixel
    x = torch.zeros(1, 6, 256, 256, requires_grad=True)
    net(x)[0, 0, 15, 15].backward()  # one score's receptive field, measured by its gradient
    rows = torch.nonzero(x.grad[0].abs().sum((0, 2)))
    assert int(rows.max() - rows.min()) + 1 == 70


def test_a_pair_is_split_by_direction_and_held_out_rows_are_every_tenth():
    pairs = torch.cat([torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)], 1)
    a, b = split_pair(pairs, "AtoB")
    assert a.max() == 0 and b.min() == 1
    source, target = split_pair(pairs, "BtoA")
    assert source.min() == 1 and target.max() == 0
    train, test = held_out_rows(25, 10)
    assert test.tolist() == [9, 19] and len(train) == 23
    assert held_out_rows(6, 10)[1].tolist() == [5]


def side_by_side(folder, count, size=(48, 24), start=0):
    """Pair files: A on the left, B (A with its colours inverted) on the right."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        a = np.asarray(noise(size[0] // 2, size[1], i))
        Image.fromarray(np.concatenate([a, 255 - a], 1)).save(folder / f"{i:03d}.png")


def test_pix2pix_refuses_data_that_is_not_paired():
    result = cli("train", "pix2pix", "--dataset", "mnist-5k", "--steps", 1)
    assert result.returncode == 1 and "learns from aligned pairs" in result.stderr and "Traceback" not in result.stderr
    missing = cli("train", "pix2pix", "--dataset", "paired-folder", "--steps", 1)
    assert missing.returncode == 1 and "needs --data-root" in missing.stderr
    wrong = cli("train", "dcgan", "--direction", "BtoA", "--steps", 1)
    assert wrong.returncode == 1 and "takes no --direction (paired-folder does)" in wrong.stderr


@pytest.mark.e2e
def test_side_by_side_pairs_with_every_kind_of_file_train_to_the_end_and_strict_refuses(tmp_path):
    root = tmp_path / "pairs"
    side_by_side(root / "train", 8)
    every_kind(root / "train", good=0)
    side_by_side(root / "test", 3)
    args = ["train", "pix2pix", "--dataset", "paired-folder", "--data-root", root, "-p", "image_size=16",
            "--steps", 3, "-b", 2, "--grid-size", 2, *[f"-p{k}={v}" for k, v in TINY.items()]]
    done = cli(*args, "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    summary = [line for line in done.stdout.splitlines() if "skipped" in line]
    assert len(summary) == 1 and "pairs used at 16 px; skipped 4" in summary[0]
    report = json.loads((tmp_path / "run" / "data.json").read_text())
    assert {p["file"] for p in report["problems"]} == {f"train/{n}" for n in
                                                       ("truncated.png", "notes.jpg", "bomb.png", "thumbnail.png")}
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])["test_l1"] >= 0
    refused = cli(*args, "--strict-data", "--out", tmp_path / "strict")
    assert refused.returncode == 1 and refused.stderr.startswith("Error: --strict-data: 4 image files cannot be used")
    assert not (tmp_path / "strict").exists()


@pytest.mark.e2e
def test_a_and_b_folders_pair_by_name_and_an_a_without_its_b_is_one_line(tmp_path):
    root = tmp_path / "pairs"
    for i in range(6):
        for side, seed in (("A", i), ("B", 100 + i)):
            (root / side / "train").mkdir(parents=True, exist_ok=True)
            noise(20, 20, seed).save(root / side / "train" / f"{i}.{'png' if side == 'A' else 'jpg'}")
    noise(20, 20, 7).save(root / "A" / "train" / "lonely.png")
    done = cli("train", "pix2pix", "--dataset", "paired-folder", "--data-root", root, "-p", "image_size=16",
               "--steps", 2, "-b", 2, "--grid-size", 2, *[f"-p{k}={v}" for k, v in TINY.items()],
               "--direction", "BtoA", "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    summary = [line for line in done.stdout.splitlines() if "skipped" in line]
    assert len(summary) == 1 and "6 of 7 pairs used" in summary[0] and "1 no partner" in summary[0]
    assert any("every 10th pair of train/ is held out as the test split (1 pairs)" in line for line in done.stdout.splitlines())
    data = get("datasets", "paired-folder")(root=root, image_size=16, direction="BtoA")
    assert data.paired and data.channels == 3 and len(data) == 5  # fewer than 10 pairs: the last one is held out
    pixels = np.asarray(Image.open(root / "B" / "train" / "0.jpg").convert("RGB").resize((16, 16), Image.LANCZOS))
    source, _ = split_pair(data[0][0][None], "BtoA")
    assert np.abs((source[0].permute(1, 2, 0).numpy() + 1) * 127.5 - pixels).mean() < 2  # BtoA: B is the input


def test_adversarial_from_trains_l1_alone_first_then_d_and_the_adversarial_term(tmp_path):
    run = ganforge.train("pix2pix", steps=4, batch_size=2, log_every=1, params={**TINY, "adversarial_from": 0.5},
                         out=tmp_path / "run", quiet=True, grid_size=2, sample_every=4, checkpoint_every=4)
    rows = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    trained = [row for row in rows if "l1" in row]
    assert [row["step"] for row in trained] == [1, 2, 3, 4]
    assert ["d_loss" in row for row in trained] == [False, False, True, True]  # D from half the run on


@pytest.mark.parametrize("name", ["adversarial_from", "decay_from"])
def test_fractions_of_training_outside_0_to_1_are_one_line(tmp_path, name):
    done = cli("train", "pix2pix", "-p", f"{name}=1.5", "--steps", 1, "--out", tmp_path / "run")
    assert done.returncode == 1 and done.stderr.strip() == f"Error: '{name}' must be at most 1, got 1.5"
    assert not (tmp_path / "run").exists()


@pytest.mark.e2e
def test_pix2pix_resumes_exactly_with_jitter_and_mirror(tmp_path):
    side_by_side(tmp_path / "pairs" / "train", 12)
    testing.check_resume("pix2pix", {**TINY, "image_size": 16, "jitter": 1.25}, workdir=tmp_path, steps=4,
                         dataset="paired-folder", data_root=str(tmp_path / "pairs"), mirror=True, grid_size=2)


@pytest.mark.e2e
def test_unpaired_folders_go_through_prepared_stores_and_skip_bad_files(tmp_path):
    root = tmp_path / "data"
    for side in "AB":
        every_kind(root / f"train{side}", good=4)
    run = ganforge.train("cyclegan", dataset="unpaired-folder", data_root=root, steps=2, batch_size=2,
                         params={**TINY, "image_size": 16}, out=tmp_path / "run", quiet=True, grid_size=2)
    report = json.loads((run.run_dir / "data.json").read_text())
    assert {p["file"] for p in report["problems"]} >= {"trainA/bomb.png", "trainB/notes.jpg"}
    assert report["images"] == 2 * 10  # of 13 files in each domain, 10 usable at 16 px (5 x 5 is large enough)
    strict = cli("train", "cyclegan", "--dataset", "unpaired-folder", "--data-root", root, "--strict-data",
                 "-p", "image_size=16", "--out", tmp_path / "strict")
    assert strict.returncode == 1 and "--strict-data: 6 image files cannot be used" in strict.stderr


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pix2pix")
    side_by_side(folder / "pairs" / "train", 8, size=(64, 32))
    return ganforge.train("pix2pix", dataset="paired-folder", data_root=folder / "pairs", steps=2, batch_size=2,
                          params={**TINY, "image_size": 32}, out=folder / "run", quiet=True, grid_size=2).run_dir


@pytest.mark.e2e
def test_translate_keeps_every_size_names_bad_files_and_writes_compare_pages(tmp_path, pix2pix_run):
    folder = tmp_path / "in"
    sizes = [(32, 32), (50, 20), (7, 90), (64, 33)] * 3
    (folder / "deeper").mkdir(parents=True)
    for i, (w, h) in enumerate(sizes):
        noise(2 * w, h, i).save(folder / ("deeper" if i % 2 else "") / f"{i}.png")
    (folder / "broken.jpg").write_text("not a picture")
    result = cli("translate", pix2pix_run, folder, "-o", tmp_path / "out", "--compare", "--pairs", "-b", 3)
    assert result.returncode == 0, result.stderr
    assert "translated 12 image(s); skipped 1 (1 not an image" in result.stdout
    for i, (w, h) in enumerate(sizes):
        out = tmp_path / "out" / ("deeper" if i % 2 else "") / f"{i}.png"
        assert Image.open(out).size == (w, h)
        assert Image.open(tmp_path / "out" / "compare" / ("deeper" if i % 2 else "") / f"{i}.png").size == (3 * w + 8, h)
    index = (tmp_path / "out" / "compare" / "index.html").read_text()
    assert index.count("<img") == 12 and "deeper/1.png" in index
    G = ganforge.load_generator(pix2pix_run)
    x = torch.from_numpy(np.asarray(Image.open(folder / "0.png").convert("RGB"))[:, :32].copy()).permute(2, 0, 1)
    expected = G(x[None].float().div(127.5).sub(1)).clamp(-1, 1).add(1).mul(127.5).round().byte()[0]
    written = torch.from_numpy(np.asarray(Image.open(tmp_path / "out" / "0.png"))).permute(2, 0, 1)
    assert (written.int() - expected.int()).abs().max() <= 1
    again = cli("translate", pix2pix_run, folder, "-o", tmp_path / "out")
    assert again.returncode == 1 and "already exists" in again.stderr


@pytest.mark.e2e
def test_onnx_export_of_the_unet_takes_any_multiple_and_translates_as_the_checkpoint_does(tmp_path, pix2pix_run):
    result = ganforge.export(pix2pix_run / "G.ckpt", "onnx", tmp_path / "G.onnx")
    assert result.verified and result.max_abs_error <= 1e-4  # at 32 x 32 and, for the second batch, 64 x 32
    artifact = ganforge.load_generator(tmp_path / "G.onnx")
    assert artifact.meta["dynamic_size"] and artifact.meta["size_multiple"] == 32
    G = ganforge.load_generator(pix2pix_run)
    for shape in ((1, 3, 32, 32), (2, 3, 96, 64)):
        x = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
        assert (artifact(x) - G(x)).abs().max() <= 1e-4
    noise(90, 40, 1).save(tmp_path / "wide.png")
    a = ganforge.translate(tmp_path / "G.onnx", tmp_path / "wide.png", tmp_path / "a.png", progress=None)
    c = ganforge.translate(pix2pix_run, tmp_path / "wide.png", tmp_path / "c.png", progress=None)
    pa, pc = (np.asarray(Image.open(t.written[0])).astype(int) for t in (a, c))
    assert pa.shape == (40, 90, 3) and np.abs(pa - pc).max() <= 1


@pytest.mark.system
def test_aoti_export_of_the_unet_matches_pytorch_at_sizes_it_was_not_verified_at(tmp_path):
    side_by_side(tmp_path / "pairs" / "train", 40, size=(80, 40))
    run = ganforge.train("pix2pix", dataset="paired-folder", data_root=tmp_path / "pairs", steps=20, batch_size=8,
                         params={"g_width": 16, "d_width": 16, "image_size": 32}, out=tmp_path / "run", quiet=True,
                         grid_size=2).run_dir
    result = ganforge.export(run / "G.ckpt", "aoti", tmp_path / "G.pt2", max_batch=4)
    assert result.verified and result.max_abs_error <= 1e-4
    artifact, G = ganforge.load_generator(tmp_path / "G.pt2"), ganforge.load_generator(run)
    for shape in ((2, 3, 64, 96), (1, 3, 256, 256)):  # far from the export's example and its checks
        x = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
        assert (artifact(x) - G(x)).abs().max() <= 1e-4


@pytest.mark.e2e
def test_serve_answers_oip_and_an_uploaded_png_with_translates_pixels(tmp_path, pix2pix_run):
    import io

    from test_serve import in_process

    noise(32, 32, 3).save(tmp_path / "square.png")
    noise(50, 21, 4).save(tmp_path / "odd.png")
    done = ganforge.translate(pix2pix_run, tmp_path, tmp_path / "out", progress=None)
    assert len(done.written) == 2
    with in_process(pix2pix_run) as call:
        for name in ("square.png", "odd.png"):
            status, headers, body = call("/api/translate", (tmp_path / name).read_bytes())
            assert status == 200 and headers["content-type"] == "image/png"
            served = np.asarray(Image.open(io.BytesIO(body))).astype(int)
            assert np.array_equal(served, np.asarray(Image.open(tmp_path / "out" / name)).astype(int))
        pixels = np.asarray(Image.open(tmp_path / "square.png")).astype(np.float32) / 127.5 - 1
        request = {"inputs": [{"name": "image", "shape": [1, 3, 32, 32], "datatype": "FP32",
                               "data": pixels.transpose(2, 0, 1).ravel().tolist()}]}
        status, _, body = call("/v2/models/pix2pix/infer", json.dumps(request).encode())
        assert status == 200
        output = np.asarray(json.loads(body)["outputs"][0]["data"], np.float32).reshape(3, 32, 32)
        as_pixels = np.round((np.clip(output, -1, 1) + 1) * 127.5).astype(int).transpose(1, 2, 0)
        assert np.abs(as_pixels - np.asarray(Image.open(tmp_path / "out" / "square.png")).astype(int)).max() <= 1
        status, _, body = call("/v2/models/pix2pix", method="GET")  # any height and width, as Triton's repository
        assert status == 200 and json.loads(body)["inputs"][0]["shape"] == [-1, 3, -1, -1]
        wide = np.asarray(noise(96, 64, 5)).astype(np.float32) / 127.5 - 1  # another multiple of 32: alone
        noise(96, 64, 5).save(tmp_path / "wide.png")
        ganforge.translate(pix2pix_run, tmp_path / "wide.png", tmp_path / "wide-out.png", progress=None)
        request["inputs"][0].update(shape=[1, 3, 64, 96], data=wide.transpose(2, 0, 1).ravel().tolist())
        status, _, body = call("/v2/models/pix2pix/infer", json.dumps(request).encode())
        assert status == 200 and json.loads(body)["outputs"][0]["shape"] == [1, 3, 64, 96]
        output = np.asarray(json.loads(body)["outputs"][0]["data"], np.float32).reshape(3, 64, 96)
        as_pixels = np.round((np.clip(output, -1, 1) + 1) * 127.5).astype(int).transpose(1, 2, 0)
        assert np.abs(as_pixels - np.asarray(Image.open(tmp_path / "wide-out.png")).astype(int)).max() <= 1
        request["inputs"][0].update(shape=[1, 3, 40, 96], data=[0.0] * 3 * 40 * 96)  # not a multiple of 32
        status, _, body = call("/v2/models/pix2pix/infer", json.dumps(request).encode())
        assert status == 400 and b"multiples of 32" in body
        status, _, body = call("/api/translate", b"this is not an image")
        assert status == 400 and b"not an image" in body
        status, _, body = call("/api/translate", (tmp_path / "odd.png").read_bytes() * 1, method="POST",
                               headers={"content-length": str(10 ** 9)})
        assert status == 413


@pytest.mark.e2e
def test_a_triton_repository_of_the_unet_declares_any_height_and_width(tmp_path, pix2pix_run):
    from tritonclient.grpc import model_config_pb2
    from google.protobuf import text_format

    folder = ganforge.export(pix2pix_run, triton=tmp_path / "repo", max_batch=4)
    config = text_format.Parse((folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    assert list(config.input[0].dims) == [3, -1, -1] and list(config.output[0].dims) == [3, -1, -1]


@pytest.mark.e2e
def test_eval_of_a_paired_run_scores_outputs_against_their_targets(tmp_path):
    run = ganforge.train("pix2pix", steps=2, batch_size=4, out=tmp_path / "run", params=TINY, quiet=True, grid_size=2)
    result = ganforge.evaluate(run.run_dir, n=100)
    figures = result["metrics"]
    assert figures["pairs"] == 100 and 0 < figures["l1"] < 2 and figures["psnr"] > 0 and -1 <= figures["ssim"] <= 1
    assert figures["fid"] > 0 and result["config"]["real"] == "paired-digits/test"
    from ganforge.plugin import split_pair as split

    test = get("datasets", "paired-digits")(split="test")
    inputs, targets = split(test.images[:100])
    G = ganforge.load_generator(run.run_dir)
    assert abs(figures["l1"] - (G(inputs).clamp(-1, 1) - targets).abs().mean().item()) < 1e-5
