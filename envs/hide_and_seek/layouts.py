"""Room layouts on the placement grid and rejection sampling of entity positions.

A layout is a list of wall segments plus an occupancy grid; nothing here touches MuJoCo.
Walls lie on grid lines, so a wall along grid line ``k`` blocks the cells on both sides of it.
Coordinates: the floor spans ``[0, floor_size]`` in x and y, cell ``(i, j)`` covers
``[i, i + 1) * cell`` in x and ``[j, j + 1) * cell`` in y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .presets import ArenaConfig

INNER_WALL_HEIGHT = 0.5
OUTER_WALL_HEIGHT = 4.0
DOOR_CELLS = 2
MIN_ROOM_CELLS = 6



def wall_slots(config: ArenaConfig) -> int:
    """Most wall segments the scenario can produce: 4 outer walls plus two per inner wall."""
    inner = {"quadrant": 2, "random_rooms": config.n_rooms[1] - 1, "empty": 0}[config.scenario]
    return 4 + 2 * inner + config.extra_wall_slots


@dataclass
class Layout:
    """Walls as ``[W, 5]`` rows (x0, y0, x1, y1, height) in metres, and placement regions.

    ``blocked`` marks cells that walls cover; ``inside`` marks the cells of the special room
    (the quadrant game's room), all False for other scenarios.
    """

    walls: np.ndarray
    blocked: np.ndarray
    inside: np.ndarray
    outer_walls: bool


def _wall_line(
    walls: list[tuple[float, ...]], blocked: np.ndarray, axis: int, line: int, start: int, end: int,
    cell: float, height: float, door: tuple[int, int] | None,
) -> None:
    """Add a wall on grid line ``line`` across cells [start, end), leaving ``door`` open."""
    spans = [(start, end)] if door is None else [(start, door[0]), (door[1], end)]
    for lo, hi in spans:
        if hi <= lo:
            continue
        if axis == 0:  # wall at x = line, running along y
            walls.append((line * cell, lo * cell, line * cell, hi * cell, height))
        else:
            walls.append((lo * cell, line * cell, hi * cell, line * cell, height))
    cells = np.arange(start, end)
    if door is not None:
        cells = cells[(cells < door[0]) | (cells >= door[1])]
    for side in (line - 1, line):
        if 0 <= side < blocked.shape[0]:
            if axis == 0:
                blocked[side, cells] = True
            else:
                blocked[cells, side] = True


def _door(rng: np.random.Generator, start: int, end: int) -> tuple[int, int]:
    """A door of DOOR_CELLS cells strictly inside [start, end)."""
    low, high = start + 1, end - 1 - DOOR_CELLS
    first = int(rng.integers(low, high + 1)) if high >= low else start
    return first, first + DOOR_CELLS


def make_layout(config: ArenaConfig, rng: np.random.Generator) -> Layout:
    """Sample this episode's walls for the configured scenario."""
    n = config.grid_size
    cell = config.cell_size
    walls: list[tuple[float, ...]] = []
    blocked = np.zeros((n, n), dtype=bool)
    blocked[0, :] = blocked[-1, :] = blocked[:, 0] = blocked[:, -1] = True
    inside = np.zeros((n, n), dtype=bool)
    outer = bool(rng.random() < config.outer_walls_probability)
    if outer:
        for axis, line in ((0, 0), (0, n), (1, 0), (1, n)):
            _wall_line(walls, blocked, axis, line, 0, n, cell, OUTER_WALL_HEIGHT, None)
    if config.scenario == "quadrant":
        half = n // 2
        inside[half:, half:] = True
        for axis in (0, 1):
            door = None if rng.random() < config.door_dropout else _door(rng, half, n)
            _wall_line(walls, blocked, axis, half, half, n, cell, INNER_WALL_HEIGHT, door)
    elif config.scenario == "random_rooms":
        n_rooms = int(rng.integers(config.n_rooms[0], config.n_rooms[1] + 1))
        _split_rooms(walls, blocked, rng, n_rooms, n, cell, config.doors)
    return Layout(np.array(walls, dtype=np.float64).reshape(-1, 5), blocked, inside, outer)


def _split_rooms(
    walls: list[tuple[float, ...]], blocked: np.ndarray, rng: np.random.Generator, n_rooms: int, n: int,
    cell: float, doors: bool = True,
) -> None:
    """Recursively split the floor into ``n_rooms`` rooms, each inner wall with one door (if ``doors``)."""
    rooms = [(0, 0, n, n)]  # x0, y0, x1, y1 in cells
    while len(rooms) < n_rooms:
        order = rng.permutation(len(rooms))
        split_done = False
        for index in order:
            x0, y0, x1, y1 = rooms[index]
            axes = [a for a, size in ((0, x1 - x0), (1, y1 - y0)) if size >= 2 * MIN_ROOM_CELLS]
            if not axes:
                continue
            axis = int(rng.choice(axes))
            lo, hi = (x0, x1) if axis == 0 else (y0, y1)
            line = int(rng.integers(lo + MIN_ROOM_CELLS, hi - MIN_ROOM_CELLS + 1))
            along = (y0, y1) if axis == 0 else (x0, x1)
            _wall_line(walls, blocked, axis, line, along[0], along[1], cell, INNER_WALL_HEIGHT,
                       _door(rng, *along) if doors else None)
            rooms.pop(index)
            if axis == 0:
                rooms += [(x0, y0, line, y1), (line, y0, x1, y1)]
            else:
                rooms += [(x0, y0, x1, line), (x0, line, x1, y1)]
            split_done = True
            break
        if not split_done:
            return


class PlacementError(RuntimeError):
    """No free spot was left for an entity; the caller resamples the layout."""


def place(
    occupied: np.ndarray, region: np.ndarray, size_x: int, size_y: int, rng: np.random.Generator,
) -> tuple[int, int]:
    """Pick a random free ``size_x`` x ``size_y`` block of cells inside ``region`` and mark it.

    Rejection sampling over all valid blocks at once: a 2D prefix sum counts the bad cells of
    every candidate block, and one of the blocks with none is drawn uniformly.
    Returns the lower-left cell of the block.
    """
    bad = (occupied | ~region).astype(np.int32)
    n_x, n_y = bad.shape
    if size_x > n_x or size_y > n_y:
        raise PlacementError("object larger than the floor")
    prefix = np.zeros((n_x + 1, n_y + 1), dtype=np.int32)
    prefix[1:, 1:] = bad.cumsum(0).cumsum(1)
    counts = (
        prefix[size_x:, size_y:] - prefix[:-size_x, size_y:] - prefix[size_x:, :-size_y] + prefix[:-size_x, :-size_y]
    )
    free = np.flatnonzero(counts == 0)
    if free.size == 0:
        raise PlacementError("no free block left")
    choice = int(free[rng.integers(free.size)])
    i, j = divmod(choice, counts.shape[1])
    occupied[i:i + size_x, j:j + size_y] = True
    return i, j
