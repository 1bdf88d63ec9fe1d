"""A report over many runs: final returns per environment, algorithm and team, with intervals.

The *final return* of a run, for one team, is the mean of its last ``last`` evaluation
returns (the ``eval/return/<team>`` column of ``metrics.csv``; each point is already the mean
over that evaluation's episodes). Runs are grouped by the ``env`` and ``algo`` of their
``config.yaml``; every team of a group is one row. Each row gives the mean, median and
interquartile mean over the group's runs, each with a 95% stratified bootstrap interval
(:mod:`marl.statistics`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marl.config import read_yaml_mapping
from marl.errors import UsageError
from marl.files import atomic_write_text, save_figure
from marl.metrics import read_metrics
from marl.run_folder import RunFolder
from marl.run_index import EVAL_PREFIX, find_runs
from marl.statistics import AGGREGATES, Estimate, performance_profile, pointwise_bootstrap, stratified_bootstrap

#: Evaluation points averaged into a run's final return unless ``--last`` says otherwise.
DEFAULT_LAST_EVALUATIONS = 3
#: How deep below each folder given on the command line runs are looked for.
SEARCH_DEPTH = 8


@dataclass
class RunResult:
    """One run's evaluation curves, read from its folder."""

    path: Path
    env: str
    algo: str
    seed: int | None
    #: team -> (steps, evaluation returns), in step order.
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    #: The run's config.yaml as plain data.
    config: dict[str, Any] = field(default_factory=dict)

    def final_return(self, team: str, last: int) -> float | None:
        """The mean of the last ``last`` evaluation returns of ``team``; None without any."""
        steps, returns = self.curves.get(team, (np.empty(0), np.empty(0)))
        return float(np.mean(returns[-last:])) if returns.size else None


@dataclass
class GroupRow:
    """The statistics of one team of one environment and algorithm."""

    env: str
    algo: str
    team: str
    runs: list[RunResult]
    final_returns: np.ndarray
    estimates: dict[str, Estimate] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``env algo`` as figures and tables name the group."""
        return f"{self.env} {self.algo}"


def read_run(folder: RunFolder) -> RunResult:
    """Read a run's config and its evaluation curves; a run that cannot be read is a UsageError."""
    config = read_yaml_mapping(folder.config)
    for key in ("env", "algo"):
        if not isinstance(config.get(key), str):
            raise UsageError(f"{folder.config} has no {key}; it is not a config.yaml that marl train wrote")
    columns = read_metrics(folder.metrics)
    curves = {}
    steps = columns.get("steps", np.empty(0))
    for key, values in columns.items():
        if key.startswith(EVAL_PREFIX):
            keep = np.isfinite(values)
            order = np.argsort(steps[keep], kind="stable")
            curves[key[len(EVAL_PREFIX) :]] = (steps[keep][order], values[keep][order])
    seed = config.get("seed")
    return RunResult(
        folder.root, config["env"], config["algo"], seed if isinstance(seed, int) else None, curves, config
    )


#: Config fields that differ between the seeds of one experiment by design.
PER_RUN_FIELDS = frozenset({"seed"})


def flat_settings(config: Any, prefix: str = "") -> dict[str, Any]:
    """A config's values by dotted key (``algo_config.learning_rate``), lists kept whole."""
    if not isinstance(config, dict):
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        flat.update(flat_settings(value, f"{prefix}{key}."))
    return {key.rstrip("."): value for key, value in flat.items()}


def differing_settings(runs: Sequence[RunResult]) -> list[str]:
    """Config keys, other than the seed, whose values are not the same in every run."""
    settings = [flat_settings(run.config) for run in runs]
    keys = sorted(set().union(*settings) - PER_RUN_FIELDS) if settings else []
    return [key for key in keys if len({repr(setting.get(key)) for setting in settings}) > 1]


def collect_runs(paths: Sequence[str | Path]) -> list[RunResult]:
    """Every run at or below ``paths`` (each counted once); a path without runs is a UsageError."""
    folders: dict[Path, RunFolder] = {}
    for path in map(Path, paths):
        if not path.exists():
            raise UsageError(f"{path} does not exist; give run folders or folders that hold them")
        if not path.is_dir():
            raise UsageError(f"{path} is a file; give run folders or folders that hold them")
        found = find_runs(path, depth=SEARCH_DEPTH)
        if not found:
            raise UsageError(
                f"no runs under {path} (a run folder has a config.yaml); "
                f"marl train ENV --seeds 0 1 2 --out {path} makes some"
            )
        for folder in found:
            folders.setdefault(folder.root.resolve(), folder)
    return [read_run(folder) for folder in folders.values()]


def group_rows(
    runs: Sequence[RunResult], last: int = DEFAULT_LAST_EVALUATIONS, resamples: int = 10_000, seed: int = 0
) -> list[GroupRow]:
    """One row per environment, algorithm and team, with the statistics of its runs' final returns.

    Runs without an evaluation of a team do not count for that team's row.
    """
    if last < 1:
        raise UsageError(f"--last must be >= 1 (evaluation points per final return), got {last}")
    members: dict[tuple[str, str, str], list[tuple[RunResult, float]]] = {}
    for run in runs:
        for team in run.curves:
            value = run.final_return(team, last)
            if value is not None:
                members.setdefault((run.env, run.algo, team), []).append((run, value))
    rows = []
    for (env, algo, team), pairs in sorted(members.items()):
        pairs.sort(key=lambda pair: str(pair[0].path))
        scores = np.array([value for _, value in pairs])
        row = GroupRow(env, algo, team, [run for run, _ in pairs], scores)
        for name, statistic in AGGREGATES.items():
            row.estimates[name] = stratified_bootstrap([scores], statistic, resamples=resamples, seed=seed)
        rows.append(row)
    return rows


def format_estimate(estimate: Estimate) -> str:
    """``value [low, high]``, or just the value when there is no interval."""
    if math.isnan(estimate.low):
        return f"{estimate.value:.4g}"
    return f"{estimate.value:.4g} [{estimate.low:.4g}, {estimate.high:.4g}]"


def format_table(rows: Sequence[GroupRow]) -> str:
    """A table of the rows: group, team, runs, then mean, median and IQM with 95% intervals."""
    header = ("env", "algo", "team", "runs", "mean [95% CI]", "median [95% CI]", "IQM [95% CI]")
    cells = [
        (
            row.env,
            row.algo,
            row.team,
            str(len(row.runs)),
            *(format_estimate(row.estimates[name]) for name in AGGREGATES),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *cells]
    )


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def report_data(rows: Sequence[GroupRow], last: int) -> dict[str, Any]:
    """The report as plain data (what ``report.json`` holds)."""
    return {
        "final_return": f"mean of each run's last {last} evaluation returns (eval/return/<team>)",
        "confidence": 0.95,
        "interval": "stratified percentile bootstrap over runs",
        "groups": [
            {
                "env": row.env,
                "algo": row.algo,
                "team": row.team,
                "runs": len(row.runs),
                **{
                    name: {
                        "value": row.estimates[name].value,
                        "low": _finite_or_none(row.estimates[name].low),
                        "high": _finite_or_none(row.estimates[name].high),
                    }
                    for name in AGGREGATES
                },
                "members": [
                    {"path": str(run.path), "seed": run.seed, "final_return": float(value)}
                    for run, value in zip(row.runs, row.final_returns)
                ],
            }
            for row in rows
        ],
    }


def write_report_files(rows: Sequence[GroupRow], last: int, out: Path) -> list[Path]:
    """Write ``report.json`` and ``report.csv`` (one line per group and team) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / "report.json", out / "report.csv"
    atomic_write_text(json_path, json.dumps(report_data(rows, last), indent=2) + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["env", "algo", "team", "runs", *(f"{name}{suffix}" for name in AGGREGATES for suffix in ("", "_low", "_high"))]
    )
    for row in rows:
        figures = []
        for name in AGGREGATES:
            estimate = row.estimates[name]
            figures += [
                repr(estimate.value),
                *("" if math.isnan(bound) else repr(bound) for bound in (estimate.low, estimate.high)),
            ]
        writer.writerow([row.env, row.algo, row.team, len(row.runs), *figures])
    atomic_write_text(csv_path, buffer.getvalue())
    return [json_path, csv_path]


def common_grid(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The evaluation steps of all curves that lie within every curve's range."""
    start = max(steps[0] for steps, _ in curves)
    stop = min(steps[-1] for steps, _ in curves)
    steps = np.unique(np.concatenate([steps for steps, _ in curves]))
    return steps[(steps >= start) & (steps <= stop)]


def panels_of(rows: Sequence[GroupRow]) -> dict[tuple[str, str], list[GroupRow]]:
    """Rows by (environment, team): one subplot each, one line per algorithm."""
    panels: dict[tuple[str, str], list[GroupRow]] = {}
    for row in rows:
        panels.setdefault((row.env, row.team), []).append(row)
    return panels


def _figure(count: int, columns: int = 3) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.0 * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, axes


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)


def plot_report_curves(rows: Sequence[GroupRow], path: Path, resamples: int = 2_000) -> Path:
    """Evaluation return against steps: the IQM over runs with its 95% bootstrap band, per algorithm."""
    panels = panels_of(rows)
    figure, axes = _figure(len(panels))
    for axis, ((env, team), members) in zip(axes.flat, panels.items()):
        for row in members:
            curves = [run.curves[team] for run in row.runs]
            grid = common_grid(curves)
            if grid.size == 0:
                continue
            stacked = np.stack([np.interp(grid, steps, values) for steps, values in curves])
            value, low, high = pointwise_bootstrap(stacked, resamples=resamples)
            (line,) = axis.plot(
                grid, value, marker="o" if grid.size == 1 else None, label=f"{row.algo} (IQM of {len(row.runs)} runs)"
            )
            if len(row.runs) > 1:
                axis.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        axis.set_title(f"{env}: {team}")
        axis.set_xlabel("environment steps")
        axis.set_ylabel("evaluation return")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    return _save(figure, path)


def plot_performance_profile(rows: Sequence[GroupRow], path: Path, points: int = 200) -> Path:
    """For each threshold, the fraction of runs whose final return is above it, per algorithm."""
    panels = panels_of(rows)
    figure, axes = _figure(len(panels))
    for axis, ((env, team), members) in zip(axes.flat, panels.items()):
        scores = np.concatenate([row.final_returns for row in members])
        low, high = float(scores.min()), float(scores.max())
        margin = 0.05 * (high - low) if high > low else max(1.0, abs(low) * 0.05)
        thresholds = np.linspace(low - margin, high + margin, points)
        for row in members:
            axis.step(
                thresholds,
                performance_profile(row.final_returns, thresholds),
                where="post",
                label=f"{row.algo} ({len(row.runs)} runs)",
            )
        axis.set_title(f"{env}: {team}")
        axis.set_xlabel("final return threshold")
        axis.set_ylabel("fraction of runs above")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    return _save(figure, path)
