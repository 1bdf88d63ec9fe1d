"""The layout of a run folder, creating it and opening an existing one.

::

    runs/<env>-<algo>-<timestamp>/
        config.yaml          the resolved run config
        metrics.csv          one row per update (and per evaluation)
        tensorboard/         TensorBoard event files
        checkpoints/         latest.pt, best.pt (by evaluation score)
        replays/             recorded episodes
        plots/               learning curves
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

from marl.errors import UsageError

DEFAULT_ROOT = Path("runs")


class RunFolder:
    """Paths inside one run folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    config = property(lambda self: self.root / "config.yaml", doc="The resolved run config.")
    metrics = property(lambda self: self.root / "metrics.csv", doc="Per-update metrics.")
    tensorboard = property(lambda self: self.root / "tensorboard", doc="TensorBoard event files.")
    checkpoints = property(lambda self: self.root / "checkpoints", doc="Checkpoint folder.")
    latest = property(lambda self: self.root / "checkpoints" / "latest.pt", doc="The latest checkpoint.")
    best = property(lambda self: self.root / "checkpoints" / "best.pt", doc="The best checkpoint by evaluation.")
    replays = property(lambda self: self.root / "replays", doc="Recorded episodes.")
    plots = property(lambda self: self.root / "plots", doc="Learning-curve figures.")

    def make_directories(self) -> None:
        """Create the folder and its sub-folders."""
        for directory in (self.root, self.tensorboard, self.checkpoints, self.replays, self.plots):
            directory.mkdir(parents=True, exist_ok=True)

    def is_run(self) -> bool:
        """Whether this folder holds a run (it has a config.yaml)."""
        return self.config.is_file()

    def check_available(self, overwrite: bool = False) -> bool:
        """Refuse an existing folder unless ``overwrite`` (and it is a run); True if it must go."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"{self.root} exists and is not a folder; choose another --out")
        if not (self.root.is_dir() and any(self.root.iterdir())):
            return False
        if not overwrite:
            raise UsageError(
                f"run folder {self.root} already exists; continue it with --resume {self.root}, "
                "replace it with --overwrite, or choose another --out"
            )
        if not self.is_run():
            raise UsageError(
                f"{self.root} is not empty and holds no config.yaml, so it is not a run folder; "
                "refusing to delete it with --overwrite"
            )
        return True

    @classmethod
    def create(cls, root: str | Path, overwrite: bool = False) -> "RunFolder":
        """A new, empty run folder; an existing one is refused unless ``overwrite``."""
        folder = cls(root)
        if folder.check_available(overwrite):
            shutil.rmtree(folder.root)
        folder.make_directories()
        return folder

    @classmethod
    def open(cls, root: str | Path) -> "RunFolder":
        """An existing run folder; a path without config.yaml is refused."""
        folder = cls(root)
        if not folder.root.is_dir():
            raise UsageError(f"run folder {folder.root} does not exist")
        if not folder.is_run():
            raise UsageError(f"{folder.root} is not a run folder: it has no config.yaml")
        return folder


def slug(text: str) -> str:
    """``text`` with every character unsafe in a folder name replaced by ``-``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def default_run_path(env: str, algo: str, root: str | Path = DEFAULT_ROOT, now: datetime | None = None) -> Path:
    """``runs/<env>-<algo>-<timestamp>``, with a numeric suffix if that folder exists."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{slug(env)}-{slug(algo)}-{stamp}"
    candidate, index = base, 2
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{index}")
        index += 1
    return candidate
