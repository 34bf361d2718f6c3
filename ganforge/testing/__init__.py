"""The conformance kit: every contract ganforge relies on, as checks a plugin's tests call
(``checks``), also offered as pytest fixtures (``pytest_plugin``, installed with ganforge).

    from ganforge.testing import check_generator, check_loss
    check_generator(MyGenerator(latent_dim=8))
    check_loss(MyLoss())
"""

from ganforge.testing.checks import *  # noqa: F401,F403  (the checks are this package's API)
from ganforge.testing.checks import __all__  # noqa: F401
