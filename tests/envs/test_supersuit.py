"""The suite's environments under SuperSuit's multi-agent wrappers and PettingZoo's conversions.

The table of which wrapper applies to which environment is in docs/envs/README.md; every
"yes" there is exercised here.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import supersuit
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.utils.conversions import aec_to_parallel, parallel_to_aec

import envs
from envs import navigation_v0
from envs.adapters import black_death_v3, flatten_observations_v0

NAVIGATION_SETTINGS = [
    {},
    {"observation_radius": 0.7},
    {"continuous_actions": True},
]


@pytest.mark.parametrize("kwargs", NAVIGATION_SETTINGS)
def test_navigation_under_black_death(kwargs):
    env = black_death_v3(navigation_v0.parallel_env(max_cycles=10, **kwargs))
    parallel_api_test(env, num_cycles=40)
    env.reset(seed=0)
    for _ in range(10):
        _, _, terminations, truncations, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert env.agents == [] and all(truncations.values()) and not any(terminations.values())
    assert "episode_stats" in infos["agent_0"]


def test_supersuit_black_death_never_ends_a_time_limited_episode():
    """Why envs.adapters.black_death_v3 exists: SuperSuit 3.11 needs terminated AND truncated."""
    env = supersuit.black_death_v3(navigation_v0.parallel_env(max_cycles=2))
    env.reset(seed=0)
    env.step({a: 0 for a in env.agents})
    _, _, _, truncations, _ = env.step({a: 0 for a in env.agents})
    if env.agents:  # the unfixed upstream behaviour: the episode does not end
        assert not any(truncations.values())
        with pytest.raises(RuntimeError, match="reset"):
            env.step({a: 0 for a in env.agents})


class LeavingAgentEnv(ParallelEnv):
    """Two agents; ``leaver`` terminates after step 2, the episode is truncated after step 4."""

    metadata = {"name": "leaving_agent_v0", "is_parallelizable": True, "render_modes": []}

    def __init__(self) -> None:
        self.possible_agents = ["stayer", "leaver"]
        self.observation_spaces = {a: spaces.Box(-10, 10, (2,), np.float32) for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(2) for a in self.possible_agents}
        self.render_mode = None
        self.steps = 0

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def reset(self, seed=None, options=None):
        self.agents = self.possible_agents[:]
        self.steps = 0
        return {a: np.full(2, 1.0, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.steps += 1
        observations = {a: np.full(2, float(self.steps), np.float32) for a in self.agents}
        rewards = {a: 1.0 for a in self.agents}
        terminations = {a: a == "leaver" and self.steps == 2 for a in self.agents}
        truncations = {a: self.steps == 4 for a in self.agents}
        infos = {a: {} for a in self.agents}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos


def test_black_death_keeps_a_departed_agent_with_zero_observation_and_reward():
    env = black_death_v3(LeavingAgentEnv())
    env.reset(seed=0)
    for step in range(1, 5):
        observations, rewards, terminations, truncations, _ = env.step({"stayer": 0, "leaver": 0})
        assert set(observations) == {"stayer", "leaver"}
        np.testing.assert_array_equal(observations["stayer"], [step, step])
        if step > 2:
            np.testing.assert_array_equal(observations["leaver"], [0, 0])
            assert rewards["leaver"] == 0.0
        else:
            assert rewards["leaver"] == 1.0
        assert env.agents == ([] if step == 4 else ["stayer", "leaver"])
    assert truncations == {"stayer": True, "leaver": True} and not any(terminations.values())


@pytest.mark.parametrize("kwargs", NAVIGATION_SETTINGS)
def test_navigation_under_agent_indicator(kwargs):
    base = navigation_v0.parallel_env(**kwargs)
    env = supersuit.agent_indicator_v0(navigation_v0.parallel_env(**kwargs))
    size = base.observation_space("agent_0").shape[0]
    assert env.observation_space("agent_0").shape == (size + 3,)
    parallel_api_test(env, num_cycles=40)
    observations, _ = env.reset(seed=0)
    plain, _ = base.reset(seed=0)
    for index, agent in enumerate(env.possible_agents):
        np.testing.assert_array_equal(observations[agent][:size], plain[agent])
        np.testing.assert_array_equal(observations[agent][size:], np.eye(3)[index])
    api_test(supersuit.agent_indicator_v0(navigation_v0.env(**kwargs)), num_cycles=40)


@pytest.mark.parametrize("kwargs", NAVIGATION_SETTINGS)
def test_navigation_under_frame_stack(kwargs):
    env = supersuit.frame_stack_v2(navigation_v0.parallel_env(**kwargs), 3)
    size = navigation_v0.parallel_env(**kwargs).observation_space("agent_0").shape[0]
    assert env.observation_space("agent_0").shape == (3 * size,)
    parallel_api_test(env, num_cycles=40)
    env.reset(seed=0)
    right = np.array([1.0, 0.0], np.float32) if kwargs.get("continuous_actions") else 2
    first = env.step({a: right for a in env.agents})[0]["agent_0"].copy()  # SuperSuit reuses the stack buffer
    second, *_ = env.step({a: right for a in env.agents})
    assert not np.array_equal(second["agent_0"][2 * size :], first[2 * size :])
    # The newest frame is last; the previous step's newest frame moves one slot back.
    np.testing.assert_array_equal(second["agent_0"][size : 2 * size], first[2 * size :])
    api_test(supersuit.frame_stack_v2(navigation_v0.env(**kwargs), 3), num_cycles=40)


def test_continuous_navigation_under_clip_actions():
    env = supersuit.clip_actions_v0(navigation_v0.parallel_env(continuous_actions=True))
    parallel_api_test(env, num_cycles=40)
    env.reset(seed=0)
    observations, *_ = env.step({a: np.array([4.0, -9.0], np.float32) for a in env.agents})
    # Clipped to [1, -1] before the environment sees it: velocity = acceleration 5 * dt 0.1 per axis.
    np.testing.assert_allclose(observations["agent_0"][:2], [0.5, -0.5], atol=0.2)  # plus contact forces
    api_test(supersuit.clip_actions_v0(navigation_v0.env(continuous_actions=True)), num_cycles=40)


def test_clip_actions_does_not_apply_to_discrete_navigation():
    env = supersuit.clip_actions_v0(navigation_v0.parallel_env())
    env.reset(seed=0)
    with pytest.raises(AttributeError, match="low"):  # a Discrete space has no bounds to clip to
        env.step({a: 1 for a in env.agents})


@pytest.mark.parametrize("kwargs", NAVIGATION_SETTINGS)
def test_navigation_round_trips_between_parallel_and_aec(kwargs):
    aec = parallel_to_aec(navigation_v0.parallel_env(**kwargs))
    api_test(aec, num_cycles=40)
    parallel = aec_to_parallel(navigation_v0.env(**kwargs))
    parallel_api_test(parallel, num_cycles=40)
    # The round trip steps the same world: equal seeds and actions, equal observations.
    direct = navigation_v0.parallel_env(**kwargs)
    a, _ = direct.reset(seed=5)
    b, _ = parallel.reset(seed=5)
    for _ in range(5):
        actions = {agent: direct.action_space(agent).sample() for agent in direct.agents}
        a, *_ = direct.step(actions)
        b, *_ = parallel.step(actions)
    for agent in a:
        np.testing.assert_array_equal(a[agent], b[agent])


def test_flatten_adapter_turns_dict_observations_into_boxes():
    space = spaces.Dict({"position": spaces.Box(-1, 1, (2,)), "holding": spaces.Discrete(3)})

    class DictObservationEnv(LeavingAgentEnv):
        def __init__(self) -> None:
            super().__init__()
            self.observation_spaces = {a: space for a in self.possible_agents}

        def reset(self, seed=None, options=None):
            _, infos = super().reset(seed, options)
            return {a: {"position": np.array([0.5, -0.5], np.float32), "holding": 2} for a in self.agents}, infos

    env = flatten_observations_v0(DictObservationEnv())
    assert env.observation_space("stayer") == spaces.Box(
        np.array([0, 0, 0, -1, -1], np.float32), np.array([1, 1, 1, 1, 1], np.float32), dtype=np.float32
    )
    observations, _ = env.reset()
    np.testing.assert_array_equal(observations["stayer"], [0, 0, 1, 0.5, -0.5])  # holding one-hot, then position


arena = pytest.mark.skipif(
    importlib.util.find_spec("envs.hide_and_seek_v0") is None,
    reason="the hide-and-seek arena module is not in this tree yet",
)
ARENA_KWARGS = {"preset": "quadrant", "horizon": 12}


def arena_env():
    return envs.make("hide_and_seek_v0", **ARENA_KWARGS)


@arena
def test_arena_round_trips_between_parallel_and_aec():
    api_test(parallel_to_aec(arena_env()), num_cycles=15)
    parallel_api_test(aec_to_parallel(parallel_to_aec(arena_env())), num_cycles=15)


@arena
def test_arena_dict_observations_refuse_box_only_wrappers_until_flattened():
    with pytest.raises(AssertionError):
        supersuit.frame_stack_v2(arena_env(), 2)
    env = black_death_v3(arena_env())
    with pytest.raises(AssertionError, match="Box"):
        env.reset(seed=0)


@arena
def test_flattened_arena_under_black_death_agent_indicator_and_frame_stack():
    env = supersuit.frame_stack_v2(
        supersuit.agent_indicator_v0(black_death_v3(flatten_observations_v0(arena_env()))), 2
    )
    parallel_api_test(env, num_cycles=15)
    flat = flatten_observations_v0(arena_env())
    agents = flat.possible_agents
    size = flat.observation_space(agents[0]).shape[0]
    assert env.observation_space(agents[0]).shape == (2 * (size + len(agents)),)
