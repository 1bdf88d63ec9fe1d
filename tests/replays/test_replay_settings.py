"""Episode files record the environment's own settings, whatever factory made it."""

from __future__ import annotations

import functools

import imageio.v3 as iio
import numpy as np
import pytest
import replay_disc_env

import envs
from envs.hide_and_seek.environment import HideAndSeekEnv
from envs.hide_and_seek.tasks import LockAndReturn, make_task
from envs.navigation import NavigationConfig, NavigationEnv
from envs.scene import ReportsSettings, constructor_settings
from marl.cli import main as marl_main
from replays import load_episode, record_episodes
from replays.environment import infer_env_id


def test_a_lambda_made_arena_records_its_preset_and_marl_replay_renders_it(tmp_path, capsys):
    """The quadrant preset has 2 + 2 agents, the defaults 3 + 3: recording the defaults made
    the file unrenderable."""
    folder = tmp_path / "ep"
    (path,) = record_episodes(None, lambda: envs.make("hide_and_seek_v0", preset="quadrant"), 1, folder, max_steps=5)
    episode = load_episode(path)
    assert (episode.env_id, episode.env_kwargs) == ("hide_and_seek_v0", {"preset": "quadrant"})
    rebuilt = envs.make(episode.env_id, **episode.env_kwargs)
    assert rebuilt.possible_agents == episode.agents == ["hider_0", "hider_1", "seeker_0", "seeker_1"]
    video = tmp_path / "ep.mp4"
    assert marl_main(["replay", str(folder), "--renderer", "2d", "--out", str(video)]) == 0, capsys.readouterr().err
    assert iio.imread(video).shape[0] == 6  # the reset frame and five steps


def test_the_outermost_constructor_is_reported_for_classes_and_tasks():
    arena = HideAndSeekEnv("quadrant", horizon=40, render_mode="rgb_array")
    assert isinstance(arena, ReportsSettings)
    assert arena.replay_settings() == ("hide_and_seek_v0", {"preset": "quadrant", "horizon": 40})
    assert HideAndSeekEnv().replay_settings() == ("hide_and_seek_v0", {})
    # A task passes its own settings on to the arena; the file must name the task's arguments.
    task = make_task(LockAndReturn, horizon=30)
    assert task.replay_settings() == ("lock_and_return_v0", {"horizon": 30})
    again = envs.make(*task.replay_settings()[:1], **task.replay_settings()[1])
    assert again.config == task.config


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("navigation_v0", {"n_agents": 4, "observation_radius": 0.8, "max_cycles": 9}),
        ("hide_and_seek_v0", {"preset": "quadrant", "n_boxes": 1}),
        ("lock_and_return_v0", {"horizon": 30}),
    ],
)
def test_reported_settings_rebuild_the_same_world(env_id, kwargs):
    """Made again from its report, an environment resets (same seed) to the same recorded world."""
    original = envs.make(env_id, **kwargs)
    reported_id, reported = original.replay_settings()
    assert reported_id == env_id
    rebuilt = envs.make(reported_id, **reported)
    for env in (original, rebuilt):
        env.reset(seed=7)
    for key, value in original.replay_static().items():
        assert np.array_equal(value, rebuilt.replay_static()[key]), key
    for key, value in original.replay_frame().items():
        assert np.array_equal(value, rebuilt.replay_frame()[key]), key


def test_navigation_reports_only_what_differs_from_the_defaults():
    env = NavigationEnv(NavigationConfig(n_agents=2, render_mode="rgb_array"))
    assert env.replay_settings() == ("navigation_v0", {"n_agents": 2})


def test_the_report_beats_factory_guesses_and_explicit_arguments_beat_the_report(tmp_path):
    # A factory carrying other settings than the environment it makes: the environment is right.
    misleading = functools.partial(envs.make, "navigation_v0")
    env = envs.make("navigation_v0", n_agents=2)
    assert infer_env_id(misleading, env) == ("navigation_v0", {"n_agents": 2})
    (path,) = record_episodes(
        None,
        lambda: envs.make("navigation_v0", n_agents=2),
        1,
        tmp_path / "a.npz",
        env_id="navigation_v0",
        env_kwargs={"n_agents": 2, "max_cycles": 25},
    )
    assert load_episode(path).env_kwargs == {"n_agents": 2, "max_cycles": 25}


def test_environments_without_a_report_keep_the_factory_and_metadata_guesses():
    env = replay_disc_env.parallel_env(max_steps=6)
    assert not isinstance(env, ReportsSettings)
    factory = functools.partial(envs.make, "replay_disc_env:parallel_env", max_steps=6)
    assert infer_env_id(factory, env) == ("replay_disc_env:parallel_env", {"max_steps": 6})


def test_constructor_settings_name_positional_arguments_and_drop_defaults():
    class Made:
        def __init__(self, preset=None, size=3, render_mode=None, **kwargs):
            pass

    made = Made()
    assert constructor_settings(made, ("quadrant",), {"size": 3, "render_mode": "human", "extra": 1}) == {
        "preset": "quadrant",
        "extra": 1,
    }
    assert constructor_settings(made, (None, 4), {}) == {"size": 4}
