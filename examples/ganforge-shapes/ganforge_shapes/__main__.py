"""python -m ganforge_shapes FOLDER [COUNT]: draw a shapes dataset for --data-root."""

import sys

from ganforge_shapes.dataset import draw_shapes

if len(sys.argv) not in (2, 3):
    sys.exit("usage: python -m ganforge_shapes FOLDER [COUNT]")
folder = draw_shapes(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 256)
print(f"wrote shapes to {folder}/train and {folder}/test")
