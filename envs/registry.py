"""One entry point for every environment: the suite's own, PettingZoo modules, Gymnasium ids.

Kinds of id, tried in this order:

1. an id of the suite (``navigation_v0``, ``hide_and_seek_v0``, ...): the module is imported only
   when the environment is made, so listing ids never imports MuJoCo;
2. ``package.module:factory``: the factory is imported and called with the keyword arguments
   (Gymnasium's ``package.module:EnvId`` form also works: the module is imported and the id made);
3. a Gymnasium id (``CartPole-v1``): ``gymnasium.make(id, **kwargs)``, a single-agent env;
4. a PettingZoo-style module path (``pettingzoo.sisl.multiwalker_v9``, ``mpe2.simple_spread_v3``):
   the module's ``parallel_env(**kwargs)``, or for turn-based games that offer none (PettingZoo's
   classic family) its AEC ``env(**kwargs)``;
5. a PettingZoo registry id ``family/name`` (``classic/tictactoe_v3``, ``sisl/multiwalker_v9``,
   the keys of ``pettingzoo.utils.all_modules``): the module ``pettingzoo.family.name`` as in 4.

The learner (``agents``) reaches this registry through the entry-point group
``marl_arena.environments`` (see pyproject.toml), so ``MAPPO("navigation_v0")`` and
``marl train navigation_v0`` resolve the same way.

Anything else is a ``ValueError`` that lists the closest known ids.

Ids read from files (configs, run folders, replays) must not run code they name: before making
such an id, callers ask :func:`code_reference`, which says, without importing anything, whether
making the id would import a module the id itself names (kinds 2 and 4 outside the packages the
registry knows), and refuse it unless the person running the program said they trust the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "EnvFactory",
    "EnvSummary",
    "RegisteredEnv",
    "describe",
    "ids",
    "make",
    "make_factory",
    "code_reference",
    "register",
    "trust_env_id",
    "space_summary",
    "summaries",
]


@dataclass(frozen=True)
class RegisteredEnv:
    """An environment of the suite: its id, the module to import lazily, a one-line description."""

    env_id: str
    module: str
    description: str


_SUITE: dict[str, RegisteredEnv] = {}


def register(env_id: str, module: str, description: str) -> None:
    """Add an environment module (with ``parallel_env(**kwargs)``) to the suite's ids."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env_id):
        raise ValueError(f"env_id must be a plain identifier such as 'my_task_v0', got {env_id!r}")
    if env_id in _SUITE and _SUITE[env_id].module != module:
        raise ValueError(f"env_id {env_id!r} is already registered for module {_SUITE[env_id].module!r}")
    _SUITE[env_id] = RegisteredEnv(env_id, module, description)


for _entry in (
    RegisteredEnv(
        "hide_and_seek_v0",
        "envs.hide_and_seek_v0",
        "MuJoCo hide-and-seek: hiders keep out of the seekers' sight using boxes, ramps and walls "
        "they can move and lock.",
    ),
    RegisteredEnv(
        "navigation_v0",
        "envs.navigation_v0",
        "Cooperative navigation: N agents cover N landmarks without colliding (shared reward, optional partial view).",
    ),
    RegisteredEnv(
        "lock_and_return_v0",
        "envs.lock_and_return_v0",
        "Transfer task: find and lock the box in a six-room layout, then return to the starting position.",
    ),
    RegisteredEnv(
        "sequential_lock_v0",
        "envs.sequential_lock_v0",
        "Transfer task: lock four boxes in an unobserved fixed order, with ramps to reach them.",
    ),
    RegisteredEnv(
        "blueprint_construction_v0",
        "envs.blueprint_construction_v0",
        "Transfer task: push eight cubes onto one to four marked target sites.",
    ),
    RegisteredEnv(
        "shelter_construction_v0",
        "envs.shelter_construction_v0",
        "Transfer task: build a shelter of eight boxes around a cylinder so that it cannot be seen.",
    ),
):
    register(_entry.env_id, _entry.module, _entry.description)


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def ids() -> list[str]:
    """The suite's environment ids whose module is present, in registration order."""
    return [env_id for env_id, entry in _SUITE.items() if _module_exists(entry.module)]


# -- resolution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    """How to build an id, describe it, and check keyword arguments for it without building."""

    build: Callable[..., Any]
    description: Callable[[], str]
    check_kwargs: Callable[[dict[str, Any]], None] = lambda kwargs: None


def _check_names(env_id: str, constructor: Any, kwargs: dict[str, Any]) -> None:
    """Refuse keyword names ``constructor`` cannot take (when its signature says which it takes)."""
    try:
        parameters = inspect.signature(constructor).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    valid = [
        name
        for name, p in parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    for name in kwargs:
        if name not in valid:
            lowered = {candidate.lower(): candidate for candidate in valid}
            close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3)]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(
                f"environment {env_id!r} takes no argument {name!r}{hint}; "
                f"valid arguments: {', '.join(valid) or 'none'}"
            )


def _gymnasium_registry() -> dict[str, Any]:
    import gymnasium

    return gymnasium.registry


def _import(module: str, env_id: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is not None and (module == error.name or module.startswith(error.name + ".")):
            raise _unknown(env_id) from None
        raise ImportError(
            f"environment {env_id!r}: module {module!r} exists but needs {error.name!r}, which is not "
            f"installed; install it (for PettingZoo families: pip install 'pettingzoo[<family>]')"
        ) from error


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped
    return ""


def _resolve(env_id: str) -> _Resolved:
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a non-empty string, got {env_id!r}")
    if env_id in _SUITE:
        entry = _SUITE[env_id]
        if not _module_exists(entry.module):
            raise ValueError(
                f"environment {env_id!r} is part of the suite but its module {entry.module!r} is not in this "
                f"installation; available: {', '.join(ids())}"
            )

        def check_suite_kwargs(kwargs: dict[str, Any]) -> None:
            # A suite module may offer validate_kwargs(**kwargs) to check arguments without building.
            module = _import(entry.module, env_id)
            validate = getattr(module, "validate_kwargs", None)
            if validate is not None:
                validate(**kwargs)
            else:
                _check_names(env_id, module.parallel_env, kwargs)

        return _Resolved(
            lambda **kw: _import(entry.module, env_id).parallel_env(**kw), lambda: entry.description, check_suite_kwargs
        )
    if ":" in env_id:
        return _resolve_colon(env_id)
    if env_id in _gymnasium_registry():
        spec = _gymnasium_registry()[env_id]
        return _Resolved(
            lambda **kw: _make_gymnasium(env_id, kw),
            lambda: f"Gymnasium environment {env_id} (single agent; {spec.entry_point})",
        )
    if "." in env_id and _module_exists(env_id):
        return _resolve_module(env_id)
    module = _pettingzoo_module(env_id)
    if module is not None and _module_exists(module):
        return _resolve_module(module)
    raise _unknown(env_id)


_PETTINGZOO_ID = re.compile(r"([a-z][a-z0-9_]*)/([a-z][a-z0-9_]*_v\d+)")


def _pettingzoo_module(env_id: str) -> str | None:
    """The module of a PettingZoo registry id ``family/name`` (``classic/tictactoe_v3``), else None."""
    match = _PETTINGZOO_ID.fullmatch(env_id)
    return f"pettingzoo.{match.group(1)}.{match.group(2)}" if match else None


def _make_gymnasium(env_id: str, kwargs: dict[str, Any]) -> Any:
    import gymnasium

    return gymnasium.make(env_id, **kwargs)


def _resolve_colon(env_id: str) -> _Resolved:
    module_name, _, attribute = env_id.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"env_id {env_id!r}: the factory form is 'package.module:factory' with both parts given")
    module = _import(module_name, env_id)
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            break
    if callable(target):
        return _Resolved(
            target,
            lambda: _first_line(target.__doc__) or f"custom environment from {env_id}",
            lambda kwargs: _check_names(env_id, target, kwargs),
        )
    if env_id in _gymnasium_registry() or attribute in _gymnasium_registry():
        # Gymnasium's own "module:EnvId" form: importing the module registered the id.
        gym_id = env_id if env_id in _gymnasium_registry() else attribute
        return _Resolved(
            lambda **kw: _make_gymnasium(gym_id, kw),
            lambda: f"Gymnasium environment {gym_id} registered by {module_name}",
        )
    names = [name for name in dir(module) if not name.startswith("_") and callable(getattr(module, name))]
    close = difflib.get_close_matches(attribute, names, n=5)
    raise ValueError(
        f"env_id {env_id!r}: module {module_name!r} has no callable {attribute!r}"
        + (f"; did you mean {', '.join(f'{module_name}:{name}' for name in close)}?" if close else "")
    )


def _module_factory(env_id: str) -> Callable[..., Any]:
    """A PettingZoo-style module's ``parallel_env``, or its AEC ``env`` for turn-based games."""
    module = _import(env_id, env_id)
    for name in ("parallel_env", "env"):
        if callable(getattr(module, name, None)):
            return getattr(module, name)
    raise ValueError(f"module {env_id!r} has neither parallel_env() nor env() and cannot be made as an environment")


def _resolve_module(env_id: str) -> _Resolved:
    def build(**kwargs: Any) -> Any:
        return _module_factory(env_id)(**kwargs)

    def description() -> str:
        module = _import(env_id, env_id)
        # PettingZoo modules re-export raw_env from an implementation module whose docstring opens
        # with the environment's title.
        implementation = getattr(getattr(module, "raw_env", None), "__module__", None)
        title = _first_line(module.__doc__)
        if not title and implementation:
            title = _first_line(importlib.import_module(implementation).__doc__)
        return f"PettingZoo environment {env_id}" + (f": {title}" if title else "")

    def check_module_kwargs(kwargs: dict[str, Any]) -> None:
        # PettingZoo's parallel_env(**kwargs) forwards to raw_env, whose signature names the arguments.
        factory = _module_factory(env_id)
        _check_names(env_id, getattr(_import(env_id, env_id), "raw_env", factory), kwargs)

    return _Resolved(build, description, check_module_kwargs)


# -- unknown ids ---------------------------------------------------------------------------------

_THIRD_PARTY_ROOTS = ("pettingzoo", "mpe2")
_VERSIONED_MODULE = re.compile(r"[a-z][a-z0-9_]*_v\d+\.py")


def _third_party_modules() -> list[str]:
    """Versioned environment modules of the installed PettingZoo-style packages, found without importing them."""
    found: list[str] = []
    for root in _THIRD_PARTY_ROOTS:
        try:
            spec = importlib.util.find_spec(root)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            for directory, prefix in [(location, root)] + [
                (entry.path, f"{root}.{entry.name}")
                for entry in os.scandir(location)
                if entry.is_dir() and not entry.name.startswith(("_", "."))
            ]:
                for entry in os.scandir(directory):
                    if entry.is_file() and _VERSIONED_MODULE.fullmatch(entry.name):
                        found.append(f"{prefix}.{entry.name[:-3]}")
    return sorted(found)


def _unknown(env_id: str) -> ValueError:
    candidates = list(_SUITE) + list(_gymnasium_registry()) + _third_party_modules()
    close = difflib.get_close_matches(env_id, candidates, n=5, cutoff=0.6)
    if not close:
        # Compare the last dotted part too, so "sisl.multiwalker_v8" finds "pettingzoo.sisl.multiwalker_v9".
        tail = env_id.rsplit(".", 1)[-1]
        tails = {candidate.rsplit(".", 1)[-1]: candidate for candidate in candidates}
        close = [tails[t] for t in difflib.get_close_matches(tail, list(tails), n=5, cutoff=0.6)]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ValueError(
        f"unknown environment id {env_id!r}.{hint} An id is one of the suite's ({', '.join(ids())}), a Gymnasium id "
        "(e.g. 'CartPole-v1'), a PettingZoo module path (e.g. 'pettingzoo.sisl.multiwalker_v9') or "
        "'package.module:factory'."
    )


# -- ids from files -----------------------------------------------------------------------------

#: Packages whose modules the registry makes by path without that counting as code named by an id:
#: the suite itself and the PettingZoo-style environment families it knows.
_KNOWN_PACKAGES = ("envs",) + _THIRD_PARTY_ROOTS
_MODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


_TRUSTED_IDS: set[str] = set()


def trust_env_id(env_id: str) -> None:
    """Let this program make ``env_id`` (a ``module:factory`` id) even when a file names it.

    The program's own opt-in for exactly one id, e.g. a test environment it imports itself; ids
    read from files are otherwise refused by callers that ask :func:`code_reference`.
    """
    if not isinstance(env_id, str) or ":" not in env_id:
        raise ValueError(f"trust_env_id takes a 'package.module:factory' id, got {env_id!r}")
    _TRUSTED_IDS.add(env_id)


def code_reference(env_id: str) -> str | None:
    """What code making ``env_id`` would import because the id names it; None for registry ids.

    None for the suite's ids, Gymnasium ids and module paths inside the environment packages the
    registry knows (the suite, PettingZoo, MPE2); otherwise a short description such as
    ``"'system' of module 'os'"``. Nothing is imported to decide, so a caller can ask about an
    id read from an untrusted file before deciding to make it.
    """
    if not isinstance(env_id, str) or not env_id:
        return None
    if env_id in _SUITE or env_id in _TRUSTED_IDS or env_id in _gymnasium_registry():
        return None
    if ":" in env_id:
        module_name, _, attribute = env_id.partition(":")
        return f"{attribute!r} of module {module_name!r}"
    if "." in env_id:
        if _MODULE_PATH.fullmatch(env_id) and env_id.split(".", 1)[0] in _KNOWN_PACKAGES:
            return None
        return f"module {env_id!r}"
    return None


# -- public API ----------------------------------------------------------------------------------


def make(env_id: str, **kwargs: Any) -> Any:
    """Build an environment: a PettingZoo ``ParallelEnv`` for the suite's ids and PettingZoo modules
    (an AEC env for turn-based modules without ``parallel_env``), a Gymnasium env for Gymnasium ids,
    whatever the factory returns for ``module:factory``."""
    return _resolve(env_id).build(**kwargs)


@dataclass(frozen=True)
class EnvFactory:
    """A zero-argument, picklable environment constructor (for vectorised and remote rollouts)."""

    env_id: str
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __call__(self) -> Any:
        return make(self.env_id, **self.kwargs)


def make_factory(env_id: str, **kwargs: Any) -> EnvFactory:
    """A zero-argument factory for ``make(env_id, **kwargs)``.

    The id is resolved and, where the environment says which arguments it takes, the argument
    names (and for the suite's environments their values) are checked here, so that a mistake
    fails before any work starts rather than in a worker process.
    """
    _resolve(env_id).check_kwargs(dict(kwargs))
    return EnvFactory(env_id, dict(kwargs))


def describe(env_id: str) -> str:
    """A one-line description of any id ``make`` accepts."""
    return _resolve(env_id).description()


# -- listing -------------------------------------------------------------------------------------


class EnvSummary(NamedTuple):
    """One row of the environment listing."""

    env_id: str
    description: str
    agents: str
    observation_space: str
    action_space: str


def space_summary(space: Any) -> str:
    """A short human-readable description of a Gymnasium space."""
    from gymnasium import spaces

    if isinstance(space, spaces.Box):
        low, high = space.low.flat[0] if space.low.size else 0, space.high.flat[0] if space.high.size else 0
        uniform = space.low.size and (space.low == low).all() and (space.high == high).all()
        bounds = f"[{low:g}, {high:g}], " if uniform else ""
        return f"Box({bounds}{space.shape}, {space.dtype})"
    if isinstance(space, spaces.Discrete):
        return f"Discrete({space.n})" if space.start == 0 else f"Discrete({space.n}, start={space.start})"
    if isinstance(space, spaces.MultiDiscrete):
        return f"MultiDiscrete({space.nvec.tolist()})"
    if isinstance(space, spaces.MultiBinary):
        return f"MultiBinary({space.n})"
    if isinstance(space, spaces.Dict):
        return "Dict(" + ", ".join(f"{key}: {space_summary(sub)}" for key, sub in space.spaces.items()) + ")"
    if isinstance(space, spaces.Tuple):
        return "Tuple(" + ", ".join(space_summary(sub) for sub in space.spaces) + ")"
    return repr(space)


def _per_agent(agents: list[str], summary_of: Callable[[str], str]) -> str:
    groups: dict[str, list[str]] = {}
    for agent in agents:
        groups.setdefault(summary_of(agent), []).append(agent)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{', '.join(members)}: {summary}" for summary, members in groups.items())


def summaries(env_ids: list[str] | None = None) -> list[EnvSummary]:
    """Rows (id, description, agents, observation space, action space), one per environment.

    Defaults to the suite's ids; each environment is built with its default arguments to read
    its spaces, then closed.
    """
    rows = []
    for env_id in ids() if env_ids is None else env_ids:
        env = make(env_id)
        try:
            if hasattr(env, "possible_agents"):
                agents = list(env.possible_agents)
                observation = _per_agent(agents, lambda a, env=env: space_summary(env.observation_space(a)))
                action = _per_agent(agents, lambda a, env=env: space_summary(env.action_space(a)))
            else:
                agents = ["(single agent)"]
                observation, action = space_summary(env.observation_space), space_summary(env.action_space)
        finally:
            env.close()
        shown = ", ".join(agents) if len(agents) <= 4 else f"{agents[0]}, ..., {agents[-1]}"
        rows.append(
            EnvSummary(
                env_id, describe(env_id), f"{len(agents)}: {shown}" if len(agents) > 1 else shown, observation, action
            )
        )
    return rows
