"""Learning curves from run folders: one panel per team, runs grouped by (env, algo) with spread.

Runs that differ only in their seed form one group, drawn as the mean over the group with a
band from the lowest to the highest run; training values are smoothed with a moving average,
evaluation values are drawn as points joined by dashes. Besides the returns, the environment's
episode statistics (``env/<name>`` in metrics.csv: box locks, time hidden, ...) get a figure of
their own, where the stages of emergent behaviour show. A run of a two-team game also gets the
paper's first figure: both teams' return in one panel, with the spans where each stage flag
(``stage/<name>``, :mod:`marl.stages`) held shaded and labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marl.config import read_yaml_mapping
from marl.files import save_figure
from marl.metrics import read_metrics
from marl.run_folder import RunFolder
from marl.stages import STAGE_LABELS, STAGE_PREFIX, STAGES

TRAIN_PREFIX = "episode_return/"
EVAL_PREFIX = "eval/return/"
STAT_PREFIX = "env/"
EVAL_STAT_PREFIX = "eval/env/"


@dataclass
class RunCurves:
    """The columns of one run's metrics.csv plus the labels that group it."""

    folder: RunFolder
    group: str
    seed: int | None
    columns: dict[str, np.ndarray]

    def teams(self) -> list[str]:
        """Teams with a training or evaluation return column, in column order."""
        teams: list[str] = []
        for key in self.columns:
            for prefix in (TRAIN_PREFIX, EVAL_PREFIX):
                if key.startswith(prefix) and key[len(prefix) :] not in teams:
                    teams.append(key[len(prefix) :])
        return teams

    def curve(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) where ``key`` has a value."""
        values = self.columns.get(key)
        if values is None:
            return np.empty(0), np.empty(0)
        keep = np.isfinite(values)
        return self.columns["steps"][keep], values[keep]


def load_curves(folder: RunFolder) -> RunCurves:
    """Read a run's metrics and the env/algo/seed of its config."""
    config = read_yaml_mapping(folder.config) if folder.config.is_file() else {}
    group = f"{config.get('env', folder.root.name)} {config.get('algo', '')}".strip()
    seed = config.get("seed")
    return RunCurves(folder, group, seed if isinstance(seed, int) else None, read_metrics(folder.metrics))


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average that keeps the length (shorter windows at the start)."""
    if window <= 1 or values.size == 0:
        return values
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def group_band(curves: Sequence[tuple[np.ndarray, np.ndarray]], points: int = 200) -> tuple[np.ndarray, ...]:
    """Mean, lowest and highest of several curves on a shared step grid (their common range)."""
    usable = [(x, y) for x, y in curves if x.size > 0]
    if len(usable) == 1:
        x, y = usable[0]
        return x, y, y, y
    start = max(x[0] for x, _ in usable)
    stop = min(x[-1] for x, _ in usable)
    if stop <= start:
        stop = start
    grid = np.linspace(start, stop, points if stop > start else 1)
    stacked = np.stack([np.interp(grid, x, y) for x, y in usable])
    return grid, stacked.mean(axis=0), stacked.min(axis=0), stacked.max(axis=0)


@dataclass(frozen=True)
class Panel:
    """One subplot: the training column, the evaluation column (if any), title and y label."""

    title: str
    train_key: str
    eval_key: str | None
    ylabel: str


def statistic_names(runs: Sequence[RunCurves]) -> list[str]:
    """Names of the environment's episode statistics logged in training (``env/<name>``)."""
    names: list[str] = []
    for run in runs:
        names.extend(
            key[len(STAT_PREFIX) :]
            for key in run.columns
            if key.startswith(STAT_PREFIX) and key[len(STAT_PREFIX) :] not in names
        )
    return names


def draw_panels(
    runs: Sequence[RunCurves],
    panels: Sequence[Panel],
    path: str | Path,
    smooth: int = 5,
    title: str | None = None,
    columns: int = 3,
) -> Path:
    """Draw each panel for every group of runs (mean, and a min-max band over several runs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[RunCurves]] = {}
    for run in runs:
        groups.setdefault(run.group, []).append(run)
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.0 * rows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    for axis, panel in zip(axes.flat, panels):
        for index, (group, members) in enumerate(groups.items()):
            color = colors[index % len(colors)]
            suffix = f" ({len(members)} runs)" if len(members) > 1 else ""
            train = [run.curve(panel.train_key) for run in members]
            train = [(x, moving_average(y, smooth)) for x, y in train if x.size]
            if train:
                grid, mean, low, high = group_band(train)
                axis.plot(grid, mean, color=color, marker="o" if grid.size == 1 else None, label=f"{group}{suffix}")
                if len(train) > 1:
                    axis.fill_between(grid, low, high, color=color, alpha=0.2, linewidth=0)
            evaluation = [run.curve(panel.eval_key) for run in members] if panel.eval_key else []
            evaluation = [(x, y) for x, y in evaluation if x.size]
            if evaluation:
                grid, mean, low, high = group_band(evaluation, points=50)
                axis.plot(
                    grid,
                    mean,
                    color=color,
                    linestyle="--",
                    marker="o",
                    markersize=3,
                    label=f"{group} evaluation{suffix}",
                )
                if len(evaluation) > 1:
                    axis.fill_between(grid, low, high, color=color, alpha=0.1, linewidth=0)
        axis.set_title(panel.title)
        axis.set_xlabel("environment steps")
        axis.set_ylabel(panel.ylabel)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)


def plot_learning_curves(
    runs: Sequence[RunCurves], path: str | Path, smooth: int = 5, title: str | None = None
) -> Path:
    """Every team's return against environment steps, one panel per team, into a PNG at ``path``."""
    teams: list[str] = []
    for run in runs:
        teams.extend(team for team in run.teams() if team not in teams)
    if not teams:
        raise ValueError("no episode returns in these runs yet: " + ", ".join(str(run.folder.root) for run in runs))
    panels = [Panel(f"return: {team}", TRAIN_PREFIX + team, EVAL_PREFIX + team, "episode return") for team in teams]
    return draw_panels(runs, panels, path, smooth, title, columns=len(panels))


def plot_episode_statistics(
    runs: Sequence[RunCurves], path: str | Path, smooth: int = 5, title: str | None = None
) -> Path | None:
    """The environment's episode statistics over training (box locks, time hidden, ...); None if none."""
    names = statistic_names(runs)
    if not names:
        return None
    panels = [Panel(name, STAT_PREFIX + name, EVAL_STAT_PREFIX + name, "mean per episode") for name in names]
    return draw_panels(runs, panels, path, smooth, title)


def stage_spans(run: RunCurves) -> dict[str, list[tuple[float, float]]]:
    """For each stage flag logged, the step ranges where it held: from an evaluation where it is
    set to the next evaluation where it is not (or the last one)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for name in STAGES:
        steps, flags = run.curve(STAGE_PREFIX + name)
        ranges: list[tuple[float, float]] = []
        start = None
        for step, flag in zip(steps, flags):
            if flag >= 0.5 and start is None:
                start = float(step)
            elif flag < 0.5 and start is not None:
                ranges.append((start, float(step)))
                start = None
        if start is not None:
            ranges.append((start, float(steps[-1])))
        if ranges:
            spans[name] = ranges
    return spans


def plot_emergence(run: RunCurves, path: str | Path, smooth: int = 5, title: str | None = None) -> Path | None:
    """Both teams' return per episode over training in one panel, with the stages shaded where
    their flags held and labelled where they began (as the paper's first figure); None unless
    the run is a two-team game with training returns."""
    teams = [team for team in run.teams() if run.curve(TRAIN_PREFIX + team)[0].size]
    if len(teams) != 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9.0, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, team in enumerate(teams):
        steps, values = run.curve(TRAIN_PREFIX + team)
        axis.plot(steps, moving_average(values, smooth), color=colors[index], label=f"{team} reward per episode")
        eval_steps, eval_values = run.curve(EVAL_PREFIX + team)
        if eval_steps.size:
            axis.plot(
                eval_steps,
                eval_values,
                color=colors[index],
                linestyle="--",
                marker="o",
                markersize=3,
                label=f"{team} evaluation",
            )
    stage_colors = plt.get_cmap("tab10")
    for index, (name, ranges) in enumerate(stage_spans(run).items()):
        color = stage_colors(STAGES.index(name) + 4)
        for number, (start, stop) in enumerate(ranges):
            axis.axvspan(
                start,
                max(stop, start),
                color=color,
                alpha=0.15,
                linewidth=0,
                label=STAGE_LABELS[name] if number == 0 else None,
            )
            axis.axvline(start, color=color, linestyle=":", linewidth=1)
        axis.annotate(
            STAGE_LABELS[name],
            xy=(ranges[0][0], 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12 - 11 * index),
            textcoords="offset points",
            fontsize="small",
            color=color,
        )
    axis.set_xlabel("environment steps")
    axis.set_ylabel("reward per episode")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small", loc="lower left")
    axis.set_title(title or f"{run.group}: both teams over training, stages shaded")
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)
