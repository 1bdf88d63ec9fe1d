"""Checkpoints: torch state dicts written atomically and read with ``weights_only=True``.

Every file carries a sha256 digest of its contents (:func:`content_digest`), checked on load,
so a corrupt file is refused instead of used. Files of format 1 were written before digests:
they load with a :class:`UncheckedCheckpointWarning` and get a digest when saved again.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.env_resolver import code_reference

FORMAT_VERSION = 2
#: Format versions without a digest that still load (with a warning).
UNCHECKED_VERSIONS = (1,)
DIGEST_KEY = "digest"
#: Entries every learner checkpoint holds (see ``Learner.state_dict``).
REQUIRED_KEYS = ("algorithm", "config", "seed", "steps", "updates", "models", "optimizers", "spaces")


class CheckpointError(ValueError):
    """A checkpoint file is unreadable or does not fit the learner it is loaded into."""


class UncheckedCheckpointWarning(UserWarning):
    """A checkpoint from before digests was loaded: it could not be checked for corruption."""


def _feed(hasher: Any, value: Any) -> None:
    """Hash ``value`` with a type tag and length before each part, so different values never collide."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        header = f"{tensor.dtype}{tuple(tensor.shape)}".encode()
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        hasher.update(b"T" + struct.pack("<QQ", len(header), len(data)) + header)
        hasher.update(data)
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        header = f"{array.dtype.str}{array.shape}".encode()
        data = array.tobytes()
        hasher.update(b"A" + struct.pack("<QQ", len(header), len(data)) + header)
        hasher.update(data)
    elif isinstance(value, dict):
        hasher.update(b"D" + struct.pack("<Q", len(value)))
        for key, item in value.items():
            _feed(hasher, key)
            _feed(hasher, item)
    elif isinstance(value, (list, tuple)):
        hasher.update((b"L" if isinstance(value, list) else b"U") + struct.pack("<Q", len(value)))
        for item in value:
            _feed(hasher, item)
    elif isinstance(value, (str, bytes)):
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
        hasher.update((b"S" if isinstance(value, str) else b"B") + struct.pack("<Q", len(data)) + data)
    elif value is None or isinstance(value, bool):
        hasher.update({None: b"N", True: b"?1", False: b"?0"}[value])
    elif isinstance(value, (int, np.integer)):
        data = str(int(value)).encode()
        hasher.update(b"I" + struct.pack("<Q", len(data)) + data)
    elif isinstance(value, (float, np.floating)):
        hasher.update(b"F" + struct.pack("<d", float(value)))
    elif isinstance(value, torch.dtype):
        data = str(value).encode()
        hasher.update(b"Y" + struct.pack("<Q", len(data)) + data)
    else:
        raise TypeError(f"cannot digest a {type(value).__qualname__} in a checkpoint")


def content_digest(value: Any) -> str:
    """The sha256 (hex) of a nested structure of tensors, arrays, containers and plain values.

    It covers every dtype, shape, byte, key and the order of keys, so any change to the
    contents changes it; it does not depend on how ``torch.save`` lays the file out.
    """
    hasher = hashlib.sha256()
    _feed(hasher, value)
    return hasher.hexdigest()


def with_digest(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` plus the digest of everything else in it."""
    contents = {key: value for key, value in state.items() if key != DIGEST_KEY}
    return {**contents, DIGEST_KEY: content_digest(contents)}


def digest_problem(state: dict[str, Any]) -> str | None:
    """Why ``state``'s digest does not vouch for its contents, or None when it does."""
    digest = state.get(DIGEST_KEY)
    if not isinstance(digest, str):
        return "it carries no sha256 digest of its contents"
    contents = {key: value for key, value in state.items() if key != DIGEST_KEY}
    try:
        actual = content_digest(contents)
    except TypeError as error:
        return str(error)
    except RecursionError:
        return "it is nested too deeply to be a checkpoint"
    if actual != digest:
        return "its contents do not match the sha256 digest it carries"
    return None


def save(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` (with its digest) to ``path`` atomically (temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = with_digest(state)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(payload, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def read_plain_data(path: str | Path) -> Any:
    """The tensors and plain data a ``torch.save`` file holds, read with ``weights_only`` (no object
    is unpickled); a missing, corrupt, truncated or foreign file is one :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a checkpoint of this toolkit: it holds more than tensors and "
            "plain data, so it was not loaded"
        ) from None
    except Exception as error:  # torch raises several types for truncated or foreign files
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(
            f"checkpoint {path} is corrupt, truncated or not a checkpoint of this toolkit: {reason}"
        ) from None


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects; a corrupt or foreign file is one clear error."""
    path = Path(path)
    state = read_plain_data(path)
    version = state.get("format") if isinstance(state, dict) else None
    if version not in (FORMAT_VERSION, *UNCHECKED_VERSIONS) or "models" not in state:
        raise CheckpointError(f"checkpoint {path} is not a format-{FORMAT_VERSION} learner checkpoint")
    if version == FORMAT_VERSION:
        problem = digest_problem(state)
        if problem is not None:
            raise CheckpointError(f"checkpoint {path} is corrupt: {problem}; it was not used")
        state = {key: value for key, value in state.items() if key != DIGEST_KEY}
    else:
        warnings.warn(
            f"checkpoint {path} is of format {version}, written before checkpoints carried digests, so it "
            "could not be checked for corruption; save it again to add one",
            UncheckedCheckpointWarning,
            stacklevel=2,
        )
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"checkpoint {path} is incomplete: it has no {', '.join(missing)}")
    if not isinstance(state["config"], dict) or not isinstance(state["seed"], int):
        raise CheckpointError(f"checkpoint {path} is damaged: its config or seed has the wrong type")
    return state


def saved_environment(state: dict[str, Any], path: str | Path, trust_code: bool = False) -> str:
    """The environment id a checkpoint was trained on, refused when making it would run code it names.

    A Gymnasium id or a module of a known environment package is returned as it is; a
    ``module:factory`` (or any other module) only with ``trust_code=True``.
    """
    env_id = state.get("env_id")
    if env_id is None:
        raise CheckpointError(
            f"{path} was trained on an environment given as an object or factory; pass env= to load()"
        )
    if not isinstance(env_id, str) or not env_id:
        raise CheckpointError(f"checkpoint {path} is damaged: its env_id is {env_id!r}; pass env= to load()")
    reference = code_reference(env_id)
    if reference is not None and not trust_code:
        raise CheckpointError(
            f"checkpoint {path} names the environment {env_id!r}, which would import and run {reference}; "
            "pass env= to load(), or trust_code=True if you trust the file"
        )
    return env_id


def _flatten(signature: Any, prefix: str = "") -> dict[str, Any]:
    """A nested space signature as ``{"agent/kind": value}``, in its own order."""
    if not isinstance(signature, Mapping):
        return {prefix: signature}
    flat: dict[str, Any] = {}
    for key, value in signature.items():
        flat.update(_flatten(value, f"{prefix}/{key}" if prefix else str(key)))
    return flat


def compatibility_problem(
    saved_algorithm: Any, saved_spaces: Any, algorithm: str, spaces: Mapping[str, Any], here: str
) -> str | None:
    """Why a state saved by ``saved_algorithm`` for ``saved_spaces`` cannot serve ``algorithm`` on ``spaces``.

    Space signatures are mappings (nested or flat) in agent or group order; ``here`` names
    where ``spaces`` come from in the message. None when the state fits.
    """
    if saved_algorithm != algorithm:
        return f"it was trained with {saved_algorithm!r}, not {algorithm!r}"
    saved, current = _flatten(saved_spaces), _flatten(spaces)
    if list(saved.items()) == list(current.items()):
        return None
    details = [
        f"{key}: checkpoint {saved.get(key)} vs {here} {current.get(key)}"
        for key in dict.fromkeys([*saved, *current])
        if saved.get(key) != current.get(key)
    ]
    if not details:
        return f"its spaces are in the order {list(saved)} but the {here} has {list(current)}"
    return "; ".join(details)


def check_compatible(state: dict[str, Any], learner: Any, source: str) -> None:
    """Refuse a state whose algorithm or spaces differ from the learner's, naming both shapes."""
    problem = compatibility_problem(
        state.get("algorithm"),
        state.get("spaces", {}),
        type(learner).__name__,
        learner._space_signature(),
        "environment",
    )
    if problem is not None:
        raise CheckpointError(f"{source} does not fit this learner: {problem}")


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
