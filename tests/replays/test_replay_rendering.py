"""Rendering: videos of the right length and size that show the motion, 2D geometry, cameras."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import replay_disc_env

from envs.scene import Circle, Scene, Segment, Wedge
from replays import load_episode, record_episodes
from replays.playback import EpisodePlayer
from replays.render2d import SceneRenderer, parse_overlays
from replays.video import render_episode

DISC_ID = "replay_disc_env:parallel_env"


@pytest.fixture(scope="module")
def episode_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("episodes")
    [path] = record_episodes(
        None,
        lambda: replay_disc_env.parallel_env(max_steps=12),
        1,
        folder / "disc.npz",
        seed=2,
        env_id=DISC_ID,
        env_kwargs={"max_steps": 12},
    )
    return path


def test_mp4_has_one_frame_per_recorded_frame_and_shows_motion(episode_file, tmp_path):
    video = render_episode(episode_file, tmp_path / "disc.mp4", width=320, height=240)
    assert video.suffix == ".mp4"
    frames = iio.imread(video)
    assert frames.shape == (13, 240, 320, 3)
    assert frames[0].std() > 10  # not blank: floor, discs, caption
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 0.5  # the discs moved
    assert not list(tmp_path.glob(".*"))  # the temporary file was renamed away


def test_gif_fallback_when_ffmpeg_is_missing(episode_file, tmp_path, monkeypatch):
    import replays.video as video_module

    monkeypatch.setattr(video_module, "ffmpeg_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="GIF"):
        video = render_episode(episode_file, tmp_path / "disc.mp4", width=160, height=120)
    assert video.name == "disc.gif"
    frames = iio.imread(video)
    assert frames.shape[0] == 13 and frames.shape[1:3] == (120, 160)  # captions differ, so no frame is merged


def test_3d_renderer_uses_the_environment_cameras(episode_file, tmp_path):
    episode = load_episode(episode_file)
    player = EpisodePlayer(episode, "3d", 64, 48, camera="corner")
    assert player.cameras == ("overhead", "corner")
    corner = player.frame(0)
    overhead = player.frame_3d(0, "overhead")
    assert corner.shape == overhead.shape == (48, 64, 3)
    assert not np.array_equal(corner, overhead)  # the disc environment uses another background per camera
    # the image comes from the restored poses: frame 0 and the last frame differ where the discs moved
    assert not np.array_equal(player.frame_3d(0), player.frame_3d(episode.num_steps))
    with pytest.raises(ValueError, match="offers: overhead, corner"):
        EpisodePlayer(episode, "3d", 64, 48, camera="overheed")
    video = render_episode(episode, tmp_path / "disc3d.mp4", renderer="3d", camera="overhead", width=64, height=48)
    assert iio.imread(video).shape == (13, 48, 64, 3)


def test_2d_renderer_draws_world_coordinates_to_the_right_pixels():
    renderer = SceneRenderer(200, 100, show_caption=False)
    scene = Scene(bounds=(0.0, 0.0, 2.0, 1.0), shapes=[Circle((1.5, 0.75), 0.05, (255, 0, 0))], background=(0, 0, 0))
    image = renderer.render(scene)
    rows, columns = np.nonzero((image == (255, 0, 0)).all(axis=-1))
    # 8 px margins: scale = min(184/2, 84/1) = 84 px/m, centred horizontally
    scale = 84.0
    left = 8 + (184 - 2 * scale) / 2
    assert abs(columns.mean() - (left + 1.5 * scale)) < 1.0
    assert abs(rows.mean() - (8 + (1.0 - 0.75) * scale)) < 1.0


def test_overlays_switch_layers_on_and_off():
    scene = Scene(
        bounds=(-1, -1, 1, 1),
        background=(0, 0, 0),
        shapes=[
            Wedge((0.0, 0.0), 0.8, 0.0, 0.5, (0, 255, 0)),
            Segment((-1.0, -0.5), (1.0, -0.5), (0, 0, 255), layer="lidar", width=3),
            Circle((0.0, 0.0), 0.1, (255, 0, 0)),
        ],
    )
    everything = SceneRenderer(100, 100, show_caption=False).render(scene)
    body_only = SceneRenderer(100, 100, overlays="none", show_caption=False).render(scene)
    assert (body_only[..., 0] == 255).sum() > 0 and (body_only[..., 1:] > 0).sum() == 0
    assert (everything[..., 2] == 255).sum() > 0  # the lidar ray
    green = everything[..., 1]
    assert 0 < green.max() < 255  # the vision cone is translucent
    no_lidar = SceneRenderer(100, 100, overlays="vision", show_caption=False)
    assert (no_lidar.render(scene)[..., 2] == 255).sum() == 0
    assert no_lidar.toggle("lidar") is True and (no_lidar.render(scene)[..., 2] == 255).sum() > 0


def test_bad_render_arguments():
    with pytest.raises(ValueError, match="did you mean lidar"):
        parse_overlays("lidr")
    with pytest.raises(ValueError, match="width must be an even integer"):
        SceneRenderer(101, 100)


def test_navigation_renders_in_2d(tmp_path):
    navigation = pytest.importorskip("envs.navigation_v0")
    [path] = record_episodes(
        None,
        lambda: navigation.parallel_env(max_cycles=5),
        1,
        tmp_path / "nav.npz",
        env_id="navigation_v0",
        env_kwargs={"max_cycles": 5},
    )
    frames = iio.imread(render_episode(path, tmp_path / "nav.mp4", width=160, height=120))
    assert frames.shape == (6, 120, 160, 3) and frames[0].std() > 5


def test_agent_names_are_drawn_on_the_label_layer(episode_file):
    episode = load_episode(episode_file)
    labelled = EpisodePlayer(episode, "2d", 320, 240, overlays="label")
    plain = EpisodePlayer(episode, "2d", 320, 240, overlays="none")
    assert [name for _, name in labelled.agent_labels(0)] == ["hider_0", "seeker_0"]
    np.testing.assert_allclose(labelled.agent_labels(3)[1][0], episode.frames["agent_pos"][3, 1, :2], rtol=1e-6)
    difference = np.abs(labelled.frame(3).astype(int) - plain.frame(3).astype(int)).sum(axis=-1) > 0
    rows, columns = np.nonzero(difference)
    # the text sits just below and right of each agent's centre
    renderer = labelled.scene_renderer
    for point, _ in labelled.agent_labels(3):
        x, y = renderer.to_pixels(point)
        near = (np.abs(columns - (x + 20)) < 25) & (np.abs(rows - (y + 11)) < 8)
        assert near.sum() > 10


def test_environment_pictures_of_another_size_are_letterboxed():
    from replays.cameras import fit_picture

    square = np.full((48, 48, 3), 200, dtype=np.uint8)
    wide = fit_picture(square, 128, 64)
    assert wide.shape == (64, 128, 3)
    assert wide[:, :30].max() == 0 and wide[:, 98:].max() == 0  # borders left and right
    assert wide[:, 34:94].min() == 200  # the picture, scaled to 64 x 64, in the middle


def test_camera_renderer_checks_multisamples(episode_file):
    from replays.cameras import CameraRenderer

    env = replay_disc_env.parallel_env(render_mode="rgb_array")
    with pytest.raises(ValueError, match="multisamples must be None or an integer in \\[0, 16\\]"):
        CameraRenderer(env, env, 64, 48, multisamples=99)
