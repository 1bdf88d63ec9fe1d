"""One 2D renderer: an environment's own frames and its replays are drawn the same way."""

from __future__ import annotations

import numpy as np

import envs
from envs.rendering2d import SceneRenderer
from replays import render2d


def test_replays_draw_with_the_environment_renderer():
    assert render2d.SceneRenderer is SceneRenderer


def test_a_navigation_frame_is_the_scene_drawn_by_the_shared_renderer():
    env = envs.make("navigation_v0", render_mode="rgb_array")
    env.reset(seed=3)
    frame = env.render()
    drawn = SceneRenderer(600, 600, margin=10).render(env.scene())
    assert np.array_equal(frame, drawn)
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 2  # floor, agents and landmarks, not a blank canvas
    env.close()
