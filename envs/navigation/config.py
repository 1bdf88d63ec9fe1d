"""The parameters of the navigation task, validated before a world is built."""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NavigationConfig:
    """Parameters of ``navigation_v0``; every field is a keyword of ``parallel_env``.

    Distances are in world units (the spawn square is ``[-spawn_half_size, spawn_half_size]^2``).
    """

    n_agents: int = 3
    n_landmarks: int | None = None  # None: as many landmarks as agents
    max_cycles: int = 25
    continuous_actions: bool = False
    observation_radius: float | None = None  # None: full observability
    collision_penalty: float = 1.0
    agent_radius: float = 0.15
    landmark_radius: float = 0.05
    cover_radius: float = 0.1  # a landmark counts as covered (statistics only) within this distance
    spawn_half_size: float = 1.0
    arena_half_size: float = 2.0
    acceleration: float = 5.0
    dt: float = 0.1
    damping: float = 0.25
    contact_force: float = 100.0
    contact_margin: float = 1e-3
    render_mode: str | None = None

    def __post_init__(self) -> None:
        _require_int("n_agents", self.n_agents, minimum=1)
        if self.n_landmarks is not None:
            _require_int("n_landmarks", self.n_landmarks, minimum=1)
        _require_int("max_cycles", self.max_cycles, minimum=1)
        if not isinstance(self.continuous_actions, bool):
            raise ValueError(f"continuous_actions must be True or False, got {self.continuous_actions!r}")
        if self.observation_radius is not None:
            _require_positive("observation_radius", self.observation_radius, allow_none_hint=True)
        _require_non_negative("collision_penalty", self.collision_penalty)
        for name in (
            "agent_radius",
            "landmark_radius",
            "cover_radius",
            "spawn_half_size",
            "acceleration",
            "dt",
            "contact_force",
            "contact_margin",
        ):
            _require_positive(name, getattr(self, name))
        _require_positive("arena_half_size", self.arena_half_size)
        if self.arena_half_size < self.spawn_half_size:
            raise ValueError(
                f"arena_half_size ({self.arena_half_size}) must be at least spawn_half_size "
                f"({self.spawn_half_size}); entities spawn inside the arena"
            )
        if not (isinstance(self.damping, (int, float)) and 0.0 <= self.damping < 1.0):
            raise ValueError(f"damping must be a number in [0, 1), got {self.damping!r}")
        if self.render_mode not in (None, "human", "rgb_array"):
            raise ValueError(f"render_mode must be None, 'human' or 'rgb_array', got {self.render_mode!r}")

    @property
    def landmark_count(self) -> int:
        """The number of landmarks (``n_landmarks``, or ``n_agents`` when it is None)."""
        return self.n_agents if self.n_landmarks is None else self.n_landmarks

    @property
    def partially_observable(self) -> bool:
        """Whether agents only see entities within ``observation_radius``."""
        return self.observation_radius is not None

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> NavigationConfig:
        """Build a config from keyword arguments; unknown names raise with the closest valid names."""
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = [name for name in kwargs if name not in valid]
        if unknown:
            hints = {name: difflib.get_close_matches(name, valid, n=3) for name in unknown}
            details = "; ".join(
                f"{name!r} (did you mean {', '.join(hints[name]) or 'none close'}?)" for name in unknown
            )
            raise ValueError(f"navigation_v0 got unknown argument(s) {details}. Valid arguments: {', '.join(valid)}")
        return cls(**kwargs)


def _require_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _require_positive(name: str, value: Any, allow_none_hint: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        hint = " (or None for full observability)" if allow_none_hint else ""
        raise ValueError(f"{name} must be a finite number > 0{hint}, got {value!r}")


def _require_non_negative(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
