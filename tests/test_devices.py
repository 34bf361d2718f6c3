"""One device path: a misspelled or unavailable --device is one Error: line in every command."""

import pytest

from support.cli import cli

FIXTURE = "tests/fixtures/release-7f62249/dcgan"


def commands(tmp_path):
    image = tmp_path / "a.png"
    from PIL import Image

    Image.new("L", (28, 28)).save(image)
    return {
        "train": ["train", "dcgan", "--steps", "1", "--out", str(tmp_path / "run")],
        "sample": ["sample", FIXTURE, "-o", str(tmp_path / "s.png")],
        "eval": ["eval", FIXTURE, "-n", "10"],
        "bench": ["bench", FIXTURE, "--batch-sizes", "1"],
        "export": ["export", FIXTURE, "-o", str(tmp_path / "G.onnx")],
        "translate": ["translate", FIXTURE, str(image), "-o", str(tmp_path / "t.png")],
        "interpolate": ["interpolate", FIXTURE, "-o", str(tmp_path / "i.png")],
    }


@pytest.mark.parametrize("device, says", [("bogus", "unknown device 'bogus'"),
                                          ("cuda:7", "device 'cuda:7' was asked for but")])
@pytest.mark.parametrize("command", ["train", "sample", "eval", "bench", "export", "translate", "interpolate"])
def test_a_bad_device_is_one_error_line_in_every_command(command, device, says, tmp_path):
    result = cli(*commands(tmp_path)[command], "--device", device)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
