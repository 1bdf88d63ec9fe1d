"""What an environment offers for recording and drawing its episodes.

An environment that supports replays implements :class:`Replayable`: it hands out, at every
step, a frame of plain arrays (poses and events), can put its world back into a recorded
frame, and describes its current state as a flat list of 2D shapes in world coordinates.
The ``replays`` package records frames, restores them to render, and draws the shapes; it
never needs to know which environment it is looking at.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

Color = tuple[int, int, int]

#: Layers a renderer may switch on and off; shapes of the "body" layer are always drawn.
OVERLAY_LAYERS = ("body", "lidar", "vision", "sight", "grab", "lock", "label")


@dataclass(frozen=True)
class Circle:
    """A disc centred at ``center`` (metres, world frame)."""

    center: tuple[float, float]
    radius: float
    color: Color
    layer: str = "body"
    filled: bool = True
    heading: float | None = None  # radians; drawn as a tick from the centre when given


@dataclass(frozen=True)
class Polygon:
    """A closed polygon given by its corners in world coordinates."""

    points: tuple[tuple[float, float], ...]
    color: Color
    layer: str = "body"
    filled: bool = True


@dataclass(frozen=True)
class Segment:
    """A line from ``start`` to ``end`` (rays, lines of sight, grab links)."""

    start: tuple[float, float]
    end: tuple[float, float]
    color: Color
    layer: str = "body"
    width: float = 1.0  # pixels


@dataclass(frozen=True)
class Wedge:
    """A circular sector: a vision cone of half-angle ``half_angle`` around ``heading``."""

    center: tuple[float, float]
    radius: float
    heading: float
    half_angle: float
    color: Color
    layer: str = "vision"


Shape = Circle | Polygon | Segment | Wedge


@dataclass
class Scene:
    """Everything to draw for one step: the world's extent and its shapes, back to front."""

    bounds: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max in metres
    shapes: list[Shape] = field(default_factory=list)
    background: Color = (235, 235, 228)
    caption: str = ""


@runtime_checkable
class Replayable(Protocol):
    """The replay interface of an environment of the suite.

    ``replay_static`` is called once after reset, ``replay_frame`` after reset and after every
    step. Arrays keep their shape for a whole episode, so frames stack into ``[steps, ...]``
    arrays. ``restore_replay_frame`` puts the world in the recorded state (for rendering,
    not for stepping on); ``scene`` then describes that state to a 2D renderer.

    The suite's environments also implement :class:`ReportsSettings`, so that an episode file
    names the settings that rebuild them however they were made.
    """

    def replay_static(self) -> dict[str, np.ndarray]:
        """Episode-constant data: layout, sizes, entity counts, team of each agent."""
        ...

    def replay_frame(self) -> dict[str, np.ndarray]:
        """This step's poses and events as arrays of fixed shape."""
        ...

    def restore_replay_frame(self, static: dict[str, np.ndarray], frame: dict[str, np.ndarray]) -> None:
        """Put the world into a recorded state so that it can be drawn or rendered."""
        ...

    def scene(self) -> Scene:
        """The current state as 2D shapes in world coordinates."""
        ...


@runtime_checkable
class ReportsSettings(Protocol):
    """An environment that can say how to build it again (the settings a replay records)."""

    def replay_settings(self) -> tuple[str, dict[str, Any]]:
        """``(env_id, kwargs)`` such that ``envs.make(env_id, **kwargs)`` builds an environment with
        the same settings (``render_mode`` left out: a renderer chooses its own)."""
        ...


def constructor_settings(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``type(instance)(*args, **kwargs)`` amounts to, by parameter name
    (``**kwargs`` spread out), leaving out ``render_mode`` and named parameters left at their default."""
    signature = inspect.signature(type(instance).__init__)
    settings: dict[str, Any] = {}
    for name, value in list(signature.bind(instance, *args, **kwargs).arguments.items())[1:]:
        parameter = signature.parameters[name]
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            settings.update(value)
        elif value is not parameter.default:
            settings[name] = value
    settings.pop("render_mode", None)
    return settings
