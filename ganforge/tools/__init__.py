"""What users do with a trained generator besides sampling: latent walks, arithmetic and
inversion (``latent``), HTML reports and run comparisons (``report``), and inference
latency tables (``bench``, the ``ganforge bench`` command)."""
