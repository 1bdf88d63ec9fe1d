"""``marl train --logger``: every sink receives the rows of metrics.csv, read back from its own files.

W&B runs offline (its files in the run folder), MLflow logs to an SQLite store in the test's
folder (MLflow's file store cannot hold both ``episode_return`` and ``episode_return/agent``);
nothing leaves the machine. Old configs with ``tensorboard: true|false`` still load
and resume.
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import torch
import yaml
from tiny_flags import tiny_flags

from agents.checkpoint import with_digest
from marl.cli import main
from marl.config import RunConfig
from marl.errors import UsageError
from marl.loggers import check_logger_extras, normalize_loggers
from marl.metrics import read_metrics_rows

#: Two updates of 2 x 32 CartPole steps, an evaluation after each.
TINY = tiny_flags(algo__n_steps=32, algo__n_epochs=1, eval_episodes=1, eval_interval=64, checkpoint_interval=64)
OPTIONAL = [name for name in ("wandb", "mlflow") if importlib.util.find_spec(name) is not None]


def tracked_rows_by_step(csv_path: Path) -> dict[int, dict[str, float]]:
    """What each sink should hold: the CSV's finite metrics, rows of one step merged in order."""
    merged: dict[int, dict[str, float]] = defaultdict(dict)
    for row in read_metrics_rows(csv_path):
        merged[int(row["steps"])].update(
            {key: value for key, value in row.items() if key not in ("steps", "wall_time") and math.isfinite(value)}
        )
    return dict(merged)


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory) -> tuple[Path, str]:
    """A tiny run logging to TensorBoard and every installed optional sink; (run folder, MLflow store)."""
    base = tmp_path_factory.mktemp("loggers")
    store = f"sqlite:///{base / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    for name, value in {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_CONFIG_DIR": str(base / "wandb-config"),
        "WANDB_CACHE_DIR": str(base / "wandb-cache"),
        "WANDB_DATA_DIR": str(base / "wandb-data"),
        "MLFLOW_TRACKING_URI": store,
        "MLFLOW_EXPERIMENT_NAME": "logger-test",
    }.items():
        patch.setenv(name, value)
    try:
        run = base / "run"
        assert (
            main(
                [
                    "train",
                    "CartPole-v1",
                    "--steps",
                    "128",
                    "--out",
                    str(run),
                    "--logger",
                    "tensorboard",
                    *OPTIONAL,
                    *TINY,
                ]
            )
            == 0
        )
    finally:
        patch.undo()
    return run, store


def test_the_config_records_the_loggers_and_tensorboard_holds_the_csv_values(logged_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, _ = logged_run
    assert yaml.safe_load((run / "config.yaml").read_text())["loggers"] == ["csv", "tensorboard", *OPTIONAL]
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    logged: dict[int, dict[str, float]] = defaultdict(dict)
    for tag in events.Tags()["scalars"]:
        for event in events.Scalars(tag):
            logged[event.step][tag] = event.value
    expected = tracked_rows_by_step(run / "metrics.csv")
    assert sorted(logged) == sorted(expected) == [64, 128]
    assert {step: set(row) for step, row in logged.items()} == {step: set(row) for step, row in expected.items()}
    for step, row in expected.items():
        assert logged[step] == pytest.approx(row, rel=1e-6)  # TensorBoard stores float32
    assert "eval/return/agent" in expected[128] and "loss/policy" in expected[128]


def wandb_records(path: Path):
    """The records of a ``.wandb`` file: a LevelDB-style log of 32 KiB blocks after a 7-byte header."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, position, pending = 32768, 7, b""
    while position + 7 <= len(data):
        if block - position % block < 7:
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind == 1:
            yield chunk
        elif kind in (2, 3):
            pending += chunk
        elif kind == 4:
            yield pending + chunk
            pending = b""


def test_wandb_offline_run_holds_the_csv_values(logged_run):
    pytest.importorskip("wandb")
    from wandb.proto import wandb_internal_pb2

    run, _ = logged_run
    [log_file] = (run / "wandb").glob("offline-run-*/run-*.wandb")
    logged: dict[int, dict[str, float]] = defaultdict(dict)
    for raw in wandb_records(log_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            items = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            logged[items.pop("_step")].update({key: value for key, value in items.items() if not key.startswith("_")})
        if record.WhichOneof("record_type") == "run":
            assert record.run.display_name == "run"
    expected = tracked_rows_by_step(run / "metrics.csv")
    assert sorted(logged) == [64, 128]
    for step, row in expected.items():
        assert logged[step] == pytest.approx(row)


def test_mlflow_run_holds_the_csv_values_and_the_config(logged_run):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    run, store = logged_run
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("logger-test")
    [found] = client.search_runs([experiment.experiment_id])
    assert found.info.run_name == "run" and found.info.status == "FINISHED"
    assert found.data.params["algo"] == "ppo" and found.data.params["algo_config.n_steps"] == "32"
    expected = tracked_rows_by_step(run / "metrics.csv")
    assert set(found.data.metrics) == set(expected[64]) | set(expected[128])
    for key in found.data.metrics:
        history = [(metric.step, metric.value) for metric in client.get_metric_history(found.info.run_id, key)]
        assert [step for step, _ in sorted(history)] == [step for step, row in sorted(expected.items()) if key in row]
        assert [value for _, value in sorted(history)] == pytest.approx(
            [row[key] for _, row in sorted(expected.items()) if key in row]
        )


def test_logger_csv_alone_writes_no_tensorboard_events(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "CartPole-v1", "--steps", "64", "--out", str(run), "--logger", "csv", *TINY]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["loggers"] == ["csv"]
    assert not list((run / "tensorboard").glob("events.*"))
    assert len(read_metrics_rows(run / "metrics.csv")) >= 2


def test_a_missing_extra_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb now fails as if it were not installed
    run = tmp_path / "run"
    code = main(["train", "CartPole-v1", "--out", str(run), "--logger", "wandb", *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "pip install 'marl-arena[wandb]'" in err[0]
    assert not run.exists()
    with pytest.raises(UsageError, match=r"marl-arena\[wandb\]"):
        check_logger_extras(["csv", "wandb"])


def test_loggers_are_checked_and_ordered_and_the_old_tensorboard_key_still_works():
    assert normalize_loggers(["wandb", "tensorboard", "wandb"]) == ["csv", "tensorboard", "wandb"]
    with pytest.raises(ValueError, match="loggers must be chosen from"):
        normalize_loggers(["tensorbord"])
    assert RunConfig("CartPole-v1").loggers == ["csv", "tensorboard"]
    from marl.algorithms import config_class
    from marl.config import run_config_from_dict

    assert run_config_from_dict({"env": "CartPole-v1", "tensorboard": False}, config_class).loggers == ["csv"]
    assert run_config_from_dict({"env": "CartPole-v1", "tensorboard": True}, config_class).loggers == [
        "csv",
        "tensorboard",
    ]
    old = {"env": "CartPole-v1", "tensorboard": False, "loggers": ["tensorboard", "mlflow"]}
    assert run_config_from_dict(old, config_class).loggers == ["csv", "mlflow"]
    with pytest.raises(UsageError, match="loggers must be chosen from"):
        run_config_from_dict({"env": "CartPole-v1", "loggers": ["neptune"]}, config_class)


def make_old_style(run: Path) -> None:
    """Rewrite a run as marl wrote it before ``loggers``: ``tensorboard: true`` in config and checkpoints."""
    config = yaml.safe_load((run / "config.yaml").read_text())
    del config["loggers"]
    config["tensorboard"] = True
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for path in (run / "checkpoints").glob("*.pt"):
        payload = torch.load(path, weights_only=True)
        payload.pop("digest")
        del payload["run_config"]["loggers"]
        payload["run_config"]["tensorboard"] = True
        torch.save(with_digest(payload), path)


def test_an_old_run_with_the_tensorboard_key_resumes_and_may_change_its_loggers(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "CartPole-v1", "--steps", "64", "--out", str(run), *TINY]) == 0
    make_old_style(run)
    assert main(["train", "--resume", str(run), "--steps", "128", "--no-progress"]) == 0
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["loggers"] == ["csv", "tensorboard"] and "tensorboard" not in config
    assert main(["train", "--resume", str(run), "--steps", "192", "--no-progress", "--logger", "csv"]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["loggers"] == ["csv"]
    assert max(row["steps"] for row in read_metrics_rows(run / "metrics.csv")) == 192


class FailingSink:
    """A tracking sink whose server goes away after the first row (and cannot be closed)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, dict[str, float]]] = []

    def log(self, steps: int, metrics: dict[str, float]) -> None:
        if self.rows:
            raise ConnectionError("server closed the connection\nsecond line")
        self.rows.append((steps, dict(metrics)))

    def close(self) -> None:
        raise TimeoutError("no answer")


def test_a_failing_sink_is_dropped_with_one_warning_and_the_csv_goes_on(tmp_path, capsys):
    from marl.metrics import MetricsLogger

    sink = FailingSink()
    logger = MetricsLogger(tmp_path / "metrics.csv", [sink])
    for step in (1, 2, 3):
        logger.log(step, {"loss": step / 2, "nan": float("nan")})
    assert sink.rows == [(1, {"loss": 0.5})]  # bookkeeping columns and NaN are not sent
    closing = FailingSink()
    logger.sinks.append(closing)
    logger.close()
    warnings = capsys.readouterr().err.strip().splitlines()
    kept = f"{tmp_path / 'metrics.csv'} keeps every row"
    assert warnings == [
        f"marl: warning: FailingSink stopped logging: server closed the connection; {kept}",
        f"marl: warning: FailingSink did not close: no answer; {kept}",
    ]
    assert [row["loss"] for row in read_metrics_rows(tmp_path / "metrics.csv")] == [0.5, 1.0, 1.5]


def test_a_sink_that_cannot_start_is_one_line_that_says_how_to_go_on(tmp_path, capsys, monkeypatch):
    wandb = pytest.importorskip("wandb")
    # W&B reads its settings once per process (each marl command is a process of its own): start afresh.
    wandb.teardown()
    for name in ("CONFIG", "CACHE", "DATA"):
        monkeypatch.setenv(f"WANDB_{name}_DIR", str(tmp_path / f"wandb-{name.lower()}"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_MODE", "sideways")  # not a mode W&B knows: its settings refuse it
    run = tmp_path / "run"
    code = main(["train", "CartPole-v1", "--steps", "64", "--out", str(run), "--logger", "wandb", *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "W&B could not start a run" in err[0] and "run the same command with --overwrite" in err[0]
    assert not (run / "checkpoints" / "latest.pt").exists()
    wandb.teardown()
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert (
        main(["train", "CartPole-v1", "--steps", "64", "--out", str(run), "--logger", "wandb", "--overwrite", *TINY])
        == 0
    )
    assert list((run / "wandb").glob("offline-run-*/run-*.wandb"))


def test_seed_runs_pass_the_logger_choice_to_each_child():
    from marl.cli import build_parser
    from marl.commands.train import child_arguments

    args = build_parser().parse_args(["train", "CartPole-v1", "--seeds", "0", "1", "--logger", "csv", "mlflow"])
    arguments = child_arguments(args, 1, Path("out/seed_1"), progress=False)
    assert arguments[arguments.index("--logger") : arguments.index("--logger") + 3] == ["--logger", "csv", "mlflow"]
    assert build_parser().parse_args(arguments).logger == ["csv", "mlflow"]
