"""Layouts and spawn regions against the original's rules, over many seeds.

Reachability is checked independently of the layout code: the wall boxes the model holds are
rasterised at 2.5 cm, grown by the moving body's half width, and flood-filled.
"""

from __future__ import annotations

import numpy as np
import pytest

from envs import make
from envs.hide_and_seek.layouts import (
    DOOR_CELLS,
    WALL_HALF_THICKNESS,
    GridWall,
    grid_walls_to_metres,
)
from envs.hide_and_seek.presets import make_config
from envs.hide_and_seek.scenarios import scenario_of
from envs.hide_and_seek_v0 import parallel_env

RESOLUTION = 0.025
AGENT_HALF = 0.15
CUBE_HALF = 0.25


def wall_boxes(env) -> np.ndarray:
    """``[W, 4]`` (x_low, y_low, x_high, y_high) of the wall boxes in the compiled model."""
    geoms = env.index.wall_geom[env.model.geom_contype[env.index.wall_geom] > 0]
    centre, half = env.model.geom_pos[geoms, :2], env.model.geom_size[geoms, :2]
    return np.concatenate([centre - half, centre + half], axis=1)


def free_space(boxes: np.ndarray, clearance: float, low: float = -0.6, high: float = 6.6):
    """Raster of the points whose distance to every wall box exceeds ``clearance``."""
    axis = np.arange(low, high, RESOLUTION)
    x, y = np.meshgrid(axis, axis, indexing="ij")
    free = np.ones(x.shape, dtype=bool)
    for x0, y0, x1, y1 in boxes:
        dx = np.maximum(np.maximum(x0 - x, x - x1), 0.0)
        dy = np.maximum(np.maximum(y0 - y, y - y1), 0.0)
        free &= np.hypot(dx, dy) > clearance
    return free, low


def component(free: np.ndarray, low: float, start: tuple[float, float]) -> np.ndarray:
    """Cells reachable from ``start`` through free cells (4-neighbour flood fill)."""
    region = np.zeros_like(free)
    i, j = (int(round((v - low) / RESOLUTION)) for v in start)
    if not free[i, j]:
        return region
    region[i, j] = True
    while True:
        grown = region.copy()
        grown[1:] |= region[:-1]
        grown[:-1] |= region[1:]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= free
        if (grown == region).all():
            return region
        region = grown


def reaches(region: np.ndarray, low: float, point: np.ndarray, slack: float = 0.1) -> bool:
    """Whether ``region`` holds a cell within ``slack`` of ``point``."""
    i, j = (int(round((v - low) / RESOLUTION)) for v in point[:2])
    k = int(round(slack / RESOLUTION))
    return bool(region[max(i - k, 0) : i + k + 1, max(j - k, 0) : j + k + 1].any())


def inner_door_gaps(walls: np.ndarray) -> list[float]:
    """Free gaps between collinear wall pieces (the doors), in metres."""
    gaps = []
    for axis in (0, 1):  # pieces along x (axis 0) or y (axis 1)
        other = 1 - axis
        along = [w for w in walls if abs(w[other] - w[other + 2]) < 1e-9 and abs(w[axis] - w[axis + 2]) > 1e-9]
        for a in along:
            for b in along:
                if abs(a[other] - b[other]) < 1e-9 and a[axis + 2] < b[axis] and a[4] == b[4]:
                    between = [w for w in along if abs(w[other] - a[other]) < 1e-9 and a[axis + 2] < w[axis] < b[axis]]
                    if not between:
                        gaps.append(float(b[axis] - a[axis + 2]))
    return gaps


def test_walls_run_between_cell_centres_shortened_by_half_a_thickness():
    # modules/walls.py walls_to_mujoco: a wall over cells 3..10 of column 5 on the 0.2 m grid
    wall = grid_walls_to_metres([GridWall((5, 3), (5, 10))], 0.2)[0]
    assert wall[:4] == pytest.approx([1.1, 0.7 + WALL_HALF_THICKNESS, 1.1, 2.1 - WALL_HALF_THICKNESS])
    # a door of two cells between pieces ending at cells 9 and 12 is a 0.70 m free gap
    pieces = grid_walls_to_metres([GridWall((5, 3), (5, 9)), GridWall((5, 12), (5, 20))], 0.2)
    assert pieces[1, 1] - pieces[0, 3] == pytest.approx(0.70)
    assert DOOR_CELLS == 2


@pytest.mark.parametrize("preset", ["quadrant", "full_game"])
def test_doors_are_wide_enough_for_cubes_and_ramps(preset):
    config = make_config(preset, outer_walls_probability=1.0)
    gaps = []
    for seed in range(60):
        gaps += inner_door_gaps(scenario_of(config).layout(config, np.random.default_rng(seed)).walls)
    assert gaps
    assert np.median(gaps) == pytest.approx(0.70)
    assert min(gaps) >= 0.6 - 1e-9  # a door next to a junction loses the junction wall's half thickness


def test_quadrant_room_always_has_one_or_two_doors_and_spawns_follow_the_published_config():
    env = parallel_env("quadrant")
    doors, hider_inside, ramp_inside = [], [], []

    def in_room(p):  # the lower-right quarter
        return (p[..., 0] > 3.1) & (p[..., 1] < 3.1)

    for seed in range(120):
        env.reset(seed=seed)
        assert env.layout.rooms["quadrant"] == 15
        inner = env.walls[env.walls[:, 4] < 1.0]
        length = np.hypot(inner[:, 2] - inner[:, 0], inner[:, 3] - inner[:, 1])
        whole = int((length > 2.7 - 1e-9).sum())  # a room wall without a door runs its full length
        doors.append(2 - whole)
        frame = env.replay_frame()
        assert in_room(frame["box_pos"]).all()  # boxes inside the room
        assert not in_room(frame["agent_pos"][2:]).any()  # seekers outside it
        hider_inside += in_room(frame["agent_pos"][:2]).tolist()
        ramp_inside += in_room(frame["ramp_pos"]).tolist()
    assert env.config.play_area == pytest.approx(5.8)  # restrict_rect [0.1, 0.1, 5.9, 5.9]
    # p_door_dropout 0.5 drops at most one door: never sealed, one door about half the time
    assert set(doors) == {1, 2}
    assert 0.35 < np.mean(np.array(doors) == 1) < 0.65
    # hiders and the ramp spawn anywhere: inside the room about a fifth of the time
    assert 0.1 < np.mean(hider_inside) < 0.4
    assert 0.1 < np.mean(ramp_inside) < 0.4


@pytest.mark.parametrize("preset", ["quadrant", "full_game"])
def test_every_layout_lets_agents_boxes_and_ramps_reach_every_room(preset):
    env = parallel_env(preset)
    for seed in range(25):
        env.reset(seed=seed)
        boxes = wall_boxes(env)
        frame = env.replay_frame()
        static = env.replay_static()
        for half, points in (
            (AGENT_HALF, frame["agent_pos"][static["agent_exists"]]),
            (CUBE_HALF, frame["box_pos"][static["box_exists"] & (static["box_size"][:, 0] == 0.5)]),
            (CUBE_HALF, frame["ramp_pos"][static["ramp_exists"]]),
        ):
            free, low = free_space(boxes, half)
            region = component(free, low, (3.0 if preset == "full_game" else 1.5, 1.5))
            if not region.any():  # the chosen start lies in a wall: take the first agent instead
                region = component(free, low, tuple(frame["agent_pos"][0, :2]))
            for point in points:
                assert reaches(region, low, point), (preset, seed, half, point)
            # every room of the floor is open to it
            inside = free.copy()
            axis = np.arange(free.shape[0]) * RESOLUTION + low
            floor = (axis > 0.2) & (axis < 5.8)
            inside &= floor[:, None] & floor[None, :]
            assert not (inside & ~region).any(), (preset, seed, half)


def test_full_game_teammates_start_together():
    env = parallel_env("full_game", n_hiders=3, n_seekers=3)
    spreads = []
    for seed in range(60):
        env.reset(seed=seed)
        positions = env.replay_frame()["agent_pos"][:, :2]
        for first, team in ((0, [1, 2]), (3, [4, 5])):
            offsets = positions[team] - positions[first]
            # close_to_other_object_placement: within 3 cells (0.5 m rounded up) of the first agent's
            # cell, plus the jitter of the placement inside the cells
            assert np.abs(offsets).max() <= 0.7 + 1e-9
            spreads += np.linalg.norm(offsets, axis=1).tolist()
    assert np.median(spreads) < 0.7


def test_elongated_box_counts_are_drawn_as_the_original_draws_them():
    # modules/objects.py: n_elongated ~ U{3..min(9, n_boxes)}, then n along x ~ U{0..n_elongated}
    env = parallel_env("full_game")
    fractions, along_x = [], []
    for seed in range(150):
        env.reset(seed=seed)
        static = env.replay_static()
        sizes = static["box_size"][static["box_exists"]]
        elongated = sizes[:, :2].max(1) > 1.0
        fractions.append(elongated.mean())
        along_x += (sizes[elongated, 0] > 1.0).tolist()
        assert elongated.sum() >= 3
    # with n_boxes ~ U{3..9}, the expected share of elongated boxes is about 0.79, not 1
    assert 0.7 < np.mean(fractions) < 0.88
    assert 0.4 < np.mean(along_x) < 0.6


def test_sequential_lock_has_a_ramp_in_every_room_and_no_doors():
    env = make("sequential_lock_v0")
    for seed in range(40):
        env.reset(seed=seed)
        boxes = wall_boxes(env)
        frame = env.replay_frame()
        free, low = free_space(boxes, AGENT_HALF)
        rooms = []
        for ramp in frame["ramp_pos"]:
            region = component(free, low, tuple(ramp[:2] + [0.0, 0.0]))
            if not region.any():
                region = component(free, low, tuple(ramp[:2] + [0.3, 0.3]))
            rooms.append(region)
        # three rooms without doors, and ramp i in room i % 3: every room holds one ramp
        assert not (rooms[0] & rooms[1]).any() and not (rooms[1] & rooms[2]).any() and not (rooms[0] & rooms[2]).any()
        assert reaches(rooms[0] | rooms[1] | rooms[2], low, frame["agent_pos"][0])
        for box in frame["box_pos"]:
            assert reaches(rooms[0] | rooms[1] | rooms[2], low, box, slack=0.3)


def test_lock_and_return_box_is_reachable_in_every_layout():
    env = make("lock_and_return_v0")
    for seed in range(25):
        env.reset(seed=seed)
        frame = env.replay_frame()
        free, low = free_space(wall_boxes(env), AGENT_HALF)
        region = component(free, low, tuple(frame["agent_pos"][0, :2]))
        assert region.any()
        assert reaches(region, low, frame["box_pos"][0], slack=0.3), seed
        assert len(env.walls) >= 4 + 5  # six rooms: five inner walls


def test_shelter_cylinder_and_blueprint_sites_spawn_as_published():
    shelter = make("shelter_construction_v0")
    assert shelter.game.rays_per_side == 25 and shelter.game.reward_scale == pytest.approx(0.001)
    centres = []
    for seed in range(30):
        observations, _ = shelter.reset(seed=seed)
        x, y, radius = observations["agent_0"]["cylinder"]
        assert 0.75 <= radius <= 1.0  # diameter U[1.5, 2] (shelter.jsonnet objective_diameter)
        # uniform_placement_middle(0.7): the cylinder's cells start in the middle of the floor
        assert 0.6 < x - radius and x + radius < 5.4 and 0.6 < y - radius and y + radius < 5.4
        frame = shelter.replay_frame()
        for point in np.concatenate([frame["agent_pos"], frame["box_pos"]])[:, :2]:
            assert np.hypot(*(point - (x, y))) > radius  # nothing spawns inside it
        centres.append((x, y))
    assert np.std(np.array(centres), axis=0).min() > 0.3
    blueprint = make("blueprint_construction_v0")
    counts = []
    for seed in range(30):
        observations, _ = blueprint.reset(seed=seed)
        sites = observations["agent_0"]["sites"][observations["agent_0"]["sites_exist"] > 0]
        counts.append(len(sites))
        assert ((sites > 0.4) & (sites < 5.6)).all()  # uniform_placement_middle(0.85)
        boxes = blueprint.replay_frame()["box_pos"][:, :2]
        # sites take free cells: the block of 3 x 3 cells whose jittered corner the mark scales by
        # floor_size / (floor_size - site_size) (construction_sites.py: _mark_site_square)
        block_centre = sites * (5.5 / 6.0) - (sites * (5.5 / 6.0)) % 0.2 + 0.3
        assert (np.abs(block_centre[:, None] - boxes[None]).max(-1) >= 0.5 - 1e-6).all()
    assert set(counts) == {1, 2, 3, 4}
