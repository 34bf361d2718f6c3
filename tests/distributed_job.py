"""Run under torchrun by tests/test_distributed.py (a file of its own, not a test module).

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/distributed_job.py MODE OUT [MODE OUT ...]

recipes: train every built-in GAN for two steps; each process writes a checksum of
         every network it ended with (OUT/NAME/rank-R.json), so the test can check that
         all processes hold the same weights; then train each run of OUT/runs.json
         ({"name": keywords of ganforge.train}) into OUT/NAME, for the test to compare with
         the same run in one process. One launch for all of them: starting processes is
         what two-process tests spend their time on.
fail:    train the MLP GAN with process 1 failing at its third step (last: it ends the job;
         OUT.started holds when it began).
"""

import json
import os
import sys
import time
from pathlib import Path

import torch

import ganforge
from ganforge import engine

TINY_DCGAN = {"g_width": 8, "d_width": 8, "latent_dim": 16}
RUNS = {
    "gan": ("gan", {"hidden": 32, "latent_dim": 16}),
    "dcgan": ("dcgan", TINY_DCGAN),
    "dcgan-wgan-gp": ("dcgan", {**TINY_DCGAN, "loss": "wgan-gp", "real_label": 1.0}),
    "lsgan": ("lsgan", TINY_DCGAN),
    "cgan": ("cgan", TINY_DCGAN),
    "acgan": ("acgan", TINY_DCGAN),
    "sgan": ("sgan", TINY_DCGAN),
    "cyclegan": ("cyclegan", {"g_width": 4, "d_width": 4}),
    "discogan": ("discogan", {"g_width": 4, "d_width": 4}),
    "stackgan": ("stackgan", {"g_width": 8, "d_width": 8, "latent_dim": 8}),
    "r3gan": ("r3gan", {"g_width": 4, "d_width": 4, "max_width": 8, "group_size": 4, "latent_dim": 8}),
}


def record_final_weights(out_name):
    """Wrap the engine's loop so each process writes what its networks ended with."""
    original = engine.Trainer.loop

    def loop(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        sums = {name: [float(p.detach().double().sum()) for p in net.parameters()]
                for name, net in self.recipe.built.items()}
        Path(out_name(), f"rank-{self.process.rank}.json").write_text(json.dumps(sums))
        return result

    engine.Trainer.loop = loop


def main(*args):
    for mode, out in zip(args[::2], args[1::2]):
        run(mode, Path(out))


def run(mode, out):
    if mode == "recipes":
        current = {}
        record_final_weights(lambda: current["dir"])
        for name, (recipe, params) in RUNS.items():
            current["dir"] = out / name
            ganforge.train(recipe, steps=2, batch_size=4, out=out / name, params=params, device="cpu",
                           sample_every=2, quiet=True)
        runs = out / "runs.json"
        for name, keywords in (json.loads(runs.read_text()) if runs.exists() else {}).items():
            current["dir"] = out / name
            ganforge.train(**keywords, out=out / name)
    elif mode == "fail":
        from ganforge.hooks.manager import get

        recipe_cls = get("gans", "gan")
        original = recipe_cls.train_step
        calls = {"n": 0}

        def train_step(self, images, labels):
            calls["n"] += 1
            if calls["n"] == 3 and torch.distributed.get_rank() == 1:
                raise RuntimeError("process 1 fails on purpose")
            return original(self, images, labels)

        recipe_cls.train_step = train_step
        if torch.distributed.is_initialized() and torch.distributed.get_rank() == 0:
            out.with_suffix(".started").write_text(str(time.time()))
        ganforge.train("gan", steps=1000, batch_size=8, out=out, params={"hidden": 16, "latent_dim": 8},
                       device="cpu", checkpoint_every=2, log_every=1, quiet=True)


if __name__ == "__main__":
    import faulthandler

    faulthandler.dump_traceback_later(float(os.environ.get("JOB_TIMEOUT", "240")), exit=True)  # never hang a test
    main(*sys.argv[1:])
