"""Cross-play over one run's checkpoints: the first team of checkpoint i against the others of j.

Self-play returns hide progress: when both teams improve, the return stays where it was. A
matrix whose rows are the hiders of successive checkpoints and whose columns are the seekers of
successive checkpoints shows it: down a column, later hiders should do better against the same
seekers; along a row, later seekers should do better against the same hiders. Every cell is
an ordinary evaluation (:func:`marl.evaluation.run_episodes`) with the same seeds, and with
torch's random stream seeded the same, so a cell equals a separate evaluation of that pair.
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
    steps: list[int]
    episodes: int
    seed: int
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
        size = len(self.steps)
        return np.array([[self.value(row, column, name) for column in range(size)] for row in range(size)])

    def as_json(self) -> dict[str, Any]:
        """Plain data: the teams, the checkpoints' steps and one matrix per metric."""
        return {
            "row_team": self.row_team,
            "column_teams": self.column_teams,
            "steps": self.steps,
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
    runs: Sequence[LoadedRun],
    episodes: int,
    seed: int,
    deterministic: bool = False,
    progress: Callable[[str], None] | None = None,
) -> CrossplayResult:
    """Play the first team of every checkpoint in ``runs`` against the other teams of every one."""
    first = runs[0].env_info
    result = CrossplayResult(
        first.first_team,
        [team for team in first.teams if team != first.first_team],
        [run.steps for run in runs],
        episodes,
        seed,
    )
    for row, row_run in enumerate(runs):
        for column, column_run in enumerate(runs):
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
        lines.append(",".join([str(result.steps[row]), str(result.steps[column]), str(cell.episodes), *values]))
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
    size = len(result.steps)
    figure, axes = plt.subplots(
        1, len(names), figsize=((1.0 * size + 3.5) * len(names), 0.9 * size + 3.0), squeeze=False
    )
    labels = [f"{steps:,}" for steps in result.steps]
    opponents = ", ".join(result.column_teams)
    for axis, name in zip(axes.flat, names):
        values = result.matrix(name)
        image = axis.imshow(values, cmap="viridis", origin="upper")
        figure.colorbar(image, ax=axis, shrink=0.8)
        for row in range(size):
            for column in range(size):
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
        axis.set_xticks(range(size), labels, rotation=45, ha="right")
        axis.set_yticks(range(size), labels)
        axis.set_xlabel(f"{opponents}: checkpoint (steps)")
        axis.set_ylabel(f"{result.row_team}: checkpoint (steps)")
        axis.set_title(f"{name.split('/', 1)[1]}" + (" return" if name.startswith("return/") else ""))
    figure.suptitle(f"cross-play, {result.episodes} episodes per cell")
    figure.tight_layout()
    return save_figure(figure, path, dpi=100, bbox_inches="tight")
