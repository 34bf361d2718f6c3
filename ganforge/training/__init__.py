"""Training: the settings (declared once), planning a run, the engine and its parts
(batches, averages, state, stopping, progress, run lock), distributed runs and the
``--nproc`` launcher."""
