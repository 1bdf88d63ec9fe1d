"""The episode file: a versioned, compressed ``.npz`` of plain arrays (never a pickle).

Format version 2 holds these keys (``T`` steps, ``A`` agents, ``D`` the longest flat action):

=======================  ==================  ==================================================
key                      dtype / shape       content
=======================  ==================  ==================================================
``format_name``          str scalar          ``"marl-replay"``
``format_version``       int32 scalar        ``2``
``env_id``               str scalar          environment id for ``envs.make`` ("" if unknown)
``env_kwargs_json``      str scalar          keyword arguments of the environment, JSON
``seed``                 int64 scalar        seed passed to ``reset`` (-1 if none)
``fps``                  float32 scalar      steps per simulated second (video frame rate)
``agents``               str ``[A]``         agent names, the column order of per-agent arrays
``static/<key>``         any                 ``env.replay_static()`` after reset
``frame/<key>``          ``[T+1, ...]``      ``env.replay_frame()`` after reset and each step
``quantized/<key>``      float64 ``[2]``     for a quantised frame key: offset and step; the
                                             frame array holds uint8 codes, value = offset +
                                             code * step (read back as float32)
``actions``              float32 ``[T,A,D]`` flat actions, NaN where absent or padded
``action_dims``          int16 ``[A]``       length of each agent's flat action
``rewards``              float32 ``[T,A]``   rewards (0 where the agent was absent)
``terminations``         bool ``[T,A]``      terminated flags
``truncations``          bool ``[T,A]``      truncated flags
``active``               bool ``[T,A]``      the agent was alive and acted in that step
``episode_stats_json``   str scalar          the env's end-of-episode statistics, JSON
``digest``               str scalar          sha256 of every other array (:func:`arrays_digest`)
=======================  ==================  ==================================================

Version 1 is version 2 without ``digest``; such files load with a :class:`UncheckedReplayWarning`.

Frame and static arrays are stored small: integers, and floats that only hold whole numbers
(flags such as ``hidden`` and ``prep``) in the smallest signed integer type that holds their
range; other floats as float32 (float16 when asked); drawn-only sensor arrays such as ``lidar``
quantised to 8 bits over their range; booleans as one byte. The whole archive is
zlib-compressed. Files are written atomically and read with ``allow_pickle=False``.

Reading checks, before any array is decompressed, that every member is a plain numeric or text
array whose declared size matches the archive and that the whole fits :data:`MAX_REPLAY_BYTES`;
then the digest; then :func:`validate_arrays` (shapes, ranges, finite frames). A file that fails
any check is one :class:`ReplayFormatError` naming the file, and nothing is built from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from replays.episode import Episode

FORMAT_NAME = "marl-replay"
FORMAT_VERSION = 2
#: Versions written before replays carried a digest; they load with a warning.
UNCHECKED_VERSIONS = (1,)
DIGEST_KEY = "digest"
#: Largest total size of a replay's arrays once decompressed (a long arena episode is a few MB).
MAX_REPLAY_BYTES = 2 * 1024**3
#: Most agents a replay may list.
MAX_AGENTS = 4096
STATIC_PREFIX = "static/"
FRAME_PREFIX = "frame/"
_REQUIRED_KEYS = (
    "format_name",
    "format_version",
    "env_id",
    "env_kwargs_json",
    "seed",
    "fps",
    "agents",
    "actions",
    "action_dims",
    "rewards",
    "terminations",
    "truncations",
    "active",
    "episode_stats_json",
)
_FLOAT_DTYPES = {"float32": np.float32, "float16": np.float16}


class ReplayFormatError(ValueError):
    """A replay file cannot be read: corrupt, truncated, not a replay, or of another version."""


class UncheckedReplayWarning(UserWarning):
    """A replay from before digests was loaded: it could not be checked for corruption."""


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 (hex) over every array but the digest: names, dtypes, shapes and bytes, in name order."""
    hasher = hashlib.sha256()
    for name in sorted(key for key in arrays if key != DIGEST_KEY):
        array = np.ascontiguousarray(arrays[name])
        header = f"{name}\0{array.dtype.str}\0{array.shape}".encode()
        data = array.tobytes()
        hasher.update(struct.pack("<QQ", len(header), len(data)) + header)
        hasher.update(data)
    return hasher.hexdigest()


def _smallest_int(array: np.ndarray) -> np.ndarray | None:
    """``array`` in the smallest signed integer type holding its range (None if it has no integers)."""
    if array.size == 0:
        return array.astype(np.int8)
    low, high = int(array.min()), int(array.max())
    for candidate in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(candidate)
        if info.min <= low and high <= info.max:
            return array.astype(candidate)
    return None


def compact_array(array: np.ndarray, float_dtype: str = "float32") -> np.ndarray:
    """Return ``array`` in a small dtype: integers and whole-number floats (flags, counters) in the
    smallest signed integer type that holds them (lossless), other floats as ``float_dtype``."""
    if float_dtype not in _FLOAT_DTYPES:
        raise ValueError(f"float_dtype must be one of {sorted(_FLOAT_DTYPES)}, got {float_dtype!r}")
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array
    if np.issubdtype(array.dtype, np.integer):
        compact = _smallest_int(array)
        return array if compact is None else compact
    if np.issubdtype(array.dtype, np.floating):
        if array.size and np.isfinite(array).all() and (array == np.round(array)).all():
            whole = _smallest_int(array.astype(np.int64)) if np.abs(array).max() < 2**31 else None
            if whole is not None and whole.dtype == np.int8:
                return whole
        target = _FLOAT_DTYPES[float_dtype]
        return array.astype(target) if np.dtype(target).itemsize < array.dtype.itemsize else array
    return array


def _text(value: str) -> np.ndarray:
    return np.array(value, dtype=np.str_)


#: Frame keys stored quantised to 8 bits by default: sensor readings that are drawn, never fed
#: back into physics (30 lidar rays of 6 m: steps of 2.4 cm, half the bytes of float16).
QUANTIZED_KEYS = ("lidar",)
QUANTIZED_PREFIX = "quantized/"


def quantize(array: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``array`` as uint8 codes and ``[offset, step]`` (float64) so that ``offset + code * step``
    is within ``step / 2`` of each value; None when it holds no finite floats to quantise."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0 or not np.isfinite(array).all():
        return None
    low, high = float(array.min()), float(array.max())
    step = (high - low) / 255.0 if high > low else 1.0
    codes = np.clip(np.round((array.astype(np.float64) - low) / step), 0, 255).astype(np.uint8)
    return codes, np.array([low, step], dtype=np.float64)


def dequantize(codes: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The float32 values of quantised ``codes`` with ``scale = [offset, step]``."""
    return (float(scale[0]) + codes.astype(np.float64) * float(scale[1])).astype(np.float32)


def episode_arrays(
    episode: Episode, float_dtype: str = "float32", quantized_keys: tuple[str, ...] = QUANTIZED_KEYS
) -> dict[str, np.ndarray]:
    """The arrays that make up the file of ``episode`` (key -> array).

    Frame arrays named in ``quantized_keys`` are stored as uint8 codes with their scale under
    ``quantized/<key>``; other floats as ``float_dtype`` ("float32" or "float16").
    """
    arrays: dict[str, np.ndarray] = {
        "format_name": _text(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int32),
        "env_id": _text(episode.env_id or ""),
        "env_kwargs_json": _text(json.dumps(episode.env_kwargs, sort_keys=True)),
        "seed": np.array(-1 if episode.seed is None else int(episode.seed), dtype=np.int64),
        "fps": np.array(episode.fps, dtype=np.float32),
        "agents": np.array(list(episode.agents), dtype=np.str_),
        "actions": np.asarray(episode.actions, dtype=np.float32),
        "action_dims": np.asarray(episode.action_dims, dtype=np.int16),
        "rewards": np.asarray(episode.rewards, dtype=np.float32),
        "terminations": np.asarray(episode.terminations, dtype=bool),
        "truncations": np.asarray(episode.truncations, dtype=bool),
        "active": np.asarray(episode.active, dtype=bool),
        "episode_stats_json": _text(json.dumps(episode.episode_stats, sort_keys=True)),
    }
    if not np.isfinite(arrays["fps"]) or float(arrays["fps"]) <= 0:
        raise ValueError(f"fps must be a finite number > 0, got {episode.fps!r}")
    for key, value in episode.static.items():
        arrays[STATIC_PREFIX + key] = compact_array(value, float_dtype)
    for key, value in episode.frames.items():
        quantized = quantize(value) if key in quantized_keys else None
        if quantized is None:
            arrays[FRAME_PREFIX + key] = compact_array(value, float_dtype)
        else:
            arrays[FRAME_PREFIX + key], arrays[QUANTIZED_PREFIX + key] = quantized
    arrays[DIGEST_KEY] = _text(arrays_digest(arrays))
    return arrays


def replacement_file_mode(path: Path) -> int:
    """The permission bits a file written over ``path`` should get: those of ``path`` if it exists,
    else those ``open`` gives a new file under the umask (``mkstemp`` alone would make it 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write by name; on success it is fsynced
    and renamed over ``path``, on failure removed, so ``path`` holds the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.fchmod(descriptor, replacement_file_mode(path))
    os.close(descriptor)
    try:
        yield Path(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def save_episode(
    episode: Episode,
    path: str | os.PathLike,
    float_dtype: str = "float32",
    quantized_keys: tuple[str, ...] = QUANTIZED_KEYS,
) -> Path:
    """Write ``episode`` to ``path`` atomically (temp file, fsync, rename) and return the path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"replay path must end in .npz, got {str(path)!r}")
    arrays = episode_arrays(episode, float_dtype, quantized_keys)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


def _member_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse, before decompressing anything, members that are pickles, lie about their size, or
    add up to more than :data:`MAX_REPLAY_BYTES`."""
    total = 0
    for info in archive.infolist():
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            header_bytes = member.tell()
        if dtype.hasobject:
            raise ReplayFormatError(
                f"{path}: member {info.filename} holds Python objects; replays hold plain arrays only"
            )
        size = math.prod(shape) * dtype.itemsize
        if header_bytes + size != info.file_size:
            raise ReplayFormatError(
                f"{path}: member {info.filename} declares {size} bytes but holds "
                f"{info.file_size - header_bytes}; the file is corrupt or truncated"
            )
        total += size
        if total > MAX_REPLAY_BYTES:
            raise ReplayFormatError(
                f"{path}: its arrays would take more than {MAX_REPLAY_BYTES // 1024**3} GiB of "
                "memory; replays of this toolkit are far smaller, so it is refused"
            )


def _read_all(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            _member_sizes(path, archive)
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except ReplayFormatError:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        RuntimeError,
        NotImplementedError,
        OverflowError,
        TypeError,
        MemoryError,
    ) as error:
        raise ReplayFormatError(
            f"{path}: not a readable replay file ({type(error).__name__}: {str(error)[:200]}); "
            "the file is corrupt or truncated; record the episode again"
        ) from None


def _frames(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    frames = {}
    for name, value in arrays.items():
        if name.startswith(FRAME_PREFIX):
            key = name[len(FRAME_PREFIX) :]
            scale = arrays.get(QUANTIZED_PREFIX + key)
            frames[key] = value if scale is None else dequantize(value, scale)
    return frames


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _json_mapping(text: str, what: str) -> dict[str, Any]:
    """A JSON object with string keys and finite numbers (what the recorder writes)."""
    value = json.loads(text, parse_constant=_reject_constant)
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return value


def _scalar(arrays: dict[str, np.ndarray], key: str, kind: str) -> Any:
    """The 0-d array ``key`` as a Python value, refused unless its dtype is of ``kind`` ("U", "i", "f")."""
    array = arrays[key]
    if array.shape != () or array.dtype.kind not in kind:
        raise ValueError(
            f"{key} must be a single {'text' if kind == 'U' else 'number'}, got a {array.dtype} "
            f"array of shape {array.shape}"
        )
    return array.item()


def validate_arrays(arrays: dict[str, np.ndarray]) -> None:
    """Check a replay's arrays against the format: shapes agree, numbers are in range, frames finite.

    Raises ``ValueError`` naming the first problem; nothing is built from a file that fails.
    """
    for key in ("env_id", "env_kwargs_json", "episode_stats_json"):
        _scalar(arrays, key, "U")
    seed = _scalar(arrays, "seed", "iu")
    if seed < -1:
        raise ValueError(f"seed must be >= 0 (or -1 for none), got {seed}")
    fps = _scalar(arrays, "fps", "fiu")
    if not math.isfinite(fps) or not 0 < fps <= 1000:
        raise ValueError(f"fps must be in (0, 1000], got {fps}")
    agents = arrays["agents"]
    if agents.ndim != 1 or agents.dtype.kind != "U" or not 1 <= len(agents) <= MAX_AGENTS:
        raise ValueError(
            f"agents must be a list of 1 to {MAX_AGENTS} names, got shape {agents.shape} of {agents.dtype}"
        )
    if len(set(agents.tolist())) != len(agents):
        raise ValueError("agents lists a name twice")
    actions = arrays["actions"]
    if actions.ndim != 3 or actions.shape[1] != len(agents) or actions.dtype.kind != "f":
        raise ValueError(
            f"actions must be floats of shape [steps, {len(agents)}, width], got {actions.shape} of {actions.dtype}"
        )
    dims = arrays["action_dims"]
    if (
        dims.shape != (len(agents),)
        or dims.dtype.kind not in "iu"
        or (dims < 0).any()
        or (dims > actions.shape[2]).any()
    ):
        raise ValueError(f"action_dims must be {len(agents)} integers in [0, {actions.shape[2]}]")
    steps = actions.shape[0]
    for key in ("rewards", "terminations", "truncations", "active"):
        if arrays[key].shape != (steps, len(agents)):
            raise ValueError(f"{key} has shape {arrays[key].shape}; expected {(steps, len(agents))}")
        if key != "rewards" and arrays[key].dtype != np.bool_:
            raise ValueError(f"{key} must hold true/false flags, got {arrays[key].dtype}")
    if arrays["rewards"].dtype.kind != "f" or not np.isfinite(arrays["rewards"]).all():
        raise ValueError("rewards must be finite numbers")
    for name, array in arrays.items():
        if name.startswith(QUANTIZED_PREFIX):
            frame = arrays.get(FRAME_PREFIX + name[len(QUANTIZED_PREFIX) :])
            if array.shape != (2,) or not np.isfinite(array).all() or frame is None or frame.dtype != np.uint8:
                raise ValueError(f"{name} must be a finite [offset, step] for a uint8 frame array")
        if name.startswith(FRAME_PREFIX):
            if array.ndim == 0 or array.shape[0] != steps + 1:
                raise ValueError(
                    f"{name} must have {steps + 1} rows (the reset frame plus one per step), got shape {array.shape}"
                )
            if array.dtype.kind not in "biuf":
                raise ValueError(f"{name} must hold numbers, got {array.dtype}")
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ValueError(f"{name} holds values that are not finite")
        if name.startswith(STATIC_PREFIX) and array.dtype.kind not in "biufU":
            raise ValueError(f"{name} must hold numbers or text, got {array.dtype}")


def load_episode(path: str | os.PathLike, trust_code: bool = False) -> Episode:
    """Read an episode file written by :func:`save_episode` (no pickles are ever loaded).

    Every check (sizes, digest, :func:`validate_arrays`) happens before the episode is built.
    ``trust_code`` lets playback make the environment when the file names it as
    ``package.module:factory`` (code the file would run); by default such an id is refused
    there, while statistics and everything else that needs no environment work as usual.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"replay file not found: {path}")
    arrays = _read_all(path)
    missing = [key for key in _REQUIRED_KEYS if key not in arrays]
    if missing:
        raise ReplayFormatError(f"{path}: not a replay file of this project; missing keys {missing}")
    if arrays["format_name"].shape != () or str(arrays["format_name"]) != FORMAT_NAME:
        raise ReplayFormatError(f"{path}: format {str(arrays['format_name'])[:40]!r} is not {FORMAT_NAME!r}")
    try:
        version = int(arrays["format_version"])
    except (TypeError, ValueError):
        raise ReplayFormatError(f"{path}: its format_version is not a number; the file is damaged") from None
    if version == FORMAT_VERSION:
        digest = arrays.get(DIGEST_KEY)
        if digest is None or digest.shape != () or str(digest) != arrays_digest(arrays):
            raise ReplayFormatError(
                f"{path}: corrupt: its arrays do not match the sha256 digest it carries; "
                "it was not used; record the episode again"
            )
    elif version in UNCHECKED_VERSIONS:
        warnings.warn(
            f"{path}: replay format version {version}, written before replays carried digests, so it "
            "could not be checked for corruption",
            UncheckedReplayWarning,
            stacklevel=2,
        )
    else:
        raise ReplayFormatError(
            f"{path}: replay format version {version}; this version of the toolkit reads versions "
            f"{', '.join(map(str, (*UNCHECKED_VERSIONS, FORMAT_VERSION)))}; re-record the episode or use the "
            "toolkit release that wrote it"
        )
    try:
        validate_arrays(arrays)
        env_kwargs = _json_mapping(str(arrays["env_kwargs_json"]), "env_kwargs_json")
        episode_stats = _json_mapping(str(arrays["episode_stats_json"]), "episode_stats_json")
        seed = int(arrays["seed"])
        episode = Episode(
            env_id=str(arrays["env_id"]) or None,
            env_kwargs=env_kwargs,
            seed=None if seed < 0 else seed,
            agents=[str(name) for name in arrays["agents"]],
            static={k[len(STATIC_PREFIX) :]: v for k, v in arrays.items() if k.startswith(STATIC_PREFIX)},
            frames=_frames(arrays),
            actions=arrays["actions"],
            action_dims=arrays["action_dims"],
            rewards=arrays["rewards"],
            terminations=arrays["terminations"],
            truncations=arrays["truncations"],
            active=arrays["active"],
            episode_stats=episode_stats,
            fps=float(arrays["fps"]),
            source=str(path),
            code_trusted=trust_code,
        )
    except (ValueError, TypeError, IndexError, RecursionError, json.JSONDecodeError) as error:
        raise ReplayFormatError(
            f"{path}: inconsistent replay file ({str(error)[:300]}); record the episode again"
        ) from None
    return episode
