"""Recording: file contents, exact restoration of recorded poses, numbering, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import replay_disc_env

from replays import Episode, load_episode, record_episode, record_episodes, save_episode
from replays.file_format import FORMAT_VERSION, compact_array

DISC_ID = "replay_disc_env:parallel_env"


class ScriptedPolicy:
    """Moves every agent with action (step number mod 5)."""

    def __init__(self):
        self.calls = 0

    def act(self, observations):
        self.calls += 1
        return {agent: self.calls % 5 for agent in observations}


def test_file_holds_metadata_and_stacked_frames(tmp_path):
    [path] = record_episodes(
        ScriptedPolicy(),
        lambda: replay_disc_env.parallel_env(max_steps=12),
        1,
        tmp_path / "one.npz",
        seed=7,
        env_id=DISC_ID,
        env_kwargs={"max_steps": 12},
    )
    episode = load_episode(path)
    assert episode.env_id == DISC_ID and episode.env_kwargs == {"max_steps": 12} and episode.seed == 7
    assert episode.agents == ["hider_0", "seeker_0"]
    assert episode.num_steps == 12 and episode.frames["agent_pos"].shape == (13, 2, 3)
    assert episode.frames["agent_pos"].dtype == np.float32
    assert episode.frames["box_lock_team"].dtype == np.int8
    assert episode.rewards.shape == (12, 2) and episode.truncations[-1].all() and not episode.truncations[:-1].any()
    # the scripted policy chose action (t + 1) % 5 at step t, for both agents
    expected = (np.arange(1, 13) % 5).astype(np.float32)
    np.testing.assert_array_equal(episode.actions[:, 0, 0], expected)
    np.testing.assert_array_equal(episode.actions[:, 1, 0], expected)
    # rewards are zero-sum between the hider and the seeker
    np.testing.assert_array_equal(episode.rewards[:, 0], -episode.rewards[:, 1])
    assert episode.episode_stats == {"hidden_fraction": 0.5}
    with np.load(path, allow_pickle=False) as archive:
        assert int(archive["format_version"]) == FORMAT_VERSION
        assert "frame/agent_pos" in archive.files and "static/team" in archive.files


def test_replay_restores_exactly_the_recorded_poses(tmp_path):
    env = replay_disc_env.parallel_env(max_steps=20)
    in_memory = record_episode(ScriptedPolicy(), env, seed=3, env_id=DISC_ID)
    [path] = record_episodes(
        ScriptedPolicy(),
        lambda: replay_disc_env.parallel_env(max_steps=20),
        1,
        tmp_path / "e.npz",
        seed=3,
        env_id=DISC_ID,
        env_kwargs={"max_steps": 20},
    )
    episode = load_episode(path)
    # the file holds what the environment produced (cast to the stored dtype)
    for key, array in in_memory.frames.items():
        np.testing.assert_array_equal(episode.frames[key], array.astype(episode.frames[key].dtype))
    fresh = replay_disc_env.parallel_env(max_steps=20)
    fresh.reset(seed=123)  # a different world: everything must come from the file
    moved = False
    for index in range(episode.num_frames):
        recorded = episode.frame(index)
        fresh.restore_replay_frame(episode.static, recorded)
        restored = fresh.replay_frame()
        for key, value in recorded.items():
            np.testing.assert_array_equal(np.asarray(restored[key]).astype(value.dtype), value, err_msg=key)
        moved |= index > 0 and not np.array_equal(recorded["agent_pos"], episode.frame(0)["agent_pos"])
    assert moved, "the scripted policy must move the discs, or this test proves nothing"


def test_navigation_episode_restores_exactly(tmp_path):
    navigation = pytest.importorskip("envs.navigation_v0")
    [path] = record_episodes(
        None,
        lambda: navigation.parallel_env(max_cycles=15),
        1,
        tmp_path / "nav.npz",
        seed=1,
        env_id="navigation_v0",
        env_kwargs={"max_cycles": 15},
    )
    episode = load_episode(path)
    assert episode.num_steps == 15 and episode.frames["agent_pos"].shape[0] == 16
    env = navigation.parallel_env(max_cycles=15)
    env.reset(seed=99)
    for index in (0, 7, 15):
        env.restore_replay_frame(episode.static, episode.frame(index))
        for key, value in episode.frame(index).items():
            np.testing.assert_array_equal(env.replay_frame()[key].astype(value.dtype), value)
    assert np.abs(episode.frames["agent_pos"][15] - episode.frames["agent_pos"][0]).max() > 0


def test_random_policy_is_seeded_and_folders_continue_numbering(tmp_path):
    first = record_episodes(None, replay_disc_env.parallel_env, 2, tmp_path, seed=5, env_id=DISC_ID)
    second = record_episodes(None, replay_disc_env.parallel_env, 1, tmp_path, seed=5, env_id=DISC_ID)
    assert [p.name for p in first + second] == ["episode_0000.npz", "episode_0001.npz", "episode_0002.npz"]
    a, b, c = (load_episode(p) for p in first + second)
    np.testing.assert_array_equal(a.actions, c.actions)  # same seed, same random actions
    assert not np.array_equal(a.actions, b.actions)  # the next episode uses seed + 1
    assert len(np.unique(a.actions[:, 0, 0])) > 2  # random actions cover the space


def test_env_id_is_taken_from_the_factory_or_metadata(tmp_path):
    def factory():
        return replay_disc_env.parallel_env(max_steps=3)

    factory.env_id, factory.env_kwargs = DISC_ID, {"max_steps": 3}
    [path] = record_episodes(None, factory, 1, tmp_path / "a.npz")
    assert load_episode(path).env_id == DISC_ID and load_episode(path).env_kwargs == {"max_steps": 3}
    [path] = record_episodes(None, lambda: replay_disc_env.parallel_env(max_steps=3), 1, tmp_path / "b.npz")
    assert load_episode(path).env_id == "replay_disc_v0"


def test_bad_arguments_are_refused_before_work(tmp_path):
    with pytest.raises(ValueError, match="n_episodes"):
        record_episodes(None, replay_disc_env.parallel_env, 0, tmp_path)
    with pytest.raises(ValueError, match="names one file"):
        record_episodes(None, replay_disc_env.parallel_env, 2, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="act"):
        record_episodes(object(), replay_disc_env.parallel_env, 1, tmp_path)
    from mpe2 import simple_v3  # any ParallelEnv without the replay interface

    with pytest.raises(TypeError, match="Replayable"):
        record_episodes(None, lambda: simple_v3.parallel_env(), 1, tmp_path)
    assert not list(tmp_path.glob("*.npz"))


def test_compact_array_keeps_values_in_small_types():
    ints = np.array([-1, 0, 5, 100])
    assert compact_array(ints).dtype == np.int8 and np.array_equal(compact_array(ints), ints)
    assert compact_array(np.array([0, 40000])).dtype == np.int32
    assert compact_array(np.array([0.5, 1.25])).dtype == np.float32
    assert compact_array(np.array([0.5]), "float16").dtype == np.float16
    assert compact_array(np.array([True])).dtype == np.bool_
    flags = compact_array(np.array([0.0, 1.0, 1.0]))  # whole-number floats such as hidden and prep
    assert flags.dtype == np.int8 and np.array_equal(flags, [0, 1, 1])
    assert compact_array(np.array([0.0, 1000.0])).dtype == np.float32
    with pytest.raises(ValueError, match="float_dtype"):
        compact_array(np.array([1.0]), "float8")


def test_episode_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match="rows"):
        Episode(
            env_id=None,
            env_kwargs={},
            seed=0,
            agents=["a"],
            static={},
            frames={"x": np.zeros((3, 2))},
            actions=np.zeros((5, 1, 1)),
            action_dims=np.array([1]),
            rewards=np.zeros((5, 1)),
            terminations=np.zeros((5, 1), bool),
            truncations=np.zeros((5, 1), bool),
            active=np.ones((5, 1), bool),
        )


def test_aec_environments_and_unknown_agents_are_refused(tmp_path):
    from pettingzoo.utils.conversions import parallel_to_aec

    with pytest.raises(TypeError, match="ParallelEnv"):
        record_episodes(None, lambda: parallel_to_aec(replay_disc_env.parallel_env()), 1, tmp_path)

    class WrongAgents:
        def act(self, observations):
            return {"intruder": 0}

    with pytest.raises(ValueError, match="unknown agents \\['intruder'\\]"):
        record_episodes(WrongAgents(), replay_disc_env.parallel_env, 1, tmp_path)


def test_quantized_frame_keys_round_trip_within_half_a_step(tmp_path):
    from replays.file_format import dequantize, quantize

    values = np.linspace(0.0, 6.0, 1000).reshape(10, 100)
    codes, scale = quantize(values)
    assert codes.dtype == np.uint8 and codes.min() == 0 and codes.max() == 255
    assert np.abs(dequantize(codes, scale) - values).max() <= scale[1] / 2 + 1e-6
    assert quantize(np.array([1.0, np.nan])) is None  # nothing to gain, and NaN has no code
    constant_codes, constant_scale = quantize(np.full(5, 2.5))
    np.testing.assert_array_equal(dequantize(constant_codes, constant_scale), np.full(5, 2.5, np.float32))
    episode = record_episode(None, replay_disc_env.parallel_env(max_steps=5), seed=0)
    path = save_episode(episode, tmp_path / "q.npz", quantized_keys=("agent_pos",))
    loaded = load_episode(path)
    step = np.ptp(episode.frames["agent_pos"]) / 255
    assert np.abs(loaded.frames["agent_pos"] - episode.frames["agent_pos"]).max() <= step / 2 + 1e-6


class CountingPolicy:
    """A stand-in for a recurrent policy: its actions depend on how many steps it has seen."""

    def __init__(self) -> None:
        self.steps_seen = 0

    def reset(self) -> None:
        self.steps_seen = 0

    def act(self, observations):
        self.steps_seen += 1
        return {agent: min(self.steps_seen // 4, 4) for agent in observations}


def test_a_policy_with_memory_is_reset_before_every_episode():
    policy = CountingPolicy()
    first = record_episode(policy, replay_disc_env.DiscEnv(), seed=4)
    record_episode(policy, replay_disc_env.DiscEnv(), seed=9)
    again = record_episode(policy, replay_disc_env.DiscEnv(), seed=4)
    np.testing.assert_array_equal(first.actions, again.actions)
    np.testing.assert_array_equal(first.frames["agent_pos"], again.frames["agent_pos"])
