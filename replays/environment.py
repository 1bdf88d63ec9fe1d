"""Finding the replay interface of an environment and rebuilding an environment from its id."""

from __future__ import annotations

from typing import Any, Callable

from envs.scene import Replayable

_WRAPPED_ATTRIBUTES = ("unwrapped", "env", "par_env", "aec_env", "_env")


class NotReplayableError(TypeError):
    """The environment does not implement :class:`envs.scene.Replayable`, or is not a ParallelEnv."""


def find_replayable(env: Any) -> Replayable:
    """The object implementing :class:`envs.scene.Replayable` inside ``env`` (through wrappers)."""
    seen: set[int] = set()
    pending = [env]
    while pending:
        candidate = pending.pop(0)
        if candidate is None or id(candidate) in seen:
            continue
        seen.add(id(candidate))
        if isinstance(candidate, Replayable):
            return candidate
        for attribute in _WRAPPED_ATTRIBUTES:
            try:
                inner = getattr(candidate, attribute, None)
            except Exception:  # some wrappers raise on attribute access before reset
                inner = None
            if inner is not None:
                pending.append(inner)
    raise NotReplayableError(
        f"{type(env).__name__} does not implement envs.scene.Replayable (replay_static, replay_frame, "
        "restore_replay_frame, scene); only such environments can be recorded and rendered"
    )


def infer_env_id(env_fn: Callable[[], Any], env: Any) -> tuple[str | None, dict[str, Any] | None]:
    """Best guess of the (id, kwargs) that rebuilds ``env``: factory attributes, then metadata name."""
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


def make_environment(env_id: str, env_kwargs: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """Build the environment ``env_id`` with ``env_kwargs`` and ``overrides`` (e.g. ``render_mode``).

    Goes through the suite's registry ``envs.make``, so suite ids, ``module:factory`` ids and
    PettingZoo module paths all work.
    """
    import envs

    return envs.make(env_id, **{**(env_kwargs or {}), **overrides})
