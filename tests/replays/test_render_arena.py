"""The arena's pictures can be read: walls and boxes stand out from the floor, ramps show which
way is up, and the oblique view can lower the outer walls without touching the world."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from envs.hide_and_seek.rendering import (
    RAMP_STRIPS,
    ArenaRenderer,
    ArenaView,
    draw_scene,
    tall_walls,
)
from envs.hide_and_seek_v0 import parallel_env
from envs.scene import Polygon

WHITE = (255, 255, 255)
SIZE = 480


def luminance(image: np.ndarray) -> np.ndarray:
    return image[..., :3].astype(float) @ np.array([0.299, 0.587, 0.114])


def uphill(env, ramp: int = 0) -> np.ndarray:
    """The ramp's uphill direction in the plane, from its mesh as MuJoCo places it: from the
    lowest vertices towards the highest."""
    model, data = env.model, env.data
    geom = env.index.ramp_geom[ramp]
    mesh = model.geom_dataid[geom]
    local = model.mesh_vert[model.mesh_vertadr[mesh] : model.mesh_vertadr[mesh] + model.mesh_vertnum[mesh]]
    points = data.geom_xpos[geom] + local @ data.geom_xmat[geom].reshape(3, 3).T
    low = points[points[:, 2] < points[:, 2].min() + 1e-6, :2].mean(0)
    high = points[points[:, 2] > points[:, 2].max() - 1e-6, :2].mean(0)
    direction = high - low
    return direction / np.linalg.norm(direction)


def overhead_pixel(env, x: float, y: float) -> tuple[int, int]:
    """Row and column of a floor point in the overhead camera's square frame (orthographic,
    centred on the floor; its fovy is the height of the view in metres)."""
    camera = env.model.camera("overhead")
    span = float(camera.fovy[0])
    center = env.config.floor_size / 2
    column = (x - (center - span / 2)) / span * SIZE
    row = (1.0 - (y - (center - span / 2)) / span) * SIZE
    return int(row), int(column)


@pytest.fixture
def quadrant():
    env = parallel_env("quadrant", render_mode="rgb_array", render_size=(SIZE, SIZE))
    env.reset(seed=1)
    yield env
    env.close()


@pytest.mark.parametrize("yaw", [0.0, np.pi / 2, np.pi, -np.pi / 2, 0.7])
def test_2d_ramp_arrow_and_shading_follow_the_physical_slope(quadrant, yaw):
    quadrant.arrange(ramps={0: (1.5, 1.5, yaw)})
    up = uphill(quadrant)
    center = np.array([1.5, 1.5])
    shapes = quadrant.scene().shapes
    heads = [s for s in shapes if isinstance(s, Polygon) and len(s.points) == 3 and s.color == WHITE]
    assert len(heads) == 1
    head = np.array(heads[0].points).mean(0)
    toward = (head - center) / np.linalg.norm(head - center)
    assert toward @ up > 0.99  # the arrow points up the slope the physics has
    # the strips darken from the foot to the top
    strips = [
        s
        for s in shapes
        if isinstance(s, Polygon)
        and len(s.points) == 4
        and s.filled
        and np.linalg.norm(np.array(s.points).mean(0) - center) < 0.3
        and s.color not in ((245, 243, 235),)
    ][-RAMP_STRIPS:]
    order = np.argsort([np.array(s.points).mean(0) @ up for s in strips])
    brightness = [sum(strips[i].color) for i in order]
    assert all(a > b for a, b in itertools.pairwise(brightness))


def test_overhead_frame_shows_inner_walls_and_boxes_against_the_floor(quadrant):
    image = luminance(quadrant.render())

    def patch(x: float, y: float, radius: int) -> float:
        row, column = overhead_pixel(quadrant, x, y)
        return float(image[row - radius : row + radius + 1, column - radius : column + radius + 1].mean())

    inner = ArenaView.of(quadrant).walls
    inner = inner[(inner[:, 4] < 1.0) & (np.hypot(inner[:, 2] - inner[:, 0], inner[:, 3] - inner[:, 1]) > 0.5)]
    assert inner.shape[0] >= 2
    for x0, y0, x1, y1, _ in inner:
        middle = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        across = np.array([y0 - y1, x1 - x0]) / np.hypot(x1 - x0, y1 - y0)
        floor = patch(*(middle + 0.4 * across), 2)
        assert floor - patch(*middle, 1) > 80  # a grey wall on the light floor beside it
    pose = quadrant.data.qpos.reshape(-1, 4)
    for b in np.flatnonzero(quadrant.object_present[: quadrant.n_box_slots]):
        x, y = pose[quadrant.n_agent_slots + b, :2]
        floor = max(patch(x + dx, y + dy, 2) for dx, dy in ((0.5, 0), (-0.5, 0), (0, 0.5), (0, -0.5)))
        assert floor - patch(x, y, 2) > 40  # a tan box top, not washed out


@pytest.mark.parametrize("yaw", [0.0, np.pi / 2, 2.5, -2.0])
def test_overhead_frame_draws_an_arrow_up_each_ramp(quadrant, yaw):
    quadrant.arrange(ramps={0: (1.5, 1.5, yaw)})
    image = luminance(quadrant.render())
    up = uphill(quadrant)
    row, column = overhead_pixel(quadrant, 1.5, 1.5)
    half = 0.25 / float(quadrant.model.camera("overhead").fovy[0]) * SIZE  # the ramp's half width in pixels
    rows, columns = np.indices(image.shape)
    # picture offsets in the plane (x right, y up), inside the circle the ramp covers at any yaw
    planar = np.stack([columns - column, row - rows], axis=-1).astype(float)
    inside = np.hypot(planar[..., 0], planar[..., 1]) < 0.9 * half
    arrow = inside & (image > 170)  # the light arrow on the darker green slope
    head = inside & (image > 235)  # its head, drawn brightest
    along = planar @ up
    assert arrow.sum() > 30 and head.sum() > 10
    assert np.ptp(along[arrow]) > 1.2 * half  # it runs along most of the slope
    assert along[head].mean() > along[arrow].mean() + 0.2 * half  # and its head is at the top


def test_low_walls_change_the_picture_and_nothing_else():
    high = parallel_env("quadrant", render_mode="rgb_array", render_size=(160, 160), render_camera="oblique")
    low = parallel_env(
        "quadrant", render_mode="rgb_array", render_size=(160, 160), render_camera="oblique", render_max_wall_height=0.5
    )
    for env in (high, low):
        env.reset(seed=4)
    sizes, positions, lidar = low.model.geom_size.copy(), low.model.geom_pos.copy(), low.lidar.copy()
    dark_high = (luminance(high.render()) < 90).mean()
    dark_low = (luminance(low.render()) < 90).mean()
    assert dark_low < 0.5 * dark_high  # the 4 m walls no longer hide the floor
    np.testing.assert_array_equal(low.model.geom_size, sizes)
    np.testing.assert_array_equal(low.model.geom_pos, positions)
    actions = {agent: low.action_space(agent).sample() for agent in low.agents}
    low.step(actions)
    high.step(actions)
    np.testing.assert_array_equal(low.lidar, high.lidar)  # rays still meet the real walls
    assert lidar.shape == low.lidar.shape
    for env in (high, low):
        env.close()


def test_tall_walls_are_the_ones_above_the_limit():
    walls = np.array([[0, 0, 6, 0, 4.0], [3, 3, 3, 6, 0.5], [0, 0, 0, 6, 1.0]])
    assert tall_walls(walls, None).size == 0
    assert tall_walls(walls, 0.5).tolist() == [0, 2]
    assert tall_walls(walls, 2.0).tolist() == [0]


def test_bad_wall_height_is_one_clear_error(quadrant):
    with pytest.raises(ValueError, match="render_max_wall_height"):
        parallel_env("quadrant", render_max_wall_height=0.0)
    renderer = ArenaRenderer(quadrant.model, 32, 32)
    try:
        with pytest.raises(ValueError, match="max_wall_height"):
            renderer.render(quadrant, max_wall_height=-1.0)
    finally:
        renderer.close()


def test_view_is_read_only_and_enough_to_draw(quadrant):
    view = ArenaView.of(quadrant)
    arrays = [value for value in vars(view).values() if isinstance(value, np.ndarray)]
    assert len(arrays) >= 15
    for array in arrays:
        if array.size:
            with pytest.raises(ValueError):
                array.flat[0] = array.flat[0]
    assert view.in_preparation  # step 0 of the quadrant game
    assert draw_scene(view) == quadrant.scene()  # the 2D drawing needs nothing but the view


def test_caption_speaks_of_hiding_only_where_seekers_play():
    import envs

    task = envs.make("lock_and_return_v0")
    task.reset(seed=0)
    task.step({agent: task.action_space(agent).sample() for agent in task.agents})
    assert task.scene().caption == "step 1"
    game = parallel_env("quadrant", prep_fraction=0.0)
    game.reset(seed=0)
    assert game.scene().caption.split(" | ")[1] in ("hidden", "seen")


def test_2d_walls_are_the_boxes_physics_collides_with(quadrant):
    walls = ArenaView.of(quadrant).walls
    geoms = quadrant.index.wall_geom[: walls.shape[0]]
    drawn = [
        np.array(s.points)
        for s in quadrant.scene().shapes
        if isinstance(s, Polygon) and s.filled and s.color in ((90, 90, 96), (54, 54, 58))
    ]
    assert len(drawn) == walls.shape[0]
    for corners, geom in zip(drawn, geoms):
        center, half = quadrant.model.geom_pos[geom, :2], quadrant.model.geom_size[geom, :2]
        np.testing.assert_allclose(corners.min(0), center - half, atol=1e-9)
        np.testing.assert_allclose(corners.max(0), center + half, atol=1e-9)
