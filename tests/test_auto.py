"""--cfg auto (values chosen from the data, the device and the budget: printed, recorded with
their reasons, never replacing what the user set) and the schedules that span a run: the
learning-rate decay of the adversarial recipes and the moving average's ramp-up."""

import json

import pytest
from PIL import Image

import ganforge
from ganforge.training.auto import Facts, engine_rules, small_batch
from ganforge.errors import GanforgeError
from ganforge.training.settings import BY_NAME, GIVEN_AS, SETTINGS, ramped_half_life
from support.cli import cli
from support.sizes import TINY_DCGAN, TINY_R3GAN


def _facts(**changes):
    values = dict(image_size=64, channels=3, images=3786, device="cpu", native_bf16=False, amx=False, minutes=10.0,
                  steps=None)
    return Facts(**{**values, **changes})


def test_precision_follows_what_bf16_pays_on_the_processor():
    assert engine_rules(_facts())["precision"][0] == "fp32"  # no native bf16
    assert engine_rules(_facts(device="cuda", native_bf16=True))["precision"][0] == "bf16"
    value, why = engine_rules(_facts(native_bf16=True, amx=True, bf16_speedup=2.0))["precision"]
    assert value == "bf16" and "AMX" in why and "2.00x" in why
    value, why = engine_rules(_facts(native_bf16=True, bf16_speedup=0.83))["precision"]  # AVX512-BF16, slower
    assert value == "fp32" and "AVX512-BF16" in why and "0.83x" in why
    assert engine_rules(_facts(native_bf16=True))["precision"][0] == "fp32"  # not measured: nothing assumed


@pytest.mark.parametrize("given, recipe, measured", [
    ({}, "dcgan", True),  # the engine's rule decides: measured, and followed
    ({"precision": "bf16"}, "dcgan", False),  # the user chose
    ({}, "r3gan", False),  # the recipe's own rule chose (fp32 on a CPU)
])
def test_bf16_is_measured_only_where_the_engine_s_rule_decides(tmp_path, monkeypatch, given, recipe, measured):
    import torch

    from ganforge.training import auto
    from ganforge.training.planning import plan

    calls = []
    monkeypatch.setattr(auto, "cpu_bf16_units", lambda: ["AVX512-BF16"])
    monkeypatch.setattr(auto, "cpu_bf16_speedup", lambda: calls.append(1) or 1.6)
    planned = plan(recipe, given, out=tmp_path / "run")
    chosen = auto.choose(planned, _Digits(range(4500)), torch.device("cpu"))
    assert len(calls) == int(measured)
    if measured:
        assert planned.engine["precision"] == "bf16" and "1.60x" in chosen["precision"]["why"]
    once = []  # a distributed run: one measurement, agreed on by every process
    if measured:
        auto.choose(plan(recipe, given, out=tmp_path / "again"), _Digits(range(4500)), torch.device("cpu"),
                    once=lambda measure: once.append(measure) or 0.8)
        assert once == [auto.cpu_bf16_speedup]


def test_the_bf16_probe_measures_without_touching_the_run_s_random_state():
    import torch

    from ganforge.devices import cpu_bf16_speedup

    state = torch.random.get_rng_state()
    ratio = cpu_bf16_speedup(rounds=1, steps=1)
    assert 0.05 < ratio < 20 and torch.equal(state, torch.random.get_rng_state())


def test_a_dataset_smaller_than_a_batch_gets_the_largest_batch_that_fits():
    value, why = engine_rules(_facts(images=40, batch_size=64))["batch_size"]
    assert value == 32 and "40 training images" in why
    assert "batch_size" not in engine_rules(_facts(images=64, batch_size=64))  # a whole batch: left alone
    assert small_batch(3, 64) == 2
    assert small_batch(40, 64, world=2) == 32  # splits over two processes
    assert small_batch(12, 64, world=3) is None  # no power of two splits over three with two images each
    assert small_batch(1, 64) is None  # batch norm needs two: the dataset's own error says what to do


class _Digits(list):
    image_size, channels = 28, 1


@pytest.mark.parametrize("given, steps", [
    ({}, 8000),  # the recipe's 2,000 steps at batch 64: the same images at batch 16
    ({"steps": 300}, 300),  # steps the user gave are kept
    ({"minutes": 2.0}, None),  # a budget is a length of its own
])
def test_a_batch_chosen_by_auto_keeps_a_default_run_s_images(tmp_path, given, steps):
    import torch

    from ganforge.training import auto
    from ganforge.training.planning import plan

    planned = plan("r3gan", given, out=tmp_path / "run")
    chosen = auto.choose(planned, _Digits(range(4500)), torch.device("cpu"))
    assert planned.engine["batch_size"] == 16 and chosen["batch_size"]["value"] == 16
    assert planned.engine["steps"] == steps
    assert ("steps" in chosen) == (not given), chosen.get("steps")


@pytest.mark.parametrize("given, ema_images", [
    ({}, 10000),  # pix2pix on image folders: a moving average of G
    ({"ema": 0.99}, 0),  # the user's moving average, given as a decay, is theirs
    ({"ema_images": 0}, 0),  # as is none at all
])
def test_pix2pix_under_auto_keeps_a_moving_average_unless_the_user_gave_one(tmp_path, given, ema_images):
    import torch

    from ganforge.training import auto
    from ganforge.training.planning import plan

    planned = plan("pix2pix", given, out=tmp_path / "run")
    chosen = auto.choose(planned, _Digits(range(250)), torch.device("cpu"))
    assert planned.engine["ema_images"] == ema_images and ("ema_images" in chosen) == (not given)
    assert planned.engine["ema"] == given.get("ema", 0.0)


def test_pix2pix_under_auto_narrows_d_on_a_cpu_only_and_keeps_a_width_the_user_gave(tmp_path):
    import torch

    from ganforge.builtins.gans.pix2pix import Pix2Pix
    from ganforge.training import auto
    from ganforge.training.planning import plan

    assert Pix2Pix.auto_config(_facts())["d_width"][0] == 16
    assert "d_width" not in Pix2Pix.auto_config(_facts(device="cuda"))  # a GPU keeps the recipe's width
    planned = plan("pix2pix", {}, out=tmp_path / "run", params={"d_width": 24})
    chosen = auto.choose(planned, _Digits(range(250)), torch.device("cpu"))
    assert planned.params["d_width"] == 24 and "d_width" not in chosen


def test_dcgan_under_auto_narrows_both_networks_for_a_short_budget_on_a_cpu_at_64_px():
    from ganforge.builtins.gans.dcgan import DCGAN, NARROW_MINUTES

    chosen = DCGAN.auto_config(_facts(minutes=3.0))
    assert chosen["g_width"][0] == chosen["d_width"][0] == 16 and "budget" in chosen["g_width"][1]
    assert DCGAN.auto_config(_facts(minutes=NARROW_MINUTES)) == chosen
    assert DCGAN.auto_config(_facts(minutes=NARROW_MINUTES + 1)) == {}  # a longer budget keeps the recipe's
    assert DCGAN.auto_config(_facts(minutes=None, steps=5000)) == {}  # no budget
    assert DCGAN.auto_config(_facts(minutes=3.0, image_size=28)) == {}  # the digits: no gain measured
    assert DCGAN.auto_config(_facts(minutes=3.0, device="cuda")) == {}


@pytest.mark.parametrize("name", [s.name for s in SETTINGS if s.alternative_to])
def test_a_setting_given_in_another_form_is_refused_beside_it_and_counts_as_chosen(tmp_path, name):
    from ganforge.training.planning import plan

    other = BY_NAME[name].alternative_to
    assert other in BY_NAME and name in GIVEN_AS[other]
    values = {name: 2 if BY_NAME[name].type is int else 0.5, other: 2 if BY_NAME[other].type is int else 0.5}
    with pytest.raises(GanforgeError, match=f"either {other} or {name}, not both"):
        plan("dcgan", values, out=tmp_path / "run")


@pytest.mark.parametrize("name", [s.name for s in SETTINGS if s.alternative_to])
def test_a_setting_given_in_one_form_turns_the_other_off_and_the_command_line_wins_over_a_file(tmp_path, name):
    import json

    from ganforge.builtins.gans.dcgan import DCGAN
    from ganforge.training.config import resolve

    other = BY_NAME[name].alternative_to

    def value(n):
        return 3 if BY_NAME[n].type is int else 0.5

    def off(n):
        return None if BY_NAME[n].optional or BY_NAME[n].default is None else 0

    for in_file, on_line in ((other, name), (name, other)):
        file = tmp_path / f"{in_file}.json"
        file.write_text(json.dumps({in_file: value(in_file)}))
        alone = resolve(DCGAN, {}, {}, file)["engine"]  # the file's form turns the other off
        assert alone[in_file] == value(in_file) and alone[on_line] == off(on_line)
        engine = resolve(DCGAN, {on_line: value(on_line)}, {}, file)["engine"]
        assert engine[on_line] == value(on_line) and engine[in_file] == off(in_file), (in_file, on_line, engine)


def test_r3gan_auto_sizes_follow_the_image_size_and_the_device():
    from ganforge.builtins.gans.r3gan import R3GAN

    small, large = R3GAN.auto_config(_facts(image_size=32)), R3GAN.auto_config(_facts(image_size=64))
    assert small["gamma"][0] < large["gamma"][0]  # the CIFAR-10 (CPU-scaled) and FFHQ-64 gammas
    assert small["batch_size"][0] == large["batch_size"][0] == 16  # a CPU's batch at every size
    gpu = R3GAN.auto_config(_facts(image_size=64, device="cuda"))
    assert "batch_size" not in gpu and "lr" not in gpu and gpu["gamma"][0] == 2.0  # the paper's on a GPU
    for name, (value, why) in small.items():
        assert why and (name in R3GAN.hparams or name in ganforge.show("r3gan")["engine"]), name


def _folder(root, n=8):
    root.mkdir()
    for i in range(n):
        Image.new("RGB", (32, 32), (i * 30, 90, 200 - i * 20)).save(root / f"{i}.png")
    return root


@pytest.mark.e2e
def test_auto_values_are_printed_recorded_and_never_replace_the_users(tmp_path):
    data = _folder(tmp_path / "images")
    sizes = [f"-p{k}={v}" for k, v in TINY_DCGAN.items()]
    common = ["train", "dcgan", "--dataset", "image-folder", "--data-root", data, "--steps", 2, "-b", 4, *sizes]
    shown = cli(*common, "--out", tmp_path / "auto")
    assert shown.returncode == 0, shown.stderr
    config = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert config["engine"]["cfg"] == "auto"  # the default for a folder of images
    assert config["auto"] and all(entry["why"] for entry in config["auto"].values())
    for name, entry in config["auto"].items():  # what was chosen is what the run used
        assert entry["value"] == config["params"].get(name, config["engine"].get(name)), name
        assert f"{name} {entry['value']}" in shown.stdout  # and it was printed at the start
    assert "--cfg auto:" in shown.stdout
    chosen = config["auto"]

    mine = cli(*common, "--precision", "fp32", "-q", "--out", tmp_path / "mine")
    assert mine.returncode == 0, mine.stderr
    config = json.loads((tmp_path / "mine" / "config.json").read_text())
    assert config["engine"]["precision"] == "fp32" and "precision" not in config.get("auto", {})

    plain = cli(*common, "--cfg", "recipe", "-q", "--out", tmp_path / "plain")
    assert plain.returncode == 0, plain.stderr
    assert "auto" not in json.loads((tmp_path / "plain" / "config.json").read_text())

    resumed = ganforge.train("dcgan", resume=tmp_path / "auto", steps=3, quiet=True)
    again = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert resumed.step == 3 and again["auto"] == chosen  # kept, and read back as set


@pytest.mark.e2e
def test_a_folder_smaller_than_a_batch_trains_under_auto_and_is_one_error_line_without(tmp_path):
    data = _folder(tmp_path / "images", n=10)
    sizes = [f"-p{k}={v}" for k, v in TINY_DCGAN.items()]
    common = ["train", "dcgan", "--dataset", "image-folder", "--data-root", data, "--steps", 1, "-q", *sizes]
    done = cli(*common, "--out", tmp_path / "auto")
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert config["engine"]["batch_size"] == 8 and config["auto"]["batch_size"]["value"] == 8
    refused = cli(*common, "--cfg", "recipe", "--out", tmp_path / "recipe")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "fewer than one batch of 64: set a --batch-size of at most 10" in refused.stderr


@pytest.mark.e2e
def test_r3gan_takes_auto_by_default_and_the_user_keeps_a_value_set(tmp_path):
    sizes = {**TINY_R3GAN, "gamma": 0.3}
    run = ganforge.train("r3gan", steps=1, batch_size=4, params=sizes, out=tmp_path / "run", quiet=True)
    config = json.loads((run.run_dir / "config.json").read_text())
    assert config["engine"]["cfg"] == "auto" and config["params"]["gamma"] == 0.3 and "gamma" not in config["auto"]
    assert config["params"]["g_width"] == TINY_R3GAN["g_width"]


def test_the_moving_average_ramps_up_with_the_images_seen():
    assert ramped_half_life(10_000, 0, 64, 0.05) == 0  # a copy at first
    assert ramped_half_life(10_000, 1000, 64, 0.05) == pytest.approx(3200)  # 5 % of 64,000 images
    assert ramped_half_life(10_000, 10_000, 64, 0.05) == 10_000  # then the half-life asked for
    assert ramped_half_life(10_000, 0, 64, 0.0) == 10_000  # no ramp


def test_the_learning_rate_decays_over_the_run_from_decay_from():
    from test_regularization import _recipe

    recipe = _recipe("dcgan", {**TINY_DCGAN, "lr": 0.001, "decay_from": 0.5}, r1=1.0, every=4)
    d_start = recipe.optimizers["D"].param_groups[0]["lr"]
    assert d_start == pytest.approx(0.001 * 4 / 5)  # lazy R1's correction kept under the decay
    for step, factor in ((0, 1.0), (49, 1.0), (75, 0.5), (100, 0.0)):
        recipe.schedule(step, 100)
        assert recipe.optimizers["G"].param_groups[0]["lr"] == pytest.approx(0.001 * factor)
        assert recipe.optimizers["D"].param_groups[0]["lr"] == pytest.approx(d_start * factor)
