"""The interactive viewer, headless (dummy video driver), driven by posted key events."""

from __future__ import annotations

import numpy as np
import pygame
import pytest
import replay_disc_env

from replays import load_episode, record_episodes
from replays.viewer import ReplayViewer


@pytest.fixture()
def viewer(tmp_path):
    paths = record_episodes(
        None,
        lambda: replay_disc_env.parallel_env(max_steps=20),
        2,
        tmp_path,
        env_id="replay_disc_env:parallel_env",
        env_kwargs={"max_steps": 20},
    )
    viewer = ReplayViewer([load_episode(p) for p in paths], width=160, height=120, display_fps=10.0)
    yield viewer
    viewer.close()


def key(code):
    return pygame.event.Event(pygame.KEYDOWN, key=code, mod=0, unicode="", scancode=0)


def post(*codes):
    for code in codes:
        pygame.event.post(key(code))


def test_pause_step_and_quit_from_posted_events(viewer):
    post(pygame.K_SPACE, pygame.K_RIGHT, pygame.K_RIGHT, pygame.K_RIGHT, pygame.K_LEFT)
    assert viewer.run(max_frames=1, realtime=False) == 1
    assert not viewer.playing and viewer.frame_index == 2
    window = pygame.surfarray.array3d(pygame.display.get_surface())
    assert window.std() > 5  # the frame and the slider were drawn
    post(pygame.K_END)
    viewer.run(max_frames=1, realtime=False)
    assert viewer.frame_index == 20
    post(pygame.K_HOME, pygame.K_SPACE)  # play from the start: episode fps 10, display fps 10 -> 1 frame per tick
    viewer.run(max_frames=4, realtime=False)
    assert viewer.playing and viewer.frame_index == 4
    post(pygame.K_PLUS, pygame.K_PLUS)  # x4
    viewer.run(max_frames=2, realtime=False)
    assert viewer.speed == 4.0 and viewer.frame_index == 12
    post(pygame.K_q)
    assert viewer.run(max_frames=100, realtime=False) == 0 and not viewer.running


def test_playback_pauses_at_the_end_and_escape_quits(viewer):
    viewer.run(max_frames=50, realtime=False)
    assert viewer.frame_index == 20 and not viewer.playing
    post(pygame.K_ESCAPE)
    assert viewer.run(max_frames=10, realtime=False) == 0


def test_overlays_views_episodes_and_slider(viewer):
    post(pygame.K_SPACE)
    viewer.run(max_frames=1, realtime=False)
    before = viewer.current_picture().copy()
    post(pygame.K_2)  # vision cones off
    viewer.run(max_frames=1, realtime=False)
    assert "vision" not in viewer.overlays
    assert not np.array_equal(before, viewer.current_picture())
    post(pygame.K_c)  # to the first 3D camera the disc environment offers
    viewer.run(max_frames=1, realtime=False)
    assert viewer.views == ["2d", "overhead", "corner"] and viewer.view == "overhead"
    assert viewer.current_picture().shape == (120, 160, 3)
    post(pygame.K_c, pygame.K_c)
    viewer.run(max_frames=1, realtime=False)
    assert viewer.view == "2d"
    post(pygame.K_n)
    viewer.run(max_frames=1, realtime=False)
    assert viewer.episode_index == 1 and viewer.frame_index == 0
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(80, 125), button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(80, 125), button=1))
    viewer.run(max_frames=1, realtime=False)
    assert viewer.frame_index == 10 and not viewer.playing  # the middle of the slider


def test_scripted_events_between_frames(viewer):
    def script(current, frame):
        if frame == 3:
            pygame.event.post(key(pygame.K_SPACE))
        if frame == 6:
            pygame.event.post(key(pygame.K_q))

    shown = viewer.run(max_frames=100, realtime=False, on_frame=script)
    assert shown == 6 and viewer.frame_index == 3  # played 3 frames, paused at the 4th tick, then quit


def test_viewer_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="at least one episode"):
        ReplayViewer([])
