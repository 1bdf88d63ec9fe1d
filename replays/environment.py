"""Finding the replay interface of an environment and rebuilding an environment from its id.

An episode file may come from someone else, so the environment it names is rebuilt only through
the registry: an id that would import code the file names (``package.module:factory``) needs
the caller's ``trust_code``, keyword arguments are checked by the environment before it is built,
and a count setting (``n_agents``, ``n_boxes``, ...) larger than anything the file recorded is
refused, since it cannot describe the recorded world (and could ask for any amount of memory).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from envs.scene import Replayable, ReportsSettings

_WRAPPED_ATTRIBUTES = ("unwrapped", "env", "par_env", "aec_env", "_env")


class NotReplayableError(TypeError):
    """The environment does not implement :class:`envs.scene.Replayable`, or is not a ParallelEnv."""


def _find_inside(env: Any, wanted: type) -> Any:
    """The first object implementing the protocol ``wanted`` in ``env`` or the environments it
    wraps (breadth first), else None."""
    seen: set[int] = set()
    pending = [env]
    while pending:
        candidate = pending.pop(0)
        if candidate is None or id(candidate) in seen:
            continue
        seen.add(id(candidate))
        if isinstance(candidate, wanted):
            return candidate
        for attribute in _WRAPPED_ATTRIBUTES:
            try:
                inner = getattr(candidate, attribute, None)
            except Exception:  # some wrappers raise on attribute access before reset
                inner = None
            if inner is not None:
                pending.append(inner)
    return None


def find_replayable(env: Any) -> Replayable:
    """The object implementing :class:`envs.scene.Replayable` inside ``env`` (through wrappers)."""
    replayable = _find_inside(env, Replayable)
    if replayable is None:
        raise NotReplayableError(
            f"{type(env).__name__} does not implement envs.scene.Replayable (replay_static, replay_frame, "
            "restore_replay_frame, scene); only such environments can be recorded and rendered"
        )
    return replayable


def infer_env_id(env_fn: Callable[[], Any], env: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The (id, kwargs) that rebuild ``env``: the environment's own report
    (:class:`envs.scene.ReportsSettings`), else the factory's attributes, else the metadata name."""
    reporting = _find_inside(env, ReportsSettings)
    if reporting is not None:
        env_id, env_kwargs = reporting.replay_settings()
        return env_id, dict(env_kwargs)
    env_id = getattr(env_fn, "env_id", None)  # envs.make_factory(...) carries env_id and kwargs
    env_kwargs = getattr(env_fn, "env_kwargs", None)
    if env_kwargs is None and env_id is not None:
        env_kwargs = getattr(env_fn, "kwargs", None)
    keywords = getattr(env_fn, "keywords", None)  # functools.partial(envs.make, "id", **kwargs)
    arguments = getattr(env_fn, "args", None)
    if env_id is None and arguments and isinstance(arguments[0], str):
        env_id = arguments[0]
        env_kwargs = dict(keywords or {})
    if env_id is None:
        metadata = getattr(env, "metadata", None) or {}
        env_id = metadata.get("name")
    return env_id, (dict(env_kwargs) if env_kwargs is not None else None)


_COUNT_SETTING = re.compile(r"n_[a-z_]+")


def _counts(value: Any) -> list[int]:
    """The integers in a setting's value (a count, or a range of counts such as ``[1, 3]``)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for entry in value for item in _counts(entry)]
    return []


def recorded_extent(agents: list[str], arrays: list[np.ndarray], frames: list[np.ndarray]) -> int:
    """The largest number of things the file records anywhere: its agents, any static dimension or
    value, and any per-frame dimension."""
    extent = len(agents)
    for array in arrays:
        extent = max(extent, *array.shape, 0)
        if array.dtype.kind in "iu" and array.size:
            extent = max(extent, int(array.max()))
    for array in frames:
        extent = max(extent, *array.shape[1:], 0)
    return extent


def check_count_settings(
    env_kwargs: dict[str, Any],
    agents: list[str],
    static: dict[str, np.ndarray],
    frames: dict[str, np.ndarray],
    source: str,
) -> None:
    """Refuse a count setting (``n_*``) larger than everything the file records (ValueError)."""
    extent = recorded_extent(agents, list(static.values()), list(frames.values()))
    for name, value in env_kwargs.items():
        if _COUNT_SETTING.fullmatch(str(name)):
            for count in _counts(value):
                if count > extent:
                    raise ValueError(
                        f"{source} sets {name}={value!r} but records at most {extent} of anything; the settings do "
                        "not describe the recorded episode, so the environment is not built"
                    )


def make_environment(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    trust_code: bool = True,
    source: str = "the episode",
    **overrides: Any,
) -> Any:
    """Build the environment ``env_id`` with ``env_kwargs`` and ``overrides`` (e.g. ``render_mode``).

    Goes through the suite's registry, so suite ids, Gymnasium ids and PettingZoo module paths
    work; an id that names code (``module:factory``) only with ``trust_code``. The keyword
    arguments are checked by the environment before it is built.
    """
    import envs
    from envs.registry import code_reference

    reference = code_reference(env_id)
    if reference is not None and not trust_code:
        raise ValueError(
            f"{source} names the environment {env_id!r}, which would import and run {reference}; load it with "
            "load_episode(path, trust_code=True) (marl replay --trust-code) if you trust the file, or pass env_fn"
        )
    try:
        factory = envs.make_factory(env_id, **{**(env_kwargs or {}), **overrides})
    except (ValueError, TypeError) as error:  # an unknown id or settings the environment refuses
        raise ValueError(f"{source}: {str(error).splitlines()[0]}") from None
    return factory()
