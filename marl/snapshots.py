"""Periodic snapshots of a run's checkpoint: ``checkpoints/step_<steps>.pt``, kept for cross-play.

``latest.pt`` and ``best.pt`` are overwritten as training goes on; a run with
``snapshot_interval`` > 0 also keeps a copy every that many environment steps, so that the
hiders of one point in training can be played against the seekers of another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from marl.run_folder import RunFolder

SNAPSHOT_PATTERN = re.compile(r"^step_(\d{10})\.pt$")


@dataclass(frozen=True)
class Snapshot:
    """One kept checkpoint and the environment steps it was trained for."""

    steps: int
    path: Path


def snapshot_path(folder: RunFolder, steps: int) -> Path:
    """Where the snapshot taken at ``steps`` is written."""
    return folder.checkpoints / f"step_{steps:010d}.pt"


def list_snapshots(folder: RunFolder) -> list[Snapshot]:
    """The run's snapshots in order of steps (files of other names are ignored)."""
    if not folder.checkpoints.is_dir():
        return []
    found = []
    for path in folder.checkpoints.iterdir():
        match = SNAPSHOT_PATTERN.match(path.name)
        if match and path.is_file():
            found.append(Snapshot(int(match.group(1)), path))
    return sorted(found, key=lambda snapshot: snapshot.steps)
