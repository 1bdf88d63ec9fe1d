"""Checkpoint files: the learner's full training state plus what is needed to check it fits.

A checkpoint is a ``torch.save`` of a plain dictionary (tensors, numbers, strings, lists):
the format tag and version, the algorithm name, the environment steps done, the space
signature of every agent, the best evaluation score so far, ``algo.state_dict()`` and a
sha256 digest of all of it. It is written atomically and read with ``weights_only=True``; the
digest is checked before anything else is read, so a corrupt file is refused and never used;
anything unexpected is reported with the file's name and the reason, before any of it is loaded
into a learner. Version-1 files (before digests) load with a one-line warning.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from agents.checkpoint import CheckpointError as LearnerCheckpointError
from agents.checkpoint import compatibility_problem, digest_problem, read_plain_data, with_digest
from marl.errors import UsageError
from marl.files import atomic_write_with

FORMAT = "marl-checkpoint"
VERSION = 2
#: Versions written before checkpoints carried a digest; they load with a warning.
UNCHECKED_VERSIONS = (1,)
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
    run_config: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically: the previous file survives any failure midway.

    ``run_config`` (the run's config as plain data) lets a resume see what was changed since.
    """
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
    if run_config is not None:
        payload["run_config"] = run_config
    payload = with_digest(payload)
    atomic_write_with(path, lambda handle: torch.save(payload, handle))
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint; errors name the file and say what is wrong with it."""
    path = Path(path)
    try:
        payload = read_plain_data(path)
    except LearnerCheckpointError as error:
        raise CheckpointError(str(error)) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a marl run checkpoint (no '{FORMAT}' format tag)")
    version = payload.get("version")
    if version == VERSION:
        problem = digest_problem(payload)
        if problem is not None:
            raise CheckpointError(
                f"checkpoint {path} is corrupt: {problem}; it was not used (try best.pt, or an earlier copy)"
            )
        payload = {key: value for key, value in payload.items() if key != "digest"}
    elif version in UNCHECKED_VERSIONS:
        print(
            f"marl: warning: checkpoint {path} is of version {version}, written before checkpoints carried "
            "digests, so it cannot be checked for corruption; the next save adds one",
            file=sys.stderr,
        )
    else:
        raise CheckpointError(f"checkpoint {path} has format version {version!r}; this marl reads version {VERSION}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} is incomplete: missing {', '.join(missing)}")
    if not isinstance(payload["state"], dict):
        raise CheckpointError(f"checkpoint {path} is incomplete: its learner state is not a mapping")
    if not isinstance(payload["steps"], int) or isinstance(payload["steps"], bool) or payload["steps"] < 0:
        raise CheckpointError(f"checkpoint {path} is damaged: steps is {payload['steps']!r}")
    if not isinstance(payload["spaces"], dict) or not all(isinstance(v, dict) for v in payload["spaces"].values()):
        raise CheckpointError(f"checkpoint {path} is damaged: its space signature is not a mapping of agents")
    return payload


def check_compatible(payload: dict[str, Any], path: str | Path, algo: str, spaces: dict[str, dict[str, str]]) -> None:
    """Refuse a checkpoint made by another algorithm or for environments with other spaces."""
    problem = compatibility_problem(payload["algo"], payload["spaces"], algo, spaces, "config")
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} does not fit the config: {problem}")


def restore_learner(learner: Any, payload: dict[str, Any], path: str | Path) -> None:
    """Load the checkpoint's state into ``learner``; a refusal names the file."""
    try:
        learner.load_state_dict(payload["state"])
    except Exception as error:  # a state of the wrong layout fails in many ways; none of it is used
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        # torch's first line only says "Error(s) in loading state_dict"; the shapes follow it.
        reason = " ".join(lines[:4]) if lines else type(error).__name__
        raise CheckpointError(f"checkpoint {path} does not match the learner: {reason}") from None
