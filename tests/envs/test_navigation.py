"""navigation_v0 against PettingZoo's API tests and against its own rules, computed by hand."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, parallel_seed_test, render_test, seed_test
from pettingzoo.test.state_test import state_test

from envs import navigation_v0
from envs.navigation.env import AGENT_COLOR
from envs.scene import Circle, Replayable

NO_OP, LEFT, RIGHT, DOWN, UP = range(5)


def placed(env, agent_pos, landmark_pos):
    """Reset ``env`` and put agents and landmarks at the given positions, at rest."""
    env.reset(seed=0)
    env.restore_replay_frame(
        env.replay_static(),
        {"agent_pos": np.array(agent_pos, dtype=float), "landmark_pos": np.array(landmark_pos, dtype=float)},
    )
    return env


def step_all(env, action):
    return env.step({agent: action for agent in env.agents})


@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize("observation_radius", [None, 0.6])
def test_pettingzoo_parallel_and_aec_api(continuous, observation_radius):
    kwargs = {"continuous_actions": continuous, "observation_radius": observation_radius}
    parallel_api_test(navigation_v0.parallel_env(**kwargs), num_cycles=60)
    api_test(navigation_v0.env(**kwargs), num_cycles=60)


def test_pettingzoo_seed_max_cycles_state_and_render_tests():
    parallel_seed_test(partial(navigation_v0.parallel_env, observation_radius=0.5), num_cycles=60)
    seed_test(partial(navigation_v0.env, continuous_actions=True), num_cycles=60)
    max_cycles_test(navigation_v0)
    state_test(navigation_v0.env(), navigation_v0.parallel_env(), num_cycles=20)
    render_test(partial(navigation_v0.env, render_mode="rgb_array"))


def run_trajectory(seed: int, steps: int = 200, continuous: bool = False):
    env = navigation_v0.parallel_env(
        n_agents=4, max_cycles=steps, continuous_actions=continuous, observation_radius=0.8
    )
    observations, _ = env.reset(seed=seed)
    action_rng = np.random.default_rng(1234)
    trace = [np.stack([observations[a] for a in env.possible_agents])]
    rewards = []
    for _ in range(steps):
        if continuous:
            actions = {a: action_rng.uniform(-1, 1, 2).astype(np.float32) for a in env.agents}
        else:
            actions = {a: int(action_rng.integers(5)) for a in env.agents}
        observations, reward, _, _, _ = env.step(actions)
        trace.append(np.stack([observations[a] for a in env.possible_agents]))
        rewards.append(reward["agent_0"])
    assert not env.agents  # truncated exactly at max_cycles
    return np.stack(trace), np.array(rewards), env.state()


@pytest.mark.parametrize("continuous", [False, True])
def test_same_seed_same_trajectory_over_200_steps(continuous):
    first = run_trajectory(seed=7, continuous=continuous)
    second = run_trajectory(seed=7, continuous=continuous)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = run_trajectory(seed=8, continuous=continuous)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1])


def test_reward_is_minus_coverage_distances_on_a_scripted_placement():
    env = placed(
        navigation_v0.parallel_env(), agent_pos=[(0, 0), (1, 0), (-1, -1)], landmark_pos=[(0, 0.3), (1, 0.4), (1, 1)]
    )
    _, rewards, terminations, truncations, _ = step_all(env, NO_OP)
    # Closest agents: landmark 0 -> agent 0 (0.3), landmark 1 -> agent 1 (0.4), landmark 2 -> agent 1 (1.0).
    expected = -(0.3 + 0.4 + 1.0)
    assert set(rewards) == {"agent_0", "agent_1", "agent_2"}
    for reward in rewards.values():
        assert reward == pytest.approx(expected, abs=1e-12)
    assert not any(terminations.values()) and not any(truncations.values())


def test_collision_penalty_counts_each_overlapping_pair_once():
    agent_pos = [(0, 0), (0.2, 0), (-1.5, 1.5)]  # agents 0 and 1 overlap (0.2 < 2 * 0.15)
    landmark_pos = [(0, 0), (0.2, 0), (-1.5, 1.5)]  # each under an agent: coverage cost 0
    rewards = {}
    for penalty in (0.0, 1.0, 2.5):
        env = placed(navigation_v0.parallel_env(collision_penalty=penalty), agent_pos, landmark_pos)
        rewards[penalty] = step_all(env, NO_OP)[1]["agent_2"]
    assert rewards[0.0] == pytest.approx(0.0, abs=1e-12)
    assert rewards[1.0] == pytest.approx(-1.0, abs=1e-12)
    assert rewards[2.5] == pytest.approx(-2.5, abs=1e-12)

    three = placed(navigation_v0.parallel_env(), [(0, 0), (0.2, 0), (0.1, 0.15)], [(0, 0), (0.2, 0), (0.1, 0.15)])
    assert step_all(three, NO_OP)[1]["agent_0"] == pytest.approx(-3.0, abs=1e-12)  # three overlapping pairs


def test_contact_force_pushes_overlapping_agents_apart_symmetrically():
    env = placed(navigation_v0.parallel_env(), [(0, 0), (0.2, 0), (-1.5, 1.5)], [(1, 1)] * 3)
    observations, *_ = step_all(env, NO_OP)
    # Penetration margin * log(1 + exp((0.3 - 0.2) / margin)) = 0.1; force 100 * 0.1 = 10; velocity 10 * dt = 1.
    np.testing.assert_allclose(observations["agent_0"][:2], [-1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(observations["agent_1"][:2], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(observations["agent_2"][:2], [0.0, 0.0], atol=1e-12)


def test_discrete_and_continuous_actions_follow_the_point_mass_dynamics():
    env = placed(navigation_v0.parallel_env(), [(0, 0), (1, 1), (-1, -1)], [(0, 0)] * 3)
    observations, *_ = env.step({"agent_0": RIGHT, "agent_1": UP, "agent_2": NO_OP})
    # Position moves with the old velocity (0), then velocity += acceleration 5 * dt 0.1.
    np.testing.assert_allclose(observations["agent_0"][:4], [0.5, 0.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(observations["agent_1"][:4], [0.0, 0.5, 1.0, 1.0], atol=1e-7)
    observations, *_ = env.step({"agent_0": RIGHT, "agent_1": NO_OP, "agent_2": NO_OP})
    np.testing.assert_allclose(observations["agent_0"][:4], [0.5 * 0.75 + 0.5, 0.0, 0.05, 0.0], atol=1e-7)
    np.testing.assert_allclose(observations["agent_1"][:4], [0.0, 0.375, 1.0, 1.05], atol=1e-7)

    env = placed(navigation_v0.parallel_env(continuous_actions=True), [(0, 0), (1, 1), (-1, -1)], [(0, 0)] * 3)
    observations, *_ = env.step(
        {
            "agent_0": np.array([1.0, -0.5], np.float32),
            "agent_1": np.array([3.0, 0.0], np.float32),  # clipped to 1
            "agent_2": np.zeros(2, np.float32),
        }
    )
    np.testing.assert_allclose(observations["agent_0"][:2], [0.5, -0.25], atol=1e-7)
    np.testing.assert_allclose(observations["agent_1"][:2], [0.5, 0.0], atol=1e-7)


def test_full_observation_layout_by_hand():
    env = placed(navigation_v0.parallel_env(), [(0, 0), (1, 0), (-1, -1)], [(0, 0.3), (1, 0.4), (1, 1)])
    observations, *_ = step_all(env, NO_OP)
    expected = [0, 0, 0, 0, 0, 0.3, 1, 0.4, 1, 1, 1, 0, -1, -1]
    np.testing.assert_allclose(observations["agent_0"], expected, atol=1e-6)
    expected_agent_2 = [0, 0, -1, -1, 1, 1.3, 2, 1.4, 2, 2, 1, 1, 2, 1]
    np.testing.assert_allclose(observations["agent_2"], expected_agent_2, atol=1e-6)
    assert env.observation_space("agent_0").shape == (14,)


def test_partial_observation_zeroes_and_masks_entities_out_of_sight():
    env = placed(
        navigation_v0.parallel_env(observation_radius=0.5), [(0, 0), (1, 0), (-1, -1)], [(0, 0.3), (1, 0.4), (1, 1)]
    )
    observations, *_ = step_all(env, NO_OP)
    # Agent 0 sees landmark 0 only (0.3 away); landmark 1 is 1.08 away, the agents 1 and 1.41.
    expected_0 = [0, 0, 0, 0, 0, 0.3, 0, 0, 0, 0, 0, 0, 0, 0] + [1, 0, 0] + [0, 0]
    np.testing.assert_allclose(observations["agent_0"], expected_0, atol=1e-6)
    # Agent 1 sees landmark 1 (0.4 away) only.
    expected_1 = [0, 0, 1, 0, 0, 0, 0, 0.4, 0, 0, 0, 0, 0, 0] + [0, 1, 0] + [0, 0]
    np.testing.assert_allclose(observations["agent_1"], expected_1, atol=1e-6)
    assert env.observation_space("agent_0").shape == (19,)


def test_state_holds_positions_velocities_and_landmarks():
    env = placed(navigation_v0.parallel_env(n_agents=2, n_landmarks=3), [(0, 0), (1, 0)], [(0, 1), (1, 1), (2, 0)])
    env.step({"agent_0": RIGHT, "agent_1": NO_OP})
    state = env.state()
    assert state.shape == env.state_space.shape == (4 * 2 + 2 * 3,)
    assert state.dtype == np.float32
    np.testing.assert_allclose(state, [0, 0, 1, 0, 0.5, 0, 0, 0, 0, 1, 1, 1, 2, 0], atol=1e-7)


def test_truncation_at_max_cycles_with_episode_statistics():
    env = navigation_v0.parallel_env(max_cycles=3, cover_radius=0.1)
    placed(env, [(0, 0), (1, 0), (-1, -1)], [(0, 0.05), (1, 0.4), (1, 1)])
    for step in range(3):
        _, rewards, terminations, truncations, infos = step_all(env, NO_OP)
        assert all(truncations.values()) == (step == 2)
        assert not any(terminations.values())
    assert env.agents == []
    stats = infos["agent_0"]["episode_stats"]
    assert stats["landmarks_covered"] == 1.0
    assert stats["collisions"] == 0.0
    assert stats["return"] == pytest.approx(3 * -(0.05 + 0.4 + 1.0))
    assert stats["final_coverage_distance"] == pytest.approx(1.45)
    with pytest.raises(RuntimeError, match="reset"):
        step_all(env, NO_OP)


def test_agents_stop_at_the_arena_wall():
    env = placed(navigation_v0.parallel_env(max_cycles=40), [(1.9, 0), (0, 0), (-1, -1)], [(0, 0)] * 3)
    for _ in range(30):
        observations, *_ = env.step({"agent_0": RIGHT, "agent_1": NO_OP, "agent_2": NO_OP})
        assert observations["agent_0"][2] <= 2.0
    assert observations["agent_0"][2] == pytest.approx(2.0)


def test_bad_arguments_and_actions_are_clear_errors():
    with pytest.raises(ValueError, match="n_agents"):
        navigation_v0.parallel_env(n_agent=3)
    with pytest.raises(ValueError, match="n_agents must be an integer >= 1"):
        navigation_v0.parallel_env(n_agents=0)
    with pytest.raises(ValueError, match="observation_radius"):
        navigation_v0.parallel_env(observation_radius=-1.0)
    with pytest.raises(ValueError, match="render_mode"):
        navigation_v0.parallel_env(render_mode="video")
    env = navigation_v0.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing"):
        env.step({"agent_0": 0})
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        env.step({"agent_0": 0, "agent_1": 7, "agent_2": 0})
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        env.step({"agent_0": 0, "agent_1": -1, "agent_2": 0})
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        env.step({"agent_0": 0, "agent_1": 1.5, "agent_2": 0})
    observations, *_ = env.step({"agent_0": np.array([2]), "agent_1": np.int64(0), "agent_2": 0})
    assert observations["agent_0"][0] == pytest.approx(0.5, abs=0.2)  # one-element arrays are accepted
    continuous = navigation_v0.parallel_env(continuous_actions=True)
    continuous.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        continuous.step({a: np.array([np.nan, 0.0]) for a in continuous.agents})


def test_replay_frames_restore_and_describe_the_scene():
    env = navigation_v0.parallel_env(n_agents=2, n_landmarks=3, observation_radius=0.5)
    assert isinstance(env, Replayable)
    env.reset(seed=3)
    static, frame = env.replay_static(), env.replay_frame()
    assert frame["agent_pos"].shape == (2, 2) and frame["landmark_pos"].shape == (3, 2)
    assert int(static["n_agents"]) == 2 and int(static["n_landmarks"]) == 3
    np.testing.assert_array_equal(static["world_bounds"], [-2, -2, 2, 2])
    recorded = {key: value.copy() for key, value in frame.items()}
    env.step({"agent_0": RIGHT, "agent_1": UP})
    env.step({"agent_0": RIGHT, "agent_1": UP})
    assert not np.array_equal(env.replay_frame()["agent_pos"], recorded["agent_pos"])
    env.restore_replay_frame(static, recorded)
    np.testing.assert_array_equal(env.replay_frame()["agent_pos"], recorded["agent_pos"])
    scene = env.scene()
    bodies = [s for s in scene.shapes if isinstance(s, Circle) and s.layer == "body"]
    sight = [s for s in scene.shapes if s.layer == "vision"]
    assert len(bodies) == 5 and len(sight) == 2
    agent_centres = sorted(c.center for c in bodies if c.radius == 0.15)
    assert agent_centres == sorted(tuple(p) for p in recorded["agent_pos"].tolist())
    with pytest.raises(ValueError, match="n_agents"):
        navigation_v0.parallel_env(n_agents=3).restore_replay_frame(static, recorded)


def test_rgb_array_render_draws_agents_where_they_are():
    env = placed(navigation_v0.parallel_env(render_mode="rgb_array"), [(0, 0), (1, 1), (-1, 1)], [(1.5, -1.5)] * 3)
    image = env.render()
    assert image.shape == (600, 600, 3) and image.dtype == np.uint8
    # Below a 22-pixel caption band and inside a 10-pixel margin, the arena [-2, 2]^2 fills a
    # 558-pixel square, centred across the 580 usable columns: 139.5 pixels per metre.
    scale, left, top = 558 / 4, 10 + (580 - 558) / 2, 22 + 10

    def pixel(x: float, y: float) -> tuple[int, int]:  # screen y points down
        return int(top + (2 - y) * scale), int(left + (x + 2) * scale)

    assert tuple(image[pixel(0, 0)]) == AGENT_COLOR
    assert tuple(image[pixel(1, 1)]) == AGENT_COLOR
    assert tuple(image[pixel(-1.5, -1.5)]) != AGENT_COLOR  # empty floor
    env.close()


def test_human_render_draws_to_a_window_and_returns_none():
    env = navigation_v0.parallel_env(render_mode="human", max_cycles=2)
    env.reset(seed=0)
    assert env.render() is None
    step_all(env, NO_OP)
    env.close()


@pytest.mark.parametrize("n_agents", [1, 2, 6])
def test_other_team_sizes(n_agents):
    env = navigation_v0.parallel_env(n_agents=n_agents, observation_radius=1.0)
    observations, _ = env.reset(seed=0)
    size = 4 + 2 * n_agents + 2 * (n_agents - 1) + n_agents + (n_agents - 1)
    assert all(o.shape == (size,) for o in observations.values())
    _, rewards, *_ = step_all(env, UP)
    distances = np.linalg.norm(env.landmark_pos[None] - env.agent_pos[:, None], axis=-1)
    pairs = sum(
        1
        for i in range(n_agents)
        for j in range(i + 1, n_agents)
        if math.dist(env.agent_pos[i], env.agent_pos[j]) < 0.3
    )
    assert rewards["agent_0"] == pytest.approx(-distances.min(axis=0).sum() - pairs)
