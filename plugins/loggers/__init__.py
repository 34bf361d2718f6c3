"""Built-in experiment loggers."""

from ganforge.plugin import hookimpl


@hookimpl
def register_loggers(register):
    register("jsonl", "ganforge.builtins.loggers.jsonl:JsonlLogger",
             "metrics.jsonl in the run directory, one JSON line per logging step (always written)")
    register("tensorboard", "ganforge.builtins.loggers.tensorboard:TensorBoardLogger",
             "TensorBoard event files in RUN/tensorboard: losses, learning rates, evaluation, sample grids, "
             "configuration (pip install 'ganforge[tensorboard]')")
    register("mlflow", "ganforge.builtins.loggers.mlflow:MLflowLogger",
             "MLflow run in a local file store, RUN/mlruns: metrics, sample grids as artifacts, configuration as "
             "parameters (pip install 'ganforge[mlflow]')")
