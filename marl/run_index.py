"""Finding run folders and summarising each one in a line (for ``marl runs``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from marl.config import read_yaml_mapping
from marl.errors import UsageError
from marl.metrics import read_metrics
from marl.run_folder import RunFolder

TRAIN_PREFIX = "episode_return/"
EVAL_PREFIX = "eval/return/"


@dataclass
class RunSummary:
    """The final figures of one run."""

    path: Path
    env: str
    algo: str
    seed: int | None
    steps_done: int
    steps_total: int | None
    train_returns: dict[str, float] = field(default_factory=dict)
    eval_returns: dict[str, float] = field(default_factory=dict)
    wall_time: float | None = None
    modified: datetime | None = None
    #: Why the run's files could not be read (the row then shows what could be).
    problem: str | None = None


def find_runs(root: str | Path, depth: int = 2) -> list[RunFolder]:
    """Run folders at ``root`` or up to ``depth`` levels below it, sorted by path."""
    root = Path(root)
    found: list[RunFolder] = []
    frontier = [root]
    for _ in range(depth + 1):
        next_frontier = []
        for directory in frontier:
            folder = RunFolder(directory)
            if folder.is_run():
                found.append(folder)
            elif directory.is_dir():
                next_frontier.extend(sorted(child for child in directory.iterdir() if child.is_dir()))
        frontier = next_frontier
    return sorted(found, key=lambda folder: str(folder.root))


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


def summarize_run(folder: RunFolder) -> RunSummary:
    """Read a run's config and metrics into a :class:`RunSummary`; unreadable files are noted, not fatal."""
    problem = None
    try:
        config = read_yaml_mapping(folder.config)
    except UsageError as error:
        config, problem = {}, str(error)
    try:
        columns = read_metrics(folder.metrics)
    except UsageError as error:
        columns, problem = {}, problem or str(error)
    steps = columns.get("steps", np.empty(0))
    summary = RunSummary(
        path=folder.root,
        env=str(config.get("env", "?")),
        algo=str(config.get("algo", "?")),
        seed=config.get("seed") if isinstance(config.get("seed"), int) else None,
        steps_done=int(steps.max()) if steps.size else 0,
        steps_total=config.get("steps") if isinstance(config.get("steps"), int) else None,
        modified=datetime.fromtimestamp(folder.config.stat().st_mtime),
        problem=problem,
    )
    for key, values in columns.items():
        for prefix, target in ((TRAIN_PREFIX, summary.train_returns), (EVAL_PREFIX, summary.eval_returns)):
            if key.startswith(prefix):
                value = _last_finite(values)
                if value is not None:
                    target[key[len(prefix) :]] = value
    if "wall_time" in columns:
        summary.wall_time = _last_finite(columns["wall_time"])
    return summary


def _figures(returns: dict[str, float]) -> str:
    return " ".join(f"{team}={value:.4g}" for team, value in returns.items()) or "-"


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def format_runs(summaries: list[RunSummary]) -> str:
    """A table: run, env, algo, seed, steps done/total, time, last training and evaluation returns."""
    header = ("run", "env", "algo", "seed", "steps", "time", "train return", "eval return")
    rows = [
        (
            str(summary.path),
            summary.env,
            summary.algo,
            "-" if summary.seed is None else str(summary.seed),
            f"{summary.steps_done}/{summary.steps_total if summary.steps_total is not None else '?'}",
            _duration(summary.wall_time),
            _figures(summary.train_returns),
            _figures(summary.eval_returns),
        )
        for summary in summaries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines += [f"{summary.path}: {summary.problem}" for summary in summaries if summary.problem]
    return "\n".join(lines)
