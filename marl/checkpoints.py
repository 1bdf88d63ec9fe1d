"""Checkpoint files: the learner's full training state plus what is needed to check it fits.

A checkpoint is a ``torch.save`` of a plain dictionary (tensors, numbers, strings, lists):
the format tag and version, the algorithm name, the environment steps done, the space
signature of every agent, the best evaluation score so far, and ``algo.state_dict()``. It is
written atomically and read with ``weights_only=True``; anything unexpected is reported with
the file's name and the reason, before any of it is loaded into a learner.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from marl.environments import space_mismatch
from marl.errors import UsageError
from marl.files import atomic_write_with

FORMAT = "marl-checkpoint"
VERSION = 1
REQUIRED_KEYS = ("format", "version", "algo", "steps", "spaces", "state")


class CheckpointError(UsageError):
    """A checkpoint that cannot be used: missing, corrupt, from another format, or mismatched."""


def save_checkpoint(
    path: str | Path,
    *,
    algo: str,
    steps: int,
    spaces: dict[str, dict[str, str]],
    state: dict[str, Any],
    best_score: float | None = None,
) -> Path:
    """Write a checkpoint atomically: the previous file survives any failure midway."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "algo": algo,
        "steps": int(steps),
        "spaces": spaces,
        "best_score": None if best_score is None else float(best_score),
        "state": state,
    }
    atomic_write_with(path, lambda handle: torch.save(payload, handle))
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint; errors name the file and say what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable data"
        raise CheckpointError(f"checkpoint {path} is corrupt or holds more than tensors and plain data: {reason}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {reason}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a marl run checkpoint (no '{FORMAT}' format tag)")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {payload.get('version')!r}; this marl reads version {VERSION}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} is incomplete: missing {', '.join(missing)}")
    if not isinstance(payload["state"], dict):
        raise CheckpointError(f"checkpoint {path} is incomplete: its learner state is not a mapping")
    return payload


def check_compatible(payload: dict[str, Any], path: str | Path, algo: str, spaces: dict[str, dict[str, str]]) -> None:
    """Refuse a checkpoint made by another algorithm or for environments with other spaces."""
    if payload["algo"] != algo:
        raise CheckpointError(f"checkpoint {path} was trained with {payload['algo']!r}, the config asks for {algo!r}")
    mismatch = space_mismatch(payload["spaces"], spaces)
    if mismatch:
        raise CheckpointError(f"checkpoint {path} does not fit the configured environment: {mismatch}")


def restore_learner(learner: Any, payload: dict[str, Any], path: str | Path) -> None:
    """Load the checkpoint's state into ``learner``; a refusal names the file."""
    try:
        learner.load_state_dict(payload["state"])
    except (KeyError, RuntimeError, ValueError, TypeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path} does not match the learner: {reason}") from None
