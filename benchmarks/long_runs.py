"""Summaries of long hide-and-seek runs, from their run folders and cross-play files alone.

For each run folder: its training steps and wall time; per block of steps, the number of
evaluations, the median hidden fraction (``eval/env/hidden_fraction``), the mean boxes locked
during preparation (``eval/env/num_box_lock_prep``), how many evaluations flag each stage
(``stage/*``) and the median training rate (``steps_per_second``); and each team's mean action
entropy (``train/<team>/entropy``) over the first and the last million steps. For each
``crossplay.json`` given (``marl crossplay``), the first team's mean return on the diagonal and
the means of its rows and columns. Nothing is trained or played: it reads what the runs wrote.

Usage: ``python benchmarks/long_runs.py training/quadrant_plain training/quadrant_sacl
[--block 2048000] [--until STEPS] [--crossplay FILE.json ...]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from marl.metrics import read_metrics

ENTROPY_WINDOW = 1_024_000


def block_rows(columns: dict[str, np.ndarray], block: int) -> list[dict[str, float]]:
    """One summary per block of ``block`` steps (the last block ends at the run's last step)."""
    steps = columns["steps"]
    evaluated = ~np.isnan(columns.get("eval/env/hidden_fraction", np.full(len(steps), np.nan)))
    rated = ~np.isnan(columns.get("steps_per_second", np.full(len(steps), np.nan)))
    stages = sorted(name for name in columns if name.startswith("stage/"))
    last = float(np.nanmax(steps))
    rows = []
    start = 0.0
    while start < last:
        end = start + block if start + 2 * block <= last else last  # a short tail joins the last block
        inside = (steps > start) & (steps <= end)
        evaluations = inside & evaluated
        row = {
            "from": start,
            "to": end,
            "evaluations": float(evaluations.sum()),
            "hidden_median": float(np.median(columns["eval/env/hidden_fraction"][evaluations]))
            if evaluations.any()
            else float("nan"),
            "box_lock_prep_mean": float(np.mean(columns["eval/env/num_box_lock_prep"][evaluations]))
            if evaluations.any()
            else float("nan"),
            "steps_per_second_median": float(np.median(columns["steps_per_second"][inside & rated]))
            if (inside & rated).any()
            else float("nan"),
        }
        for stage in stages:
            row[stage] = float(np.nansum(columns[stage][evaluations] > 0))
        rows.append(row)
        start = end
    return rows


def entropy_means(columns: dict[str, np.ndarray], window: int = ENTROPY_WINDOW) -> dict[str, tuple[float, float]]:
    """Each team's mean ``train/<team>/entropy`` over the first and the last ``window`` steps."""
    steps = columns["steps"]
    last = float(np.nanmax(steps))
    means = {}
    for name in sorted(columns):
        if not (name.startswith("train/") and name.endswith("/entropy")):
            continue
        values = columns[name]
        first = values[(steps <= window) & ~np.isnan(values)]
        final = values[(steps > last - window) & ~np.isnan(values)]
        means[name.split("/")[1]] = (float(np.mean(first)), float(np.mean(final)))
    return means


def crossplay_summary(report: dict) -> dict[str, list[float] | float]:
    """The first team's return in a ``crossplay.json``: the diagonal's mean, row and column means, and
    the diagonal's mean hidden fraction when the game reports it."""
    returns = np.array(report["matrices"][f"return/{report['row_team']}"])
    summary: dict[str, list[float] | float] = {
        "diagonal_mean": float(np.mean(np.diagonal(returns))),
        "row_means": returns.mean(axis=1).tolist(),
        "column_means": returns.mean(axis=0).tolist(),
    }
    if "env/hidden_fraction" in report["matrices"]:
        summary["diagonal_hidden_mean"] = float(
            np.mean(np.diagonal(np.array(report["matrices"]["env/hidden_fraction"])))
        )
    return summary


def print_run(folder: Path, block: int, until: float | None = None) -> None:
    """The summary of one run folder, up to ``until`` steps when given."""
    columns = read_metrics(folder / "metrics.csv")
    if "steps" not in columns:
        sys.exit(f"{folder / 'metrics.csv'} has no steps column: name a run folder")
    if until is not None:
        kept = columns["steps"] <= until
        columns = {name: values[kept] for name, values in columns.items()}
    wall = float(np.nanmax(columns["wall_time"]))
    print(f"{folder}: {int(np.nanmax(columns['steps'])):,} steps, {wall / 3600:.2f} h of training wall time")
    for row in block_rows(columns, block):
        flags = " ".join(f"{name[6:]}={int(value)}" for name, value in row.items() if name.startswith("stage/"))
        print(
            f"  steps {row['from'] / 1e6:5.2f}M-{row['to'] / 1e6:5.2f}M: {int(row['evaluations']):3d} evaluations, "
            f"hidden median {row['hidden_median']:.2f}, boxes locked in preparation mean "
            f"{row['box_lock_prep_mean']:.2f}, {row['steps_per_second_median']:.0f} steps/s; {flags}"
        )
    for team, (first, final) in entropy_means(columns).items():
        print(f"  {team} entropy: {first:.2f} over the first million steps, {final:.2f} over the last")


def main(argv: list[str] | None = None) -> None:
    """Print the summaries of the named run folders and cross-play files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders")
    parser.add_argument("--block", type=int, default=2_048_000, help="steps per block (default 2,048,000)")
    parser.add_argument("--until", type=float, help="leave out what was logged after this many steps")
    parser.add_argument("--crossplay", nargs="*", type=Path, default=[], help="crossplay.json files")
    args = parser.parse_args(argv)
    for folder in args.runs:
        print_run(folder, args.block, args.until)
    for path in args.crossplay:
        summary = crossplay_summary(json.loads(path.read_text()))
        rounded = {key: np.round(value, 2).tolist() for key, value in summary.items()}
        print(f"{path}: {rounded}")


if __name__ == "__main__":
    main()
