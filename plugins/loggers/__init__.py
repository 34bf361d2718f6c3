"""Built-in experiment loggers."""

from ganforge.hookspecs import hookimpl


@hookimpl
def register_loggers(register):
    register("jsonl", "ganforge.builtins.loggers.jsonl:JsonlLogger",
             "metrics.jsonl in the run directory, one JSON line per logging step (always written)")
    register("tensorboard", "ganforge.builtins.loggers.tensorboard:TensorBoardLogger",
             "TensorBoard event files in RUN/tensorboard: losses, learning rates, evaluation, sample grids, "
             "configuration (pip install 'ganforge[tensorboard]')")
