"""Runs and artifacts: safetensors checkpoints (``checkpoint``), the run directory's layout
(``rundir``), bounds on untrusted files (``limits``), loading a generator from a checkpoint
or an exported artifact (``loading``) and exporting one, verified against PyTorch (``export``).
"""

from ganforge._moved import package_getattr

__getattr__ = package_getattr(__name__)  # names of the module ganforge.artifacts was before core v3
