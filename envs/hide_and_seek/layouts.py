"""Room layouts on the placement grid, as the original draws them, and spawn regions.

The original works on a grid of ``grid_size`` x ``grid_size`` cells (0.2 m for the published
6 m floor). A wall joins two cells in a row or column and covers every cell between them
(``mae_envs/modules/walls.py: Wall``); in MuJoCo it runs from the centre of its first cell to
the centre of its last, shortened by half a thickness at each end so that perpendicular walls
meet without overlapping (``walls_to_mujoco``). A door of 2 cells is therefore a 0.70 m free
gap between the wall ends. Doors are cut after all walls exist (``split_walls``), so no later
wall ever cuts one.

Spawn regions follow the original's placement functions (``mae_envs/modules/util.py``,
``mae_envs/envs/hide_and_seek.py``, ``mae_envs/envs/box_locking.py``): each names the grid
cells where an object's lower-left cell may go. Nothing here touches MuJoCo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INNER_WALL_HEIGHT = 0.5  # modules/walls.py: Wall(height=0.5)
OUTER_WALL_HEIGHT = 4.0  # modules/walls.py: outside_walls
DOOR_CELLS = 2  # envs/hide_and_seek.py, envs/box_locking.py: make_env(door_size=2)
MIN_ROOM_CELLS = 6  # envs/hide_and_seek.py: RandomWalls(min_room_size=6)
SPLIT_TRIES = 10  # modules/walls.py: choose_new_split(num_tries=10), RandomWalls(num_tries=10)
QUADRANT_FRACTION = 0.5  # modules/walls.py: WallScenarios, scenario 'quadrant'
#: Half the thickness of every wall in metres: the original's wall is half a cell thick
#: (``walls_to_mujoco``: ``wall_width = floor_size / grid_size / 2``), 0.1 m on the published grid.
WALL_HALF_THICKNESS = 0.05


class PlacementError(RuntimeError):
    """No layout or free spot was found; the caller resamples the layout."""


class GridWall:
    """A wall between two cells of one row or column, both included (``modules/walls.py: Wall``).

    ``left_edges``/``right_edges`` collect the points where later walls branch off (for a
    horizontal wall, left means below); doors go between consecutive branch points.
    """

    def __init__(self, pt1: tuple[int, int], pt2: tuple[int, int], height: float = INNER_WALL_HEIGHT) -> None:
        if pt1[0] != pt2[0] and pt1[1] != pt2[1]:
            raise ValueError("walls run along a row or a column of the grid")
        self.is_vertical = pt1[0] == pt2[0]
        low, high = (pt2, pt1) if np.any(np.array(pt2) - np.array(pt1) < 0) else (pt1, pt2)
        self.pt1 = np.array(low, dtype=np.int64)
        self.pt2 = np.array(high, dtype=np.int64)
        self.length = int(np.linalg.norm(self.pt2 - self.pt1))
        self.height = height
        self.left_edges = [self.pt1, self.pt2]
        self.right_edges = [self.pt1, self.pt2]

    def is_touching(self, point: np.ndarray) -> bool:
        """Whether ``point`` lies on this wall."""
        if self.is_vertical:
            return point[0] == self.pt1[0] and self.pt1[1] <= point[1] <= self.pt2[1]
        return point[1] == self.pt1[1] and self.pt1[0] <= point[0] <= self.pt2[0]

    def maybe_add_edge(self, wall: GridWall) -> None:
        """Record ``wall`` as branching off this one where it starts or ends on it."""
        if self.is_vertical == wall.is_vertical:
            return
        if self.is_touching(wall.pt1):
            self.right_edges.append(wall.pt1)
        elif self.is_touching(wall.pt2):
            self.left_edges.append(wall.pt2)

    def intersects(self, wall: GridWall) -> bool:
        """Whether a perpendicular ``wall`` crosses this one (touching ends do not count)."""
        if self.is_vertical == wall.is_vertical:
            return False
        return bool(np.all((self.pt1 < wall.pt2) & (wall.pt1 < self.pt2)))

    def split_for_doors(self, rng: np.random.Generator, door_size: int) -> list[GridWall]:
        """The pieces left after cutting one door of ``door_size`` cells (``Wall.split_for_doors``).

        The door goes into a random stretch between consecutive branch points long enough for
        it; a wall with no such stretch, or ``door_size`` 0, stays whole.
        """
        edges = np.unique(np.array(self.left_edges + self.right_edges), axis=0)
        along = 1 if self.is_vertical else 0
        edges = edges[np.argsort(edges[:, along], kind="stable")]
        diffs = np.diff(edges[:, along])
        regions = np.flatnonzero(diffs >= door_size + 1)
        if door_size == 0 or regions.size == 0:
            return [self]
        region = int(regions[rng.integers(regions.size)])
        door_start = int(rng.integers(1, diffs[region] - door_size + 1))  # cells after the branch point
        door_end = door_start + door_size - 1
        end = edges[region].copy()
        end[along] += door_start - 1
        resume = edges[region].copy()
        resume[along] += door_end + 1
        pieces = []
        if np.linalg.norm(end - edges[0]) > 0:
            pieces.append(GridWall(tuple(edges[0]), tuple(end), self.height))
        if np.linalg.norm(resume - edges[-1]) > 0:
            pieces.append(GridWall(tuple(resume), tuple(edges[-1]), self.height))
        return pieces


def outside_walls(grid_size: int) -> list[GridWall]:
    """The four outer walls through the border cells (``modules/walls.py: outside_walls``)."""
    last = grid_size - 1
    return [
        GridWall((0, 0), (0, last), OUTER_WALL_HEIGHT),
        GridWall((0, 0), (last, 0), OUTER_WALL_HEIGHT),
        GridWall((last, 0), (last, last), OUTER_WALL_HEIGHT),
        GridWall((0, last), (last, last), OUTER_WALL_HEIGHT),
    ]


def _connect_walls(first: GridWall, second: GridWall, min_distance: int, rng: np.random.Generator) -> GridWall | None:
    """A random wall from ``first`` to the parallel ``second``, or None (``connect_walls``)."""
    if first.is_vertical != second.is_vertical or first.length <= 1:
        return None
    offset = int(rng.integers(1, first.length))
    if first.is_vertical:
        pt1 = np.array([first.pt1[0], first.pt1[1] + offset])
        pt2 = np.array([second.pt1[0], first.pt1[1] + offset])
    else:
        pt1 = np.array([first.pt1[0] + offset, first.pt1[1]])
        pt2 = np.array([first.pt1[0] + offset, second.pt1[1]])
    edges = first.left_edges if np.any(pt2 - pt1 < 0) else first.right_edges
    closest = np.linalg.norm(pt1[None, :] - np.array(edges), axis=1).min()
    if second.is_touching(pt2) and closest > min_distance:
        return GridWall(tuple(pt1), tuple(pt2))
    return None


def _choose_new_split(walls: list[GridWall], min_distance: int, rng: np.random.Generator) -> GridWall | None:
    """A new wall between two parallel walls that crosses none (``choose_new_split``)."""
    for _ in range(SPLIT_TRIES):
        first = walls[int(rng.integers(len(walls)))]
        proposed = [_connect_walls(first, second, min_distance, rng) for second in walls if second is not first]
        proposed = [w for w in proposed if w is not None and not any(w.intersects(other) for other in walls)]
        if proposed:
            new = proposed[int(rng.integers(len(proposed)))]
            for wall in walls:
                wall.maybe_add_edge(new)
                new.maybe_add_edge(wall)
            return new
    return None


def random_room_walls(grid_size: int, n_rooms: int, rng: np.random.Generator) -> list[GridWall]:
    """Outer walls plus ``n_rooms - 1`` inner walls, without doors (``RandomWalls.build_world_step``)."""
    walls = outside_walls(grid_size)
    failures = 0
    while len(walls) < n_rooms + 3:
        new = _choose_new_split(walls, MIN_ROOM_CELLS, rng)
        if new is None:
            walls = outside_walls(grid_size)
            failures += 1
            if failures == SPLIT_TRIES:
                raise PlacementError(f"no layout of {n_rooms} rooms found")
        else:
            walls.append(new)
    return walls


def with_doors(walls: list[GridWall], rng: np.random.Generator, door_size: int) -> list[GridWall]:
    """Every wall cut by one door, once all walls exist (``split_walls``)."""
    return [piece for wall in walls for piece in wall.split_for_doors(rng, door_size)]


@dataclass
class Layout:
    """One episode's walls and the grid the entities are placed on.

    ``walls`` are ``[W, 5]`` rows (x0, y0, x1, y1, height) in metres: each wall's centre line
    from one end of its box to the other (the box is ``2 * WALL_HALF_THICKNESS`` thick).
    ``blocked`` marks the cells walls run through. ``rooms`` holds inclusive cell ranges
    ``((x_low, x_high), (y_low, y_high))`` of named rooms: the quadrant game's ``"quadrant"``
    (its size in cells) and the three rooms of ``"tri"`` layouts.
    """

    walls: np.ndarray
    blocked: np.ndarray
    outer_walls: bool
    rooms: dict[str, object] = field(default_factory=dict)


def grid_walls_to_metres(walls: list[GridWall], cell: float) -> np.ndarray:
    """``[W, 5]`` wall boxes in metres as ``modules/walls.py: walls_to_mujoco`` builds them."""
    rows = []
    for wall in walls:
        start = (wall.pt1 + 0.5) * cell
        end = (wall.pt2 + 0.5) * cell
        along = 1 if wall.is_vertical else 0
        start[along] += WALL_HALF_THICKNESS
        end[along] -= WALL_HALF_THICKNESS
        rows.append((start[0], start[1], end[0], end[1], wall.height))
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def blocked_cells(walls: list[GridWall], grid_size: int) -> np.ndarray:
    """Cells the walls run through (``modules/walls.py: add_walls_to_grid``)."""
    grid = np.zeros((grid_size, grid_size), dtype=bool)
    for wall in walls:
        if wall.is_vertical:
            grid[wall.pt1[0], wall.pt1[1] : wall.pt2[1] + 1] = True
        else:
            grid[wall.pt1[0] : wall.pt2[0] + 1, wall.pt1[1]] = True
    return grid


def quadrant_walls(grid_size: int, door_dropout: float, rng: np.random.Generator) -> tuple[list[GridWall], int]:
    """Outer walls and the two walls of the room in the lower-right corner, with 1 or 2 doors.

    ``modules/walls.py: WallScenarios`` (scenario 'quadrant'): with probability
    ``p_door_dropout`` one randomly chosen wall keeps no door, else both get one.
    Returns the walls and the room's size in cells.
    """
    size = int(QUADRANT_FRACTION * grid_size)
    room = [
        GridWall((grid_size - size, 0), (grid_size - size, size)),
        GridWall((grid_size - size, size), (grid_size - 1, size)),
    ]
    if rng.uniform(0, 1) < door_dropout:
        keep = int(rng.integers(0, 2))
        whole, to_split = [room[1 - keep]], [room[keep]]
    else:
        whole, to_split = [], room
    return outside_walls(grid_size) + whole + with_doors(to_split, rng, DOOR_CELLS), size


def tri_walls(grid_size: int, rng: np.random.Generator, door_size: int) -> tuple[list[GridWall], list]:
    """Outer walls and three rooms, one about half the floor (``WallScenarios``, scenario 'var_tri').

    Returns the walls and the rooms' inclusive-exclusive cell ranges as the original's
    ``tri_room_grid_cell_range`` (``[(x_low, x_high), (y_low, y_high)]`` per room).
    """
    n = grid_size
    first, second = (int(n * rng.uniform(0.4, 0.6)) for _ in range(2))
    vertical = rng.uniform() < 0.5
    left = rng.uniform() < 0.5
    if not vertical:
        split = [GridWall((n - 1, first), (0, first))]
        if left:
            split.append(GridWall((second, first), (second, 0)))
            rooms = [
                [(1, n - 1), (first + 1, n - 1)],
                [(1, second - 1), (1, first - 1)],
                [(second + 1, n - 1), (1, first - 1)],
            ]
        else:
            split.append(GridWall((second, n - 1), (second, first)))
            rooms = [
                [(1, n - 1), (0, first - 1)],
                [(1, second - 1), (first + 1, n - 1)],
                [(second + 1, n - 1), (first + 1, n - 1)],
            ]
    else:
        split = [GridWall((first, n - 1), (first, 0))]
        if left:
            split.append(GridWall((first, second), (0, second)))
            rooms = [
                [(first + 1, n - 1), (1, n - 1)],
                [(1, first - 1), (1, second - 1)],
                [(1, first - 1), (second + 1, n - 1)],
            ]
        else:
            split.append(GridWall((n - 1, second), (first, second)))
            rooms = [
                [(0, first - 1), (1, n - 1)],
                [(first + 1, n - 1), (1, second - 1)],
                [(first + 1, n - 1), (second + 1, n - 1)],
            ]
    # the second wall branches off the first (the original draws them without recording it)
    return outside_walls(n) + with_doors(split, rng, door_size), rooms


# ------------------------------------------------------------------------------------------------
# spawn regions: where an object of ``size`` cells may put its lower-left cell (inclusive ranges)
Ranges = list[tuple[tuple[int, int], tuple[int, int]]]


def uniform_region(grid_size: int, size: tuple[int, int]) -> Ranges:
    """Anywhere on the floor off the border cells (``modules/util.py: uniform_placement``)."""
    return [((1, grid_size - size[0] - 2), (1, grid_size - size[1] - 2))]


def quadrant_region(grid_size: int, room: int, size: tuple[int, int]) -> Ranges:
    """Inside the quadrant room (``envs/hide_and_seek.py: quadrant_placement``)."""
    return [((grid_size - room, grid_size - size[0] - 2), (1, room - size[1] - 2))]


def outside_quadrant_region(grid_size: int, room: int, size: tuple[int, int]) -> Ranges:
    """The three quarters outside the room (``envs/hide_and_seek.py: outside_quadrant_placement``)."""
    n, (sx, sy) = grid_size, size
    return [
        ((1, n - room - sx - 2), (1, room - sy - 2)),
        ((1, n - room - sx - 2), (room, n - sy - 2)),
        ((n - room, n - sx - 2), (room, n - sy - 2)),
    ]


def close_region(grid_size: int, anchor: tuple[int, int], radius: int) -> Ranges:
    """Within ``radius`` cells of another object's cell (``close_to_other_object_placement``)."""
    low = np.maximum(1, np.array(anchor) - radius)
    high = np.minimum(grid_size - 1, np.array(anchor) + radius) - 1
    return [((int(low[0]), int(high[0])), (int(low[1]), int(high[1])))]


def middle_region(grid_size: int, fraction: float, size: tuple[int, int]) -> Ranges:
    """The middle ``fraction`` of the floor's side (``modules/util.py: uniform_placement_middle``)."""
    spare = grid_size - np.array(size)
    low = (spare * (1 - fraction) / 2 + fraction).astype(int)
    high = (spare * (1 + fraction) / 2 - fraction).astype(int) - 1
    return [((int(low[0]), int(high[0])), (int(low[1]), int(high[1])))]


def tri_room_region(rooms: list, index: int, size: tuple[int, int]) -> Ranges:
    """Inside room ``index`` of a 'var_tri' layout (``envs/box_locking.py: tri_placement``)."""
    (x_low, x_high), (y_low, y_high) = rooms[index]
    return [((x_low, x_high - size[0] - 1), (y_low, y_high - size[1] - 1))]


def place(occupied: np.ndarray, region: Ranges, size: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
    """Pick a lower-left cell in ``region`` whose ``size`` block is free, and mark the block.

    The original draws a cell from the region and retries when the block is taken
    (``modules/util.py: rejection_placement``); this draws uniformly among the free blocks at
    once (a 2D prefix sum counts the taken cells of every candidate block), which is the same
    distribution given success.
    """
    n_x, n_y = occupied.shape
    sx, sy = size
    if sx > n_x or sy > n_y:
        raise PlacementError("object larger than the floor")
    taken = occupied.astype(np.int32)
    prefix = np.zeros((n_x + 1, n_y + 1), dtype=np.int32)
    prefix[1:, 1:] = taken.cumsum(0).cumsum(1)
    counts = prefix[sx:, sy:] - prefix[:-sx, sy:] - prefix[sx:, :-sy] + prefix[:-sx, :-sy]
    allowed = np.zeros_like(counts, dtype=bool)
    for (x_low, x_high), (y_low, y_high) in region:
        allowed[max(x_low, 0) : x_high + 1, max(y_low, 0) : y_high + 1] = True
    free = np.flatnonzero(allowed & (counts == 0))
    if free.size == 0:
        raise PlacementError("no free block left")
    choice = int(free[rng.integers(free.size)])
    i, j = divmod(choice, counts.shape[1])
    occupied[i : i + sx, j : j + sy] = True
    return i, j


def spot_in_metres(
    cell: tuple[int, int],
    size_cells: tuple[int, int],
    extent: tuple[float, float],
    cell_size: float,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Centre of an object of ``extent`` metres placed at ``cell``, jittered within its cells.

    ``rejection_placement`` puts the object's corner at the cell's corner plus a uniform
    offset within the room its cells leave around it.
    """
    spare = np.array(size_cells) * cell_size - np.array(extent)
    corner = np.array(cell) * cell_size + rng.uniform([0.0, 0.0], np.maximum(spare, 0.0))
    centre = corner + np.array(extent) / 2
    return float(centre[0]), float(centre[1])
