"""Metrics: a CSV file (one row per logged step), copied to the tracking sinks of :mod:`marl.loggers`.

Metric names can appear late (a team's return exists only once an episode ends), so the CSV
header is the union of every name seen; when a new name arrives the file is rewritten
atomically with the wider header, otherwise rows are appended.
"""

from __future__ import annotations

import csv
import io
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marl.errors import UsageError
from marl.files import atomic_write_text
from marl.loggers import BOOKKEEPING_COLUMNS, MetricsSink, finite_metrics, first_line

LEADING_COLUMNS = BOOKKEEPING_COLUMNS


def numeric_items(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite-or-NaN numeric entries of ``metrics`` as floats (others are dropped)."""
    result = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            result[key] = float(value)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            result[key] = float(value)
        elif hasattr(value, "item") and getattr(value, "shape", None) == ():
            result[key] = float(value.item())
    return result


def read_metrics_rows(path: str | Path) -> list[dict[str, float]]:
    """Rows of a metrics CSV as dicts of floats; empty cells and a torn last line are skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            for raw in reader:
                row = {}
                for key, text in raw.items():
                    if key is None or not isinstance(text, str) or text == "":
                        continue
                    try:
                        row[key] = float(text)
                    except ValueError:
                        continue
                if "steps" in row:
                    rows.append(row)
    except (csv.Error, UnicodeDecodeError) as error:
        raise UsageError(
            f"{path} is not a readable metrics file ({str(error).splitlines()[0]}); move it away to start a fresh one"
        ) from None
    return rows


def read_metrics(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a metrics CSV as float arrays, NaN where a row lacks the value."""
    rows = read_metrics_rows(path)
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    return {key: np.array([row.get(key, math.nan) for row in rows], dtype=float) for key in columns}


class CSVMetrics:
    """A metrics CSV that widens its header as new metric names appear."""

    def __init__(self, path: str | Path, rows: list[dict[str, float]] | None = None) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, float]] = list(rows or [])
        self.columns: list[str] = list(LEADING_COLUMNS)
        for row in self.rows:
            self._widen(row)
        self._rewrite()

    def _widen(self, row: Mapping[str, float]) -> bool:
        new = [key for key in row if key not in self.columns]
        self.columns.extend(new)
        return bool(new)

    def _format_row(self, row: Mapping[str, float]) -> list[str]:
        return ["" if key not in row else repr(float(row[key])) for key in self.columns]

    def _rewrite(self) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(self._format_row(row))
        atomic_write_text(self.path, buffer.getvalue())

    def append(self, row: Mapping[str, float]) -> None:
        """Add one row; rewrites the file if it brings new columns, else appends a line."""
        row = dict(row)
        self.rows.append(row)
        if self._widen(row):
            self._rewrite()
            return
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow(self._format_row(row))


class MetricsLogger:
    """Sends every logged dict to the CSV file and to the tracking sinks (:mod:`marl.loggers`).

    A sink that fails (an unreachable tracking server) is dropped with a one-line warning;
    training and the CSV go on.

    ``resume_steps`` continues an existing run: CSV rows logged after that step (by a run
    that went on past its last checkpoint) are dropped (TensorBoard purges those events itself).
    """

    def __init__(
        self,
        csv_path: str | Path,
        sinks: Sequence[MetricsSink] = (),
        resume_steps: int | None = None,
    ) -> None:
        rows: list[dict[str, float]] = []
        self.elapsed_before = 0.0
        if resume_steps is not None:
            rows = [row for row in read_metrics_rows(csv_path) if row["steps"] <= resume_steps]
            if rows:
                self.elapsed_before = max(row.get("wall_time", 0.0) for row in rows)
        self.csv = CSVMetrics(csv_path, rows)
        self.started = time.perf_counter()
        self.sinks = list(sinks)

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, including before a resume."""
        return self.elapsed_before + time.perf_counter() - self.started

    def log(self, steps: int, metrics: Mapping[str, Any]) -> dict[str, float]:
        """Record ``metrics`` at ``steps``; returns the row written."""
        row = {"steps": float(steps), "wall_time": round(self.elapsed(), 3)}
        row.update({key: value for key, value in numeric_items(metrics).items() if key not in row})
        self.csv.append(row)
        if self.sinks:
            tracked = finite_metrics(row)
            for sink in list(self.sinks):
                try:
                    sink.log(int(steps), tracked)
                except Exception as error:  # a tracking server that went away must not stop training
                    self.sinks.remove(sink)
                    self.warn(sink, "stopped logging", error)
        return row

    def warn(self, sink: MetricsSink, what: str, error: Exception) -> None:
        """One line on stderr about a failed sink; the CSV has everything."""
        print(
            f"marl: warning: {type(sink).__name__} {what}: {first_line(error)}; {self.csv.path} keeps every row",
            file=sys.stderr,
        )

    def close(self) -> None:
        """Flush and close every sink (each once); a sink that fails to close is reported, not raised."""
        sinks, self.sinks = self.sinks, []
        for sink in sinks:
            try:
                sink.close()
            except Exception as error:  # the run and its checkpoints are saved; only the sink's tail is lost
                self.warn(sink, "did not close", error)
