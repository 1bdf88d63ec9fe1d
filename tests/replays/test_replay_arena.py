"""The hide-and-seek arena through the replay interface: exact restoration, both renderers,
and statistics that agree with the arena's own end-of-episode statistics."""

from __future__ import annotations

import numpy as np
import pytest

arena = pytest.importorskip("envs.hide_and_seek_v0")

import envs  # noqa: E402
from replays import episode_statistics, load_episode, record_episodes  # noqa: E402
from replays.playback import EpisodePlayer  # noqa: E402

KWARGS = {"horizon": 40}


@pytest.fixture(scope="module")
def arena_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("arena")
    [path] = record_episodes(None, envs.make_factory("hide_and_seek_v0", **KWARGS), 1, folder / "arena.npz", seed=4)
    return path


def test_factory_id_and_kwargs_are_recorded(arena_file):
    episode = load_episode(arena_file)
    assert episode.env_id == "hide_and_seek_v0" and episode.env_kwargs == KWARGS
    assert episode.num_steps == 40 and episode.frames["qpos"].shape[0] == 41
    assert episode.frames["prep"].dtype == np.int8
    with np.load(arena_file, allow_pickle=False) as archive:
        codes, scale = archive["frame/lidar"], archive["quantized/lidar"]
    assert codes.dtype == np.uint8 and episode.frames["lidar"].dtype == np.float32
    env = envs.make("hide_and_seek_v0", **KWARGS)
    env.reset(seed=4)  # the recorded episode's first frame, at full precision
    exact = env.replay_frame()["lidar"]
    assert np.abs(episode.frames["lidar"][0] - exact).max() <= scale[1] / 2 + 1e-6
    assert scale[1] < 0.03  # 8 bits over the lidar's range of at most 6 m


def test_arena_restores_exactly_the_recorded_frames(arena_file):
    episode = load_episode(arena_file)
    env = envs.make("hide_and_seek_v0", **KWARGS)
    env.reset(seed=episode.seed)
    assert np.abs(episode.frames["agent_pos"][-1] - episode.frames["agent_pos"][0]).max() > 0.01
    for index in range(0, episode.num_frames, 5):
        recorded = episode.frame(index)
        env.restore_replay_frame(episode.static, recorded)
        restored = env.replay_frame()
        for key, value in recorded.items():
            np.testing.assert_array_equal(
                np.asarray(restored[key]).astype(value.dtype), value, err_msg=f"{key} at frame {index}"
            )


def test_arena_2d_and_3d_frames(arena_file):
    episode = load_episode(arena_file)
    flat = EpisodePlayer(episode, "2d", 320, 240)
    first, last = flat.frame(0), flat.frame(episode.num_steps)
    assert first.shape == (240, 320, 3) and first.std() > 10 and not np.array_equal(first, last)
    solid = EpisodePlayer(episode, "3d", 160, 120)
    # The arena offers its own cameras (its renderer draws the 3D overlays), overhead first.
    assert solid.cameras[0] == "overhead" and len(solid.cameras) >= 3
    pictures = {camera: solid.frame_3d(episode.num_steps, camera) for camera in solid.cameras}
    for camera, picture in pictures.items():
        assert picture.shape == (120, 160, 3) and picture.std() > 10, camera
    views = list(pictures.values())
    assert all(not np.array_equal(views[0], other) for other in views[1:])  # each camera sees differently
    assert not np.array_equal(solid.frame_3d(0, "overhead"), pictures["overhead"])  # the poses changed
    solid.close()
    flat.close()


def test_statistics_agree_with_the_arena(arena_file):
    stats = episode_statistics(arena_file)
    assert stats["preparation_steps"] == pytest.approx(0.4 * 40, abs=1)
    # the arena counts locks at the end of preparation and of the episode, as we do
    assert stats["box_locked_prep"] == stats["env/num_box_lock_prep"]
    assert stats["box_locked_end"] == stats["env/num_box_lock"]
    assert stats["ramp_locked_end"] == stats["env/num_ramp_lock"]
    assert stats["hidden_fraction"] == pytest.approx(stats["env/hidden_fraction"])
    # the arena keeps the running maximum of displacements, which bounds ours from above
    assert stats["box_max_displacement_prep"] <= stats["env/max_box_move_prep"] + 1e-4
    assert stats["box_max_displacement_end"] <= max(stats["env/max_box_move"], stats["env/max_box_move_prep"]) + 1e-4
    assert stats["hider_seeker_distance_mean"] > 0


@pytest.mark.parametrize(("horizon", "lag"), [(80, 1), (81, 0)])
def test_the_declared_phase_lag_is_where_the_game_takes_its_prep_statistics(horizon, lag):
    env = envs.make("hide_and_seek_v0", preset="quadrant", horizon=horizon)
    env.reset(seed=0)
    game = env.unwrapped.game if hasattr(env, "unwrapped") else env.game
    assert int(game.replay_static()["statistics_phase_lag"]) == lag
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(i)
    taken_at = None
    for step in range(1, horizon):
        env.step({agent: env.action_space(agent).sample() for agent in env.agents})
        if taken_at is None and game.prep_statistics_taken:
            taken_at = step
    assert taken_at == game.prep_steps + lag
    env.close()
