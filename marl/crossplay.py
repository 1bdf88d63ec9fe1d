"""Cross-play over checkpoints: the first team of checkpoint i against the others of checkpoint j.

Self-play returns hide progress: when both teams improve, the return stays where it was. A
matrix whose rows are the hiders of successive checkpoints and whose columns are the seekers of
successive checkpoints shows it: down a column, later hiders should do better against the same
seekers; along a row, later seekers should do better against the same hiders. The rows and the
columns may come from two runs (say, trained with and without a curriculum): then the cells
compare the runs' teams at every pair of points in training. Every cell is an ordinary
evaluation (:func:`marl.evaluation.run_episodes`) with the same seeds, and with torch's random
stream seeded the same, so a cell equals a separate evaluation of that pair.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marl.evaluation import EvaluationResult, isolated_random_state, learner_policy, run_episodes, team_policy
from marl.files import atomic_write_text, save_figure
from marl.loading import LoadedRun


@dataclass
class CrossplayResult:
    """The evaluations of every (row checkpoint, column checkpoint) pair."""

    row_team: str
    column_teams: list[str]
    row_steps: list[int]
    column_steps: list[int]
    episodes: int
    seed: int
    row_run: str = ""
    column_run: str = ""
    cells: dict[tuple[int, int], EvaluationResult] = field(default_factory=dict)

    def metric_names(self) -> list[str]:
        """``return/<team>`` for every team, then ``env/<statistic>`` for every statistic reported."""
        names = [f"return/{team}" for team in [self.row_team, *self.column_teams]]
        for result in self.cells.values():
            names.extend(f"env/{name}" for name in sorted(result.stats) if f"env/{name}" not in names)
        return names

    def value(self, row: int, column: int, name: str) -> float:
        """The mean of ``name`` (``return/<team>`` or ``env/<statistic>``) over a cell's episodes."""
        result = self.cells[(row, column)]
        kind, key = name.split("/", 1)
        values = result.returns.get(key) if kind == "return" else result.stats.get(key)
        return float(np.mean(values)) if values else float("nan")

    def matrix(self, name: str) -> np.ndarray:
        """``name`` for every cell: rows are the row team's checkpoints, columns the others'."""
        return np.array(
            [
                [self.value(row, column, name) for column in range(len(self.column_steps))]
                for row in range(len(self.row_steps))
            ]
        )

    def as_json(self) -> dict[str, Any]:
        """Plain data: the teams, the runs, the checkpoints' steps and one matrix per metric."""
        return {
            "row_team": self.row_team,
            "column_teams": self.column_teams,
            "row_run": self.row_run,
            "column_run": self.column_run,
            "row_steps": self.row_steps,
            "column_steps": self.column_steps,
            "episodes": self.episodes,
            "seed": self.seed,
            "matrices": {name: self.matrix(name).tolist() for name in self.metric_names()},
        }


def choose_evenly(items: Sequence[Any], count: int) -> list[Any]:
    """``count`` items spread evenly from the first to the last (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    if count == 1:
        return [items[-1]]
    indices = np.unique(np.round(np.linspace(0, len(items) - 1, count)).astype(int))
    return [items[index] for index in indices]


def play_pair(
    row_run: LoadedRun, column_run: LoadedRun, episodes: int, seed: int, deterministic: bool
) -> EvaluationResult:
    """The row run's first team against the column run's other teams, torch seeded with ``seed``."""
    import torch

    row_team = row_run.env_info.first_team
    rows = learner_policy(row_run.learner, deterministic)
    columns = learner_policy(column_run.learner, deterministic)
    with isolated_random_state():
        torch.manual_seed(seed)
        return run_episodes(row_run.env_factory, team_policy({row_team: rows}, default=columns), episodes, seed=seed)


def crossplay(
    row_runs: Sequence[LoadedRun],
    episodes: int,
    seed: int,
    deterministic: bool = False,
    progress: Callable[[str], None] | None = None,
    column_runs: Sequence[LoadedRun] | None = None,
) -> CrossplayResult:
    """Play the first team of every checkpoint in ``row_runs`` against the other teams of every
    checkpoint in ``column_runs`` (``row_runs`` themselves when not given)."""
    columns = row_runs if column_runs is None else column_runs
    first = row_runs[0].env_info
    result = CrossplayResult(
        first.first_team,
        [team for team in first.teams if team != first.first_team],
        [run.steps for run in row_runs],
        [run.steps for run in columns],
        episodes,
        seed,
        row_run=str(row_runs[0].folder.root),
        column_run=str(columns[0].folder.root),
    )
    for row, row_run in enumerate(row_runs):
        for column, column_run in enumerate(columns):
            if progress is not None:
                progress(
                    f"{result.row_team} of step {row_run.steps} against "
                    f"{', '.join(result.column_teams)} of step {column_run.steps}"
                )
            result.cells[(row, column)] = play_pair(row_run, column_run, episodes, seed, deterministic)
    return result


def write_csv(result: CrossplayResult, path: Path) -> Path:
    """One line per cell: both checkpoints' steps, then every metric's mean."""
    names = result.metric_names()
    lines = [",".join([f"{result.row_team}_steps", "opponent_steps", "episodes", *names])]
    for (row, column), cell in sorted(result.cells.items()):
        values = [repr(result.value(row, column, name)) for name in names]
        steps = [str(result.row_steps[row]), str(result.column_steps[column])]
        lines.append(",".join([*steps, str(cell.episodes), *values]))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def write_json(result: CrossplayResult, path: Path) -> Path:
    """The result's :meth:`CrossplayResult.as_json` as a file."""
    atomic_write_text(path, json.dumps(result.as_json(), indent=1) + "\n")
    return path


def heatmap_metrics(result: CrossplayResult) -> list[str]:
    """What the figure shows: the row team's return, and the time hidden when the game reports it."""
    names = [f"return/{result.row_team}"]
    if "env/hidden_fraction" in result.metric_names():
        names.append("env/hidden_fraction")
    return names


def draw_crossplay(result: CrossplayResult, path: Path) -> Path:
    """One heat map per metric of :func:`heatmap_metrics`, each cell labelled with its value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = heatmap_metrics(result)
    rows, columns = len(result.row_steps), len(result.column_steps)
    figure, axes = plt.subplots(
        1, len(names), figsize=((1.0 * columns + 3.5) * len(names), 0.9 * rows + 3.0), squeeze=False
    )
    opponents = ", ".join(result.column_teams)
    two_runs = result.row_run != result.column_run
    row_label = f"{result.row_team}" + (f" of {Path(result.row_run).name}" if two_runs else "")
    column_label = f"{opponents}" + (f" of {Path(result.column_run).name}" if two_runs else "")
    for axis, name in zip(axes.flat, names):
        values = result.matrix(name)
        image = axis.imshow(values, cmap="viridis", origin="upper")
        figure.colorbar(image, ax=axis, shrink=0.8)
        for row in range(rows):
            for column in range(columns):
                bright = image.norm(values[row, column]) > 0.6  # viridis is light at its top
                axis.text(
                    column,
                    row,
                    f"{values[row, column]:.2f}",
                    ha="center",
                    va="center",
                    color="black" if bright else "white",
                    fontsize="small",
                )
        axis.set_xticks(range(columns), [f"{steps:,}" for steps in result.column_steps], rotation=45, ha="right")
        axis.set_yticks(range(rows), [f"{steps:,}" for steps in result.row_steps])
        axis.set_xlabel(f"{column_label}: checkpoint (steps)")
        axis.set_ylabel(f"{row_label}: checkpoint (steps)")
        axis.set_title(f"{name.split('/', 1)[1]}" + (" return" if name.startswith("return/") else ""))
    figure.suptitle(f"cross-play, {result.episodes} episodes per cell")
    figure.tight_layout()
    return save_figure(figure, path, dpi=100, bbox_inches="tight")
