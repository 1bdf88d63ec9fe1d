"""Experiment-tracking sinks beside the metrics CSV: TensorBoard, Weights & Biases, MLflow.

``metrics.csv`` is always written (``marl plot``, ``marl report`` and ``marl tune`` read it);
the run config's ``loggers`` list (``marl train --logger ...``) adds the others. Each sink
receives exactly the rows the CSV gets, at the same step, without the ``steps`` and
``wall_time`` columns and without non-finite values. W&B and MLflow are optional extras; a
missing one is reported before any training starts, naming the ``pip install`` that adds it.

W&B and MLflow are configured by their own environment variables (``WANDB_MODE=offline``,
``WANDB_PROJECT``, ``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``, ...). A resumed run
opens a new W&B or MLflow run, named after the run folder and the step it resumes at.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from marl.errors import UsageError

#: Every ``--logger`` choice; ``csv`` is always on.
LOGGER_CHOICES = ("csv", "tensorboard", "wandb", "mlflow")
DEFAULT_LOGGERS = ("csv", "tensorboard")
#: The module each optional sink imports, and the extra of this package that installs it.
OPTIONAL_MODULES = {"wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow")}
#: Project (W&B) and experiment (MLflow) used when their environment variables do not name one.
DEFAULT_PROJECT = "marl-arena"
#: The most parameters one MLflow ``log_batch`` call may carry.
MLFLOW_PARAMS_PER_BATCH = 100
#: Columns of every CSV row that are bookkeeping rather than metrics.
BOOKKEEPING_COLUMNS = ("steps", "wall_time")


def normalize_loggers(names: Sequence[str]) -> list[str]:
    """``names`` checked against :data:`LOGGER_CHOICES`, without repeats, ``csv`` first."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"loggers must be a list of {', '.join(LOGGER_CHOICES)}, got {names!r}")
    unknown = [name for name in names if name not in LOGGER_CHOICES]
    if unknown:
        raise ValueError(f"loggers must be chosen from {', '.join(LOGGER_CHOICES)}, got {unknown[0]!r}")
    result = ["csv"]
    result.extend(name for name in LOGGER_CHOICES[1:] if name in names)
    return result


def check_logger_extras(names: Sequence[str]) -> None:
    """Refuse, before any work, a logger whose optional package is not installed."""
    for name in names:
        if name not in OPTIONAL_MODULES:
            continue
        module, extra = OPTIONAL_MODULES[name]
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"the {name} logger needs the {module} package: pip install 'marl-arena[{extra}]'")


def finite_metrics(row: Mapping[str, float]) -> dict[str, float]:
    """The metrics of a CSV row that a tracking sink receives: finite values, no bookkeeping columns."""
    return {
        key: float(value)
        for key, value in row.items()
        if key not in BOOKKEEPING_COLUMNS and math.isfinite(float(value))
    }


class MetricsSink(Protocol):
    """Where the rows of ``metrics.csv`` are sent as well."""

    def log(self, steps: int, metrics: Mapping[str, float]) -> None:
        """Record finite ``metrics`` at environment step ``steps``."""

    def close(self) -> None:
        """Flush and release the sink."""


class TensorBoardSink:
    """Scalars into ``RUN/tensorboard``; a resume purges events logged after its step."""

    def __init__(self, log_dir: str | Path, resume_steps: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir), purge_step=resume_steps or None)

    def log(self, steps: int, metrics: Mapping[str, float]) -> None:
        """Add each metric as a scalar at ``steps``."""
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, global_step=int(steps))

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.flush()
        self.writer.close()


class WandbSink:
    """A Weights & Biases run named after the run folder, its files in ``RUN/wandb``."""

    def __init__(self, run_dir: str | Path, run_config: Mapping[str, Any], resume_steps: int | None = None) -> None:
        wandb = import_optional("wandb")
        name = Path(run_dir).name + (f" (resumed at step {resume_steps})" if resume_steps else "")
        try:
            self.run = wandb.init(
                project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
                name=name,
                dir=str(run_dir),
                config=dict(run_config),
                job_type="train",
                tags=[str(run_config.get("env")), str(run_config.get("algo"))],
            )
        except Exception as error:  # wandb raises its own types for a missing login, a bad mode, ...
            raise UsageError(
                f"W&B could not start a run: {first_line(error)}; log in with `wandb login` or "
                f"set WANDB_MODE=offline, then {how_to_retry(run_dir, resume_steps)}"
            ) from None

    def log(self, steps: int, metrics: Mapping[str, float]) -> None:
        """Log ``metrics`` at W&B step ``steps`` (rows at the same step are merged)."""
        self.run.log(dict(metrics), step=int(steps))

    def close(self) -> None:
        """Finish the W&B run (offline runs stay in ``RUN/wandb`` for ``wandb sync``)."""
        self.run.finish()


class MLflowSink:
    """An MLflow run named after the run folder, in the experiment ``MLFLOW_EXPERIMENT_NAME``."""

    def __init__(self, run_dir: str | Path, run_config: Mapping[str, Any], resume_steps: int | None = None) -> None:
        import_optional("mlflow")
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        name = Path(run_dir).name + (f" (resumed at step {resume_steps})" if resume_steps else "")
        experiment_name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_PROJECT
        try:
            self.client = MlflowClient()
            experiment = self.client.get_experiment_by_name(experiment_name)
            experiment_id = (
                experiment.experiment_id if experiment is not None else self.client.create_experiment(experiment_name)
            )
            tags = {"env": str(run_config.get("env")), "algo": str(run_config.get("algo"))}
            self.run_id = self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
            params = [Param(key, value) for key, value in flat_params(run_config).items()]
            for start in range(0, len(params), MLFLOW_PARAMS_PER_BATCH):
                self.client.log_batch(self.run_id, params=params[start : start + MLFLOW_PARAMS_PER_BATCH])
        except Exception as error:  # MLflow raises its own types for a bad URI or an unreachable server
            raise UsageError(
                f"MLflow could not start a run: {first_line(error)}; check MLFLOW_TRACKING_URI, then "
                f"{how_to_retry(run_dir, resume_steps)}"
            ) from None

    def log(self, steps: int, metrics: Mapping[str, float]) -> None:
        """Log ``metrics`` in one batch at MLflow step ``steps``."""
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        batch = [Metric(key, value, now, int(steps)) for key, value in metrics.items()]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def close(self) -> None:
        """Mark the MLflow run finished."""
        self.client.set_terminated(self.run_id)


def how_to_retry(run_dir: str | Path, resume_steps: int | None) -> str:
    """What to run again once a sink can start: nothing was trained, only the config was written."""
    if resume_steps:
        return f"resume with marl train --resume {run_dir}"
    return f"run the same command with --overwrite (nothing was trained; {run_dir} holds only its config)"


def import_optional(module: str) -> Any:
    """Import an optional sink's package, or refuse with the ``pip install`` that adds it."""
    check_logger_extras([name for name, (wanted, _) in OPTIONAL_MODULES.items() if wanted == module])
    return importlib.import_module(module)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def flat_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as ``{"algo_config.learning_rate": "0.0003", ...}`` (MLflow params are text)."""
    params: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            params.update(flat_params(value, f"{name}."))
        else:
            params[name] = str(value)[:500]
    return params


def make_sinks(
    names: Sequence[str], run_dir: str | Path, run_config: Mapping[str, Any], resume_steps: int | None = None
) -> list[MetricsSink]:
    """The sinks ``names`` asks for besides the CSV, opened for the run folder ``run_dir``."""
    check_logger_extras(names)
    sinks: list[MetricsSink] = []
    try:
        for name in names:
            if name == "tensorboard":
                sinks.append(TensorBoardSink(Path(run_dir) / "tensorboard", resume_steps))
            elif name == "wandb":
                sinks.append(WandbSink(run_dir, run_config, resume_steps))
            elif name == "mlflow":
                sinks.append(MLflowSink(run_dir, run_config, resume_steps))
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks
