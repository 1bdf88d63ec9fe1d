"""The layout of a run folder, creating it and opening an existing one.

::

    runs/<env>-<algo>-<timestamp>/
        config.yaml          the resolved run config
        metrics.csv          one row per update (and per evaluation)
        tensorboard/         TensorBoard event files
        checkpoints/         latest.pt, best.pt (by evaluation score)
        replays/             recorded episodes
        plots/               learning curves
        wandb/               W&B run files (with the wandb logger)
        CARD.md              the model card (marl card)
        .marl-run            marker: marl created this folder (only such folders are overwritten)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from marl.errors import UsageError

DEFAULT_ROOT = Path("runs")
#: The file marl writes into every run folder it creates; ``--overwrite`` deletes only such folders.
MARKER_NAME = ".marl-run"
MARKER_TEXT = "This folder was created by marl train; marl train --overwrite may replace it.\n"
#: What marl itself puts at the top of a run folder (anything else is the user's and is kept).
LAYOUT_NAMES = frozenset(
    {MARKER_NAME, "config.yaml", "metrics.csv", "tensorboard", "checkpoints", "replays", "plots", "wandb", "CARD.md"}
)
#: Temporary files of interrupted atomic writes older than this are removed when a run is opened.
STALE_TEMPORARY_SECONDS = 60.0


def check_creatable(path: Path, what: str = "run folder") -> None:
    """Refuse a folder that cannot be created (a file in the way, no permission) before any work."""
    ancestor = path
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"cannot create the {what} {path}: {ancestor} is a file, not a folder; choose another --out")
    try:
        tempfile.TemporaryDirectory(dir=ancestor, prefix=".marl-probe-").cleanup()
    except OSError as error:
        raise UsageError(
            f"cannot create the {what} {path}: {ancestor} is not writable ({error.strerror or error}); "
            "choose another --out"
        ) from None


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

    marker = property(lambda self: self.root / MARKER_NAME, doc="The file saying marl created this folder.")

    def make_directories(self) -> None:
        """Create the folder, its sub-folders and the marker saying marl created it."""
        for directory in (self.root, self.tensorboard, self.checkpoints, self.replays, self.plots):
            directory.mkdir(parents=True, exist_ok=True)
        if not self.marker.exists():
            self.marker.write_text(MARKER_TEXT)

    def is_run(self) -> bool:
        """Whether this folder holds a run (it has a config.yaml)."""
        return self.config.is_file()

    def created_by_marl(self) -> bool:
        """Whether marl created this folder (it holds the marker file)."""
        return self.marker.is_file()

    def foreign_entries(self) -> list[str]:
        """Names at the top of the folder that marl does not write there."""
        return sorted(entry.name for entry in self.root.iterdir() if entry.name not in LAYOUT_NAMES)

    def check_available(self, overwrite: bool = False) -> bool:
        """Refuse a target that is not a new folder, or, with ``overwrite``, a run folder marl created
        holding only what marl writes; True if the existing run folder must go. Nothing is deleted here."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"{self.root} exists and is not a folder; choose another --out")
        if not self.root.exists():
            check_creatable(self.root)
            return False
        if not self.created_by_marl():
            what = "an old run folder without the marker" if self.is_run() else "not a run folder"
            empty = "" if any(self.root.iterdir()) else "empty, but "
            raise UsageError(
                f"{self.root} exists and is {empty}{what} (no {MARKER_NAME} file), so marl will neither write "
                f"into it nor delete it; choose another --out"
                + (f" or continue it with --resume {self.root}" if self.is_run() else "")
            )
        if not overwrite:
            raise UsageError(
                f"run folder {self.root} already exists; continue it with --resume {self.root}, "
                "replace it with --overwrite, or choose another --out"
            )
        foreign = self.foreign_entries()
        if foreign:
            raise UsageError(
                f"{self.root} holds files marl did not write ({', '.join(foreign[:5])}); --overwrite will not delete "
                "them: move them out or choose another --out"
            )
        check_creatable(self.root)
        return True

    @classmethod
    def create(cls, root: str | Path, overwrite: bool = False) -> "RunFolder":
        """A new, empty run folder; an existing one is refused unless ``overwrite`` and marl made it."""
        folder = cls(root)
        if folder.check_available(overwrite):
            shutil.rmtree(folder.root)
        folder.make_directories()
        return folder

    def remove_stale_temporaries(self, older_than: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
        """Delete ``.<name>.*.tmp`` files that interrupted atomic writes left behind; returns them."""
        removed = []
        now = time.time()
        for directory in (self.root, self.checkpoints, self.replays, self.plots):
            if not directory.is_dir():
                continue
            for path in directory.glob(".*.tmp"):
                try:
                    if path.is_file() and now - path.stat().st_mtime > older_than:
                        os.unlink(path)
                        removed.append(path)
                except OSError:
                    continue
        return removed

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
