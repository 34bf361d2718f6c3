"""Train a small DCGAN from Python, then sample from it: the CLI's API in a few lines.

    python examples/train_and_sample.py
"""

import ganforge

run = ganforge.train("dcgan", steps=300, out="runs/example-dcgan", params={"upsampler": "resize-conv"})
print("trained", run.step, "steps; last losses:", run.last_metrics)

G = ganforge.load_generator(run.run_dir / "G.ckpt")
print("inputs:", G.signature, "output range:", G.output_range)
images = G.generate(16, seed=0)  # 16 x 1 x 28 x 28 tensor
ganforge.sample(run.run_dir, 64, out="runs/example-dcgan/grid.png", seed=0)
print("grid written to runs/example-dcgan/grid.png")
