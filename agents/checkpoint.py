"""Checkpoints: torch state dicts written atomically and read with ``weights_only=True``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is unreadable or does not fit the learner it is loaded into."""


def save(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same directory, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(state, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects; clear error on a bad file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"checkpoint {path} is corrupt or not a checkpoint of this toolkit: {error}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION or "models" not in state:
        raise CheckpointError(f"checkpoint {path} is not a format-{FORMAT_VERSION} learner checkpoint")
    return state


def check_compatible(state: dict[str, Any], learner: Any, source: str) -> None:
    """Refuse a state whose algorithm or spaces differ from the learner's, naming both shapes."""
    if state.get("algorithm") != type(learner).__name__:
        raise CheckpointError(f"{source} holds a {state.get('algorithm')} state, not {type(learner).__name__}")
    saved = state.get("spaces", {})
    current = learner._space_signature()
    if saved != current:
        differing = sorted(set(saved) | set(current))
        details = [
            f"{key}: checkpoint {saved.get(key)} vs environment {current.get(key)}"
            for key in differing
            if saved.get(key) != current.get(key)
        ]
        raise CheckpointError(f"{source} does not match the environment's spaces: " + "; ".join(details))


def clone_state(state: Any) -> Any:
    """Deep copy of nested dicts/lists of tensors (tensors cloned)."""
    if isinstance(state, torch.Tensor):
        return state.clone()
    if isinstance(state, dict):
        return {key: clone_state(value) for key, value in state.items()}
    if isinstance(state, list):
        return [clone_state(value) for value in state]
    if isinstance(state, tuple):
        return tuple(clone_state(value) for value in state)
    return state
