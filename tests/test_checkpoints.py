"""Checkpoints: atomic writes, safe loading, one-line errors for bad files."""

import os
import pickle
import signal
import time

import pytest
import torch
from safetensors.torch import save_file

import ganforge
from ganforge.artifacts import checkpoint
from ganforge.errors import CheckpointError

from support.cli import cli

def keep_saving(path, report) -> None:
    """In a forked child: rewrite a 16 MB checkpoint forever, reporting each finished save."""
    torch.set_num_threads(1)  # no OpenMP pool in a forked child: ATen runs its loops inline
    i = 0
    while True:
        i += 1
        checkpoint.save(path, {"w": torch.full((4_000_000,), float(i))}, {"kind": "test", "i": i})
        os.write(report, f"{i}\n".encode())


@pytest.mark.system
def test_process_killed_while_saving_leaves_previous_checkpoint_loadable(tmp_path):
    """SIGKILL a real process that keeps rewriting a 16 MB checkpoint, at several moments (a
    forked child of this process: it starts at once, with torch already imported)."""
    path = tmp_path / "G.ckpt"
    for attempt in range(6):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                os.close(read)
                keep_saving(path, write)
            finally:
                os._exit(1)
        os.close(write)
        lines = os.fdopen(read)
        done = 0
        while done < 2:  # at least two complete saves, so a write is in flight when we kill
            done = int(lines.readline())
        time.sleep(0.003 * attempt)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        lines.close()
        tensors, meta = checkpoint.load(path)
        assert meta["i"] >= done
        assert torch.equal(tensors["w"], torch.full((4_000_000,), float(meta["i"])))


def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "x.ckpt"
    checkpoint.save(path, {"w": torch.ones(3)}, {"kind": "test"})

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        checkpoint.save(path, {"w": torch.zeros(3)}, {"kind": "test"})
    assert torch.equal(checkpoint.load(path)[0]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["x.ckpt"]  # no temporary file left behind


def test_optimizer_state_round_trips_exactly(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.5, 0.9))
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors = {}
    skeleton = checkpoint.pack(opt.state_dict(), "opt", tensors)
    checkpoint.save(tmp_path / "s.ckpt", tensors, {"kind": "test", "opt": skeleton})
    loaded, meta = checkpoint.load(tmp_path / "s.ckpt")
    restored = checkpoint.unpack(meta["opt"], loaded)
    original = opt.state_dict()
    assert restored["param_groups"] == original["param_groups"]
    assert set(restored["state"]) == {0, 1}  # integer keys survive JSON
    for k in original["state"]:
        for name, value in original["state"][k].items():
            assert torch.equal(restored["state"][k][name], value)
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    fresh.load_state_dict(restored)


def _bad_files(tmp_path, good):
    data = good.read_bytes()
    (tmp_path / "truncated.ckpt").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.ckpt").write_bytes(os.urandom(4096))
    (tmp_path / "empty.ckpt").write_bytes(b"")
    save_file({"w": torch.ones(2)}, tmp_path / "foreign.ckpt")
    torch.save({"w": torch.ones(2)}, tmp_path / "torchsave.ckpt")
    (tmp_path / "pickle.ckpt").write_bytes(pickle.dumps({"w": 1}))
    return {
        "truncated.ckpt": "not a readable ganforge checkpoint",
        "garbage.ckpt": "not a readable ganforge checkpoint",
        "empty.ckpt": "not a readable ganforge checkpoint",
        "foreign.ckpt": "a safetensors file but not a ganforge checkpoint",
        "torchsave.ckpt": "not a readable ganforge checkpoint",
        "pickle.ckpt": "not a readable ganforge checkpoint",
        "missing.ckpt": "does not exist",
    }


@pytest.mark.e2e
def test_bad_checkpoints_give_one_line_errors(tmp_path, tiny_dcgan_run):
    for name, message in _bad_files(tmp_path, tiny_dcgan_run / "G.ckpt").items():
        with pytest.raises(CheckpointError, match=message):
            ganforge.load_generator(tmp_path / name)
        result = cli("sample", str(tmp_path / name), "-o", str(tmp_path / "x.png"))
        assert result.returncode == 1, name
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.e2e
def test_wrong_kind_of_checkpoint_is_named(tiny_dcgan_run):
    with pytest.raises(CheckpointError, match="holds a network checkpoint, expected generator"):
        ganforge.load_generator(tiny_dcgan_run / "D.ckpt")


@pytest.mark.e2e
def test_generator_checkpoint_describes_itself(tiny_dcgan_run):
    _, meta = checkpoint.load(tiny_dcgan_run / "G.ckpt")
    assert meta["recipe"] == "dcgan" and meta["network"] == "dcgan-generator"
    assert meta["network_kwargs"]["latent_dim"] == 16
    assert meta["signature"] == [{"name": "z", "shape": [16], "dtype": "float32", "distribution": "normal"}]
    assert meta["output_range"] == [-1.0, 1.0]
    assert meta["versions"]["ganforge"] == ganforge.__version__
    # every plugin the generator is made of, the upsampler inside its network included
    assert meta["versions"]["plugins"] == {"ganforge.builtins.gans": ganforge.__version__,
                                           "ganforge.builtins.networks": ganforge.__version__,
                                           "ganforge.builtins.upsamplers": ganforge.__version__}
    assert {(c["kind"], c["name"]) for c in meta["components"]} == {
        ("gans", "dcgan"), ("networks", "dcgan-generator"), ("upsamplers", "transposed-conv")}


def test_atomic_writes_get_ordinary_file_permissions(tmp_path):
    import os

    from ganforge.artifacts.checkpoint import atomic_write

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o644
