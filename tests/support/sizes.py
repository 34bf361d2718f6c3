"""Network sizes that train in milliseconds: what the tests train."""

TINY_DCGAN = {"g_width": 8, "d_width": 8, "latent_dim": 16}
TINY_GAN = {"hidden": 32, "latent_dim": 16}
TINY_R3GAN = {"g_width": 4, "d_width": 4, "max_width": 8, "group_size": 4, "latent_dim": 8}
