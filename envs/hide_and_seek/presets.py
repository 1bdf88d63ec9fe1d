"""Arena settings: one validated dataclass and the published presets by name.

Counts accept an int or an inclusive ``(low, high)`` range sampled per episode; the world is
built for the upper ends so that spaces stay fixed while the counts vary.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, fields
from typing import Any

from .scenarios import BY_NAME as _SCENARIOS_BY_NAME

SCENARIOS = tuple(_SCENARIOS_BY_NAME)
RENDER_CAMERAS = ("overhead", "oblique", "track")

CountRange = tuple[int, int]


def _as_range(name: str, value: Any, low: int, high: int) -> CountRange:
    """Normalise an int or (low, high) pair and check it lies in [low, high]."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an int or a (low, high) pair in [{low}, {high}], got {value!r}")
    if isinstance(value, int):
        pair = (value, value)
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name} must be an int or a (low, high) pair in [{low}, {high}], got {value!r}")
    if not (low <= pair[0] <= pair[1] <= high):
        raise ValueError(f"{name} must lie in [{low}, {high}] with low <= high, got {value!r}")
    return pair


@dataclass
class ArenaConfig:
    """Every knob of the arena; defaults are the published full game.

    Distances in metres, angles in degrees. ``play_area`` is the side of the square (centred
    on the floor) outside which an agent is penalised; ``objects_out_penalty`` extends the
    penalty to boxes and ramps leaving it (the quadrant game); ``wrappers/limit_mvmnt.py:
    RestrictAgentsRect``. The full game's ``restrict_rect: [-6, -6, 12, 12]`` is an 18 m square,
    the quadrant game's ``[0.1, 0.1, 5.9, 5.9]`` a 5.8 m one (``examples/*.jsonnet``).
    """

    scenario: str = "random_rooms"
    n_hiders: int | CountRange = (1, 3)
    n_seekers: int | CountRange = (1, 3)
    n_boxes: int | CountRange = (3, 9)
    n_elongated_boxes: int | CountRange = (3, 9)
    n_ramps: int | CountRange = 2
    lock_ramps: bool = True
    horizon: int = 240
    prep_fraction: float = 0.4
    substeps: int = 15
    timestep: float = 0.005
    lidar_rays: int = 30
    lidar_range: float = 6.0
    outer_walls_probability: float = 0.5
    door_dropout: float = 0.5
    n_rooms: int | CountRange = (1, 4)
    doors: bool = True  # random rooms and tri: one door per inner wall, or closed rooms
    hiders_together_radius: float | None = 0.5  # random rooms: hiders 1.. spawn this close to hider 0
    seekers_together_radius: float | None = 0.5  # random rooms: seekers 1.. spawn this close to seeker 0
    floor_size: float = 6.0
    grid_size: int = 30
    play_area: float = 18.0
    objects_out_penalty: bool = False
    out_of_bounds_penalty: float = 10.0
    vision_cone_degrees: float = 135.0
    grab_radius: float = 0.25
    lock_radius: float = 0.25
    flat_actions: bool = False
    continuous_actions: bool = False  # movement as a Box of forces in [-0.9, 0.9] instead of bins
    flat_observations: bool = False  # one float32 Box per agent instead of the Dict (same fields)
    render_mode: str | None = None
    render_size: tuple[int, int] = (480, 480)
    render_overlays: bool = False
    render_camera: str = "overhead"  # "oblique", or "track": follows agent slot ``render_track_agent``
    render_track_agent: int = 0
    render_max_wall_height: float | None = None  # draw taller walls this high (pictures only)
    extra_wall_slots: int = 0  # spare wall slots for scripted scenes (``arrange(walls=...)``)

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            close = difflib.get_close_matches(str(self.scenario), SCENARIOS, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {self.scenario!r}.{hint}")
        self.n_hiders = _as_range("n_hiders", self.n_hiders, 1, 6)
        self.n_seekers = _as_range("n_seekers", self.n_seekers, 0, 6)
        self.n_boxes = _as_range("n_boxes", self.n_boxes, 0, 16)
        self.n_elongated_boxes = _as_range("n_elongated_boxes", self.n_elongated_boxes, 0, 16)
        self.n_ramps = _as_range("n_ramps", self.n_ramps, 0, 8)
        self.n_rooms = _as_range("n_rooms", self.n_rooms, 1, 8)
        _check_int("horizon", self.horizon, 1, 100_000)
        _check_int("substeps", self.substeps, 1, 1000)
        _check_int("lidar_rays", self.lidar_rays, 0, 512)
        _check_int("grid_size", self.grid_size, 10, 200)
        _check_int("extra_wall_slots", self.extra_wall_slots, 0, 64)
        _check_float("prep_fraction", self.prep_fraction, 0.0, 1.0, high_open=True)
        _check_float("timestep", self.timestep, 1e-4, 0.05)
        _check_float("lidar_range", self.lidar_range, 0.1, 100.0)
        _check_float("outer_walls_probability", self.outer_walls_probability, 0.0, 1.0)
        _check_float("door_dropout", self.door_dropout, 0.0, 1.0)
        _check_float("floor_size", self.floor_size, 2.0, 50.0)
        _check_float("play_area", self.play_area, 0.5 * self.floor_size, 1000.0)
        for name in ("hiders_together_radius", "seekers_together_radius"):
            if getattr(self, name) is not None:
                _check_float(name, getattr(self, name), 0.0, self.floor_size)
        _check_float("out_of_bounds_penalty", self.out_of_bounds_penalty, 0.0, 1e6)
        _check_float("vision_cone_degrees", self.vision_cone_degrees, 1.0, 360.0)
        _check_float("grab_radius", self.grab_radius, 0.0, 5.0)
        _check_float("lock_radius", self.lock_radius, 0.0, 5.0)
        if self.render_mode not in (None, "rgb_array", "human"):
            raise ValueError(f"render_mode must be None, 'rgb_array' or 'human', got {self.render_mode!r}")
        if (
            not isinstance(self.render_size, (tuple, list))
            or len(self.render_size) != 2
            or not all(isinstance(v, int) and 16 <= v <= 1280 for v in self.render_size)
        ):
            raise ValueError(f"render_size must be (height, width) ints in [16, 1280], got {self.render_size!r}")
        self.render_size = (int(self.render_size[0]), int(self.render_size[1]))
        if self.render_camera not in RENDER_CAMERAS:
            close = difflib.get_close_matches(str(self.render_camera), RENDER_CAMERAS, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(
                f"render_camera must be one of {', '.join(RENDER_CAMERAS)}, got {self.render_camera!r}.{hint}"
            )
        _check_int("render_track_agent", self.render_track_agent, 0, self.n_hiders[1] + self.n_seekers[1] - 1)
        if self.render_max_wall_height is not None:
            _check_float("render_max_wall_height", self.render_max_wall_height, 0.05, 100.0)
        if self.n_elongated_boxes[0] > self.n_boxes[0]:  # modules/objects.py draws it up to the box count
            raise ValueError(
                f"n_elongated_boxes lower end {self.n_elongated_boxes[0]} exceeds the smallest n_boxes "
                f"{self.n_boxes[0]}; allowed lower end is [0, {self.n_boxes[0]}]"
            )
        capacity = self.placement_capacity()
        if self.max_objects_footprint() > capacity:
            raise ValueError(
                f"n_hiders + n_seekers + n_boxes + n_ramps need about {self.max_objects_footprint()} grid "
                f"cells but the {self.grid_size}x{self.grid_size} floor holds only {capacity}; lower the counts "
                f"or raise floor_size"
            )

    @property
    def max_hiders(self) -> int:
        return self.n_hiders[1]

    @property
    def max_seekers(self) -> int:
        return self.n_seekers[1]

    @property
    def max_agents(self) -> int:
        return self.n_hiders[1] + self.n_seekers[1]

    @property
    def max_boxes(self) -> int:
        return self.n_boxes[1]

    @property
    def max_ramps(self) -> int:
        return self.n_ramps[1]

    @property
    def cell_size(self) -> float:
        return self.floor_size / self.grid_size

    def footprint_cells(self, extent: float) -> int:
        """Side of the square of grid cells an object of ``extent`` metres occupies."""
        return max(1, int(-(-extent // self.cell_size)))

    def max_objects_footprint(self) -> int:
        """Grid cells the largest entity counts occupy (a quick feasibility bound)."""
        agent = self.footprint_cells(0.3) ** 2
        cube = self.footprint_cells(0.5) ** 2
        long_box = self.footprint_cells(1.65) * self.footprint_cells(0.15)
        ramp = self.footprint_cells(0.5) ** 2
        boxes = max(cube, long_box) * self.max_boxes
        return agent * self.max_agents + boxes + ramp * self.max_ramps

    def placement_capacity(self) -> int:
        """Usable cells: a third of the floor, leaving room for walls and rejection sampling."""
        cells = self.grid_size * self.grid_size
        cells = int(cells * _SCENARIOS_BY_NAME[self.scenario].placement_share)  # the quadrant game: a quarter
        return cells // 3

    def to_dict(self) -> dict[str, Any]:
        """Plain keyword arguments that rebuild this configuration."""
        return asdict(self)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")


def _check_float(name: str, value: Any, low: float, high: float, high_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = low <= float(value) < high if high_open else low <= float(value) <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, got {value!r}")


#: The published settings by name (Baker et al. 2019).
PRESETS: dict[str, dict[str, Any]] = {
    "full_game": dict(
        scenario="random_rooms",
        n_hiders=(1, 3),
        n_seekers=(1, 3),
        n_boxes=(3, 9),
        n_elongated_boxes=(3, 9),
        n_ramps=2,
        lock_ramps=True,
        horizon=240,
        outer_walls_probability=0.5,
        play_area=18.0,
        objects_out_penalty=False,
    ),
    "quadrant": dict(
        scenario="quadrant",
        n_hiders=2,
        n_seekers=2,
        n_boxes=2,
        n_elongated_boxes=0,
        n_ramps=1,
        lock_ramps=False,
        horizon=80,
        outer_walls_probability=1.0,
        door_dropout=0.5,
        play_area=5.8,
        objects_out_penalty=True,
    ),
    "empty": dict(
        scenario="empty",
        n_hiders=2,
        n_seekers=2,
        n_boxes=2,
        n_elongated_boxes=0,
        n_ramps=1,
        horizon=80,
        outer_walls_probability=1.0,
        play_area=6.0,
    ),
}


def make_config(preset: str | None = None, **overrides: Any) -> ArenaConfig:
    """Build a config from a preset name (or the defaults) with keyword overrides."""
    known = {f.name for f in fields(ArenaConfig)}
    unknown = [k for k in overrides if k not in known]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(known), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown argument {name!r} for hide_and_seek.{hint}")
    base: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            close = difflib.get_close_matches(str(preset), PRESETS, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}.{hint}")
        base = dict(PRESETS[preset])
    base.update(overrides)
    return ArenaConfig(**base)
