"""The subgame curriculum (agents.curriculum): its sampling and weights against hand
computations, and collection starting episodes from stored states at the configured rate."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from agents import MAPPO
from agents.curriculum import (
    CurriculumSettings,
    StateBuffer,
    SubgameCurriculum,
    decode_state,
    encode_state,
    farthest_point_sample,
    start_probabilities,
    value_change_weights,
)


class LineTagEnv(ParallelEnv):
    """A chaser and a runner on a line of 11 cells; each moves -1, 0 or +1 per step. The runner
    scores +1 per step while more than 2 cells away, else -1 (the chaser the opposite); episodes
    last ``horizon`` steps. Every saved state carries a fresh ``visit`` number, and every reset
    is logged in :attr:`resets` (the visit it started from, or None), shared by all copies."""

    metadata = {"name": "line_tag_v0", "render_modes": []}
    visits = itertools.count()
    resets: list[int | None] = []
    saved_visits: set[int] = set()

    def __init__(self, horizon: int = 8):
        self.horizon = horizon
        self.possible_agents = ["chaser_0", "runner_0"]
        self.agents: list[str] = []
        self.state_space = spaces.Box(0.0, 10.0, (3,), np.float32)
        self.rng = np.random.default_rng(0)
        self.position = np.zeros(2)
        self.t = 0

    def observation_space(self, agent):
        return self.state_space

    def action_space(self, agent):
        return spaces.Discrete(3)

    def state(self):
        return np.array([*self.position, self.t / self.horizon], dtype=np.float32)

    def _observations(self):
        return {agent: self.state() for agent in self.agents}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        saved = (options or {}).get("state")
        self.agents = list(self.possible_agents)
        if saved is None:
            self.position = self.rng.integers(0, 11, size=2).astype(float)
            self.t = 0
            LineTagEnv.resets.append(None)
        else:
            self.position = saved["position"].copy()
            self.t = int(saved["t"])
            LineTagEnv.resets.append(int(saved["visit"]))
        return self._observations(), {agent: {} for agent in self.agents}

    def save_state(self):
        visit = next(LineTagEnv.visits)
        LineTagEnv.saved_visits.add(visit)
        return {"position": self.position.copy(), "t": np.array(self.t), "visit": np.array(visit, dtype=np.int64)}

    def step(self, actions):
        for i, agent in enumerate(self.possible_agents):
            self.position[i] = np.clip(self.position[i] + int(actions[agent]) - 1, 0, 10)
        self.t += 1
        far = abs(self.position[0] - self.position[1]) > 2
        rewards = {"chaser_0": -1.0 if far else 1.0, "runner_0": 1.0 if far else -1.0}
        done = self.t >= self.horizon
        observations = self._observations()
        agents = self.agents
        if done:
            self.agents = []
        return observations, rewards, dict.fromkeys(agents, False), dict.fromkeys(agents, done), {a: {} for a in agents}


class NoSavingEnv(LineTagEnv):
    """The same game without the saved-state protocol."""

    save_state = None


@pytest.fixture(autouse=True)
def fresh_logs():
    LineTagEnv.resets.clear()
    LineTagEnv.saved_visits.clear()


def small_mappo(env=LineTagEnv, **overrides):
    settings = dict(
        n_envs=4,
        n_steps=16,
        n_epochs=1,
        hidden_sizes=(16,),
        recurrent_hidden_size=8,
        chunk_length=4,
        curriculum="sacl",
        curriculum_probability=0.5,
        curriculum_buffer_size=32,
    )
    settings.update(overrides)
    learner = MAPPO(env, seed=3, **settings)
    LineTagEnv.resets.clear()  # forget the probe's resets (the curriculum tries one restore up front)
    return learner


# ------------------------------------------------------------------------------ the mathematics
def test_farthest_point_sampling_picks_the_far_points_first():
    points = np.array([[0.0], [1.0], [2.0], [10.0]])
    # from 0: 10 is farthest; then 2 (2 from its nearest chosen point) beats 1 (1 away)
    np.testing.assert_array_equal(farthest_point_sample(points, 3, first=0), [0, 3, 2])
    assert sorted(farthest_point_sample(points, 9, first=1).tolist()) == [0, 1, 2, 3]


def test_farthest_point_sampling_agrees_with_a_brute_force_greedy_choice():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3)) * [1.0, 10.0, 0.1]
    normalised = (features - features.min(0)) / (features.max(0) - features.min(0))
    distances = np.linalg.norm(normalised[:, None] - normalised[None], axis=-1)
    chosen = [5]
    for _ in range(9):
        chosen.append(int(np.argmax(distances[:, chosen].min(axis=1))))
    np.testing.assert_array_equal(farthest_point_sample(features, 10, first=5), chosen)


def test_value_change_weights_are_the_mean_squared_change_over_living_agents():
    previous = [np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0], [5.0]])]
    current = [np.array([[2.0, 0.0], [0.0, 0.0]]), np.array([[3.0], [1.0]])]
    alive = [np.array([[1, 1], [0, 0]]), np.array([[0], [1]])]
    # state 0: agents 0 and 1 of group 0 alive: (1 + 4) / 2; state 1: the agent of group 1: 16
    np.testing.assert_allclose(value_change_weights(previous, current, alive), [2.5, 16.0])
    assert value_change_weights([np.ones((1, 1))], [np.zeros((1, 1))], [np.zeros((1, 1))])[0] == 0.0


def test_start_probabilities_follow_the_weights_and_are_uniform_without_any():
    np.testing.assert_allclose(start_probabilities(np.array([0.0, 1.0, 3.0])), [0.0, 0.25, 0.75])
    np.testing.assert_allclose(start_probabilities(np.zeros(4)), [0.25] * 4)


def linear_critic(scale: float):
    """A stand-in critic: every agent's value is ``scale`` times the sum of its input."""
    return lambda inputs: [scale * x.sum(axis=-1) for x in inputs]


def test_buffer_weights_follow_how_far_the_critic_moved_since_it_last_saw_each_state():
    buffer = StateBuffer(capacity=10)
    rng = np.random.default_rng(0)
    for k in range(3):
        inputs = [np.full((2, 1), float(k + 1))]  # one group of two agents, one input each
        buffer.offer({"k": np.array(k)}, np.array([float(k)]), inputs, [np.array([True, k != 2])])
    buffer.value_candidates(linear_critic(1.0))  # values at collection: k + 1 per agent
    buffer.refresh(linear_critic(3.0), rng)  # now 3 (k + 1): change 2 (k + 1)
    np.testing.assert_allclose(buffer.weights, [4.0, 16.0, 36.0])
    buffer.refresh(linear_critic(2.0), rng)  # change -(k + 1) since last seen
    np.testing.assert_allclose(buffer.weights, [1.0, 4.0, 9.0])
    buffer.refresh(linear_critic(2.0), rng)  # settled: no change, then drawn uniformly
    np.testing.assert_allclose(buffer.weights, [0.0, 0.0, 0.0])


def test_the_buffer_keeps_its_capacity_and_the_diverse_states():
    buffer = StateBuffer(capacity=3)
    for k, x in enumerate([0.0, 0.1, 0.2, 5.0, 10.0, 9.9]):
        buffer.offer({"k": np.array(k)}, np.array([x]), [np.zeros((1, 1))], [np.ones(1, bool)])
    buffer.value_candidates(linear_critic(1.0))
    buffer.refresh(linear_critic(1.0), np.random.default_rng(1))
    kept = sorted(float(f[0]) for f in buffer.entries.features)
    assert len(buffer) == 3 and kept[0] <= 0.2 and kept[1] == 5.0 and kept[2] >= 9.9


def test_draws_follow_the_weights():
    buffer = StateBuffer(capacity=3)
    for k in range(3):
        buffer.offer({"k": np.array(k)}, np.array([float(k)]), [np.full((1, 1), float(k))], [np.ones(1, bool)])
    buffer.value_candidates(linear_critic(0.0))
    buffer.refresh(linear_critic(1.0), np.random.default_rng(0))  # weights k^2: 0, 1, 4
    rng = np.random.default_rng(2)
    counts = np.bincount([int(buffer.draw(rng)["k"]) for _ in range(5000)], minlength=3)
    np.testing.assert_allclose(counts / 5000, [0.0, 0.2, 0.8], atol=0.03)


def test_a_curriculum_starts_the_configured_share_of_resets_from_the_buffer():
    curriculum = SubgameCurriculum(CurriculumSettings(probability=0.3, buffer_size=4), n_envs=2, n_steps=4)
    assert curriculum.candidate_probability == 0.5
    curriculum.begin_rollout(0, linear_critic(1.0))
    assert curriculum.start_state() is None  # nothing stored yet
    curriculum.offer({"k": np.array(7)}, np.zeros(1), [np.ones((1, 1))], [np.ones(1, bool)])
    curriculum.end_rollout(linear_critic(1.0))
    curriculum.begin_rollout(1, linear_critic(2.0))
    starts = [curriculum.start_state() for _ in range(4000)]
    share = np.mean([s is not None for s in starts])
    assert abs(share - 0.3) < 0.03 and all(int(s["k"]) == 7 for s in starts if s is not None)


def test_saved_states_round_trip_through_a_weights_only_checkpoint():
    state = {
        "a": np.arange(6, dtype=np.uint64).reshape(2, 3) << np.uint64(60),
        "b": np.array([True, False]),
        "c": np.array(2.5),
        "d": np.zeros((0, 5)),
    }
    buffer = io.BytesIO()
    torch.save({"start": encode_state(state)}, buffer)
    buffer.seek(0)
    loaded = decode_state(torch.load(buffer, weights_only=True)["start"])
    for key, value in state.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key], value)
    spoiled = encode_state({"x": np.zeros(2)})
    spoiled["x"]["dtype"] = "|O"
    with pytest.raises(ValueError, match="not a numeric"):
        decode_state(spoiled)


# ------------------------------------------------------------------------------ configuration
@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"curriculum": "plr"}, "curriculum must be one of 'none', 'sacl'"),
        ({"curriculum_probability": 1.5}, r"curriculum_probability must be a number in \[0, 1\]"),
        ({"curriculum_buffer_size": 0}, "curriculum_buffer_size must be an integer >= 1"),
    ],
)
def test_bad_curriculum_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        small_mappo(**overrides)


def test_an_environment_without_saved_states_is_refused_up_front():
    with pytest.raises(ValueError, match="has no save_state"):
        small_mappo(NoSavingEnv)
    small_mappo(NoSavingEnv, curriculum="none").close()


# ------------------------------------------------------------------------------ collection
def test_collection_starts_episodes_from_stored_states_at_the_configured_rate():
    learner = small_mappo(curriculum_probability=0.6)
    learner.learn(4 * 16)  # the first rollout fills the buffer; its resets are all normal
    assert LineTagEnv.resets.count(None) == len(LineTagEnv.resets)
    first = len(LineTagEnv.resets)
    learner.learn(40 * 4 * 16)
    later = LineTagEnv.resets[first:]
    share = np.mean([visit is not None for visit in later])
    # episodes from stored states start mid-game, so there are more resets than the 320 of full episodes
    assert len(later) > 320 and abs(share - 0.6) < 0.09  # 4 standard deviations
    # every start is a state the collector saved, and the buffer holds at most its capacity
    assert {visit for visit in later if visit is not None} <= LineTagEnv.saved_visits
    buffer = learner.collector.curriculum.buffer
    assert 0 < len(buffer) <= 32 and buffer.weights.shape == (len(buffer),)
    assert all(int(state["visit"]) in LineTagEnv.saved_visits for state in buffer.entries.states)
    learner.close()


def test_critic_values_for_the_buffer_are_the_values_collection_saw():
    learner = small_mappo(recurrent=False, value_normalization=True)
    learner.learn(3 * 4 * 16)
    collector, storage = learner.collector, learner.storages[0]
    collector.collect(list(learner.models), learner.storages, 16)  # collected by the critic as it is now
    inputs = [storage.critic_observations[5].numpy()]  # step 5 of the last rollout, [E, A, C]
    expected = learner.model(0).denormalize(storage.value_outputs[5]).numpy()
    np.testing.assert_allclose(collector.critic_values([learner.model(0)], inputs)[0], expected, rtol=1e-5, atol=1e-6)
    learner.close()


def test_env_copies_started_from_stored_states_resume_exactly():
    learner = small_mappo(curriculum_probability=1.0)
    learner.learn(3 * 4 * 16 + 4 * 3)  # mid-episode, the env copies started from stored states
    assert all(saved is not None for saved in learner.collector.start_states)
    buffer = io.BytesIO()
    torch.save(learner.collector.state_dict(), buffer)
    buffer.seek(0)
    other = small_mappo(curriculum_probability=1.0)
    other.collector.load_state_dict(torch.load(buffer, weights_only=True))
    for env, restored in zip(learner.envs, other.envs):
        np.testing.assert_array_equal(env.position, restored.position)
        assert env.t == restored.t
    mine, theirs = learner.collector.slots[0], other.collector.slots[0]
    for name in ("observations", "critic_observations", "alive"):
        np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name))
    learner.close()
    other.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_rollout_workers_run_the_curriculum_over_their_env_copies(workers):
    from agents.backends import LocalWorkerPool, RemoteBackend

    learner = small_mappo(curriculum_probability=1.0).use_backend(RemoteBackend(LocalWorkerPool(), workers))
    learner.learn(4 * 4 * 16)
    starts = [visit for visit in LineTagEnv.resets if visit is not None]
    assert len(starts) > 10 and set(starts) <= LineTagEnv.saved_visits
    state = learner.backend.state_dict()
    assert len(state["start_states"]) == 4 and all(saved is not None for saved in state["start_states"])
    learner.close()
