"""How good a generator is: FID, KID, IS and precision/recall (``metrics``) and the digit
classifier that ships with ganforge (``digits``)."""

from ganforge._moved import package_getattr

__getattr__ = package_getattr(__name__)  # names of the module ganforge.evaluation was before core v3
