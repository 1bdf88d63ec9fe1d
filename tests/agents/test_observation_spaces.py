"""Observation spaces of any depth: Dict and Tuple nested in any way, entity lists and images at
any level, PettingZoo's ``{"observation": ..., "action_mask": ...}`` with a structured observation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from agents import IPPO, MAPPO, PPO
from agents.models import EntityEncoder, FlatEncoder, ImageEncoder, MixedEncoder, entity_keys_of, make_encoder
from agents.observation_layout import ObservationLayout


def nested_space(entities: bool, image: bool) -> spaces.Dict:
    """The observation of :class:`NestedTargetEnv`: the target sits three levels deep."""
    inner: dict[str, spaces.Space] = {
        "sensors": spaces.Tuple(
            (
                spaces.Box(-1, 1, (2,), np.float32),
                spaces.Dict({"target": spaces.Discrete(3), "deep": spaces.Dict({"noise": spaces.Box(-1, 1, (1,))})}),
            )
        ),
        "flags": spaces.MultiBinary(2),
    }
    if entities:
        inner["others"] = spaces.Box(-1, 1, (2, 3), np.float32)
        inner["others_mask"] = spaces.Box(0, 1, (2,), np.float32)
    if image:
        inner["camera"] = spaces.Box(0, 255, (8, 8, 1), np.uint8)
    return spaces.Dict({"observation": spaces.Dict(inner), "action_mask": spaces.Box(0, 1, (3,), np.int8)})


class NestedTargetEnv(ParallelEnv):
    """Two agents each see a target in 0..2 at ``observation/sensors/1/target``; reward 1 for
    choosing it, else 0 (random play: 1/3). Action 2 is forbidden on even steps through the
    action mask (the target is never 2 then); the environment raises on a forbidden action."""

    metadata = {"name": "nested_target_v0"}

    def __init__(self, entities: bool = False, image: bool = False, length: int = 8):
        self.possible_agents = ["scout_0", "scout_1"]
        self.agents: list[str] = []
        self.entities, self.image, self.length = entities, image, length
        self.space = nested_space(entities, image)
        self.rng = np.random.default_rng(0)

    def observation_space(self, agent):
        return self.space

    def action_space(self, agent):
        return spaces.Discrete(3)

    def _observe(self):
        self.targets, observations = {}, {}
        allowed = 2 if self.t % 2 == 0 else 3
        for agent in self.agents:
            target = int(self.rng.integers(allowed))
            self.targets[agent] = target
            inner = {
                "sensors": (
                    self.rng.uniform(-1, 1, 2).astype(np.float32),
                    {"target": target, "deep": {"noise": self.rng.uniform(-1, 1, 1).astype(np.float32)}},
                ),
                "flags": self.rng.integers(0, 2, 2).astype(np.int8),
            }
            if self.entities:
                inner["others"] = self.rng.uniform(-1, 1, (2, 3)).astype(np.float32)
                inner["others_mask"] = np.array([1, self.t % 2], np.float32)
            if self.image:
                inner["camera"] = np.full((8, 8, 1), 100 * target, np.uint8)
            mask = np.array([1, 1, int(allowed == 3)], np.int8)
            observations[agent] = {"observation": inner, "action_mask": mask}
        return observations

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        self.agents = list(self.possible_agents)
        return self._observe(), {agent: {} for agent in self.agents}

    def step(self, actions):
        for agent, action in actions.items():
            if action == 2 and self.t % 2 == 0:
                raise AssertionError(f"{agent} took the forbidden action 2 at step {self.t}")
        rewards = {agent: float(actions[agent] == self.targets[agent]) for agent in self.agents}
        self.t += 1
        done = self.t >= self.length
        agents = list(self.agents)
        observations = self._observe()
        if done:
            self.agents = []
        return observations, rewards, {a: False for a in agents}, {a: done for a in agents}, {a: {} for a in agents}


def test_flattening_agrees_with_gymnasium_at_any_depth():
    """Gymnasium's spaces.flatten is the independent computation (same leaf order, Discrete
    one-hot); MultiDiscrete is left out since the layout keeps its raw values."""
    space = nested_space(entities=True, image=True)
    layout = ObservationLayout(space, owner="agent 'scout_0'")
    env = NestedTargetEnv(entities=True, image=True)
    observations, _ = env.reset(seed=3)
    rows = layout.flatten(list(observations.values()))
    expected = np.stack([spaces.flatten(space, observation) for observation in observations.values()])
    assert layout.dim == spaces.flatdim(space) == rows.shape[1]
    assert np.array_equal(rows, expected.astype(np.float32))
    target = layout.part("observation/sensors/1/target")
    assert target is not None and target.shape == (3,)
    for row, agent in zip(rows, observations):
        assert np.argmax(row[target.start : target.stop]) == env.targets[agent]


def test_tuple_at_the_top_and_discrete_with_a_start():
    space = spaces.Tuple((spaces.Discrete(3, start=-1), spaces.Tuple((spaces.Box(0, 1, (2, 2)), spaces.Discrete(2)))))
    layout = ObservationLayout(space)
    sample = (1, (np.arange(4, dtype=np.float32).reshape(2, 2), 1))
    assert [part.key for part in layout.parts] == ["0", "1/0", "1/1"]
    assert np.array_equal(layout.flatten([sample])[0], spaces.flatten(space, sample))
    assert np.array_equal(ObservationLayout(spaces.Discrete(3, start=5)).flatten([6])[0], [0, 1, 0])


def test_a_missing_part_is_one_error_naming_the_agent_and_the_part():
    layout = ObservationLayout(nested_space(entities=False, image=False), owner="agent 'scout_0'")
    observation, _ = NestedTargetEnv().reset(seed=0)
    broken = observation["scout_0"]
    del broken["observation"]["sensors"][1]["deep"]["noise"]
    with pytest.raises(
        ValueError, match=r"agent 'scout_0': the observation has no part 'observation/sensors/1/deep/noise'"
    ):
        layout.flatten([broken])
    with pytest.raises(ValueError, match="unsupported observation space for agent 'x': observation part 'a/0'"):
        ObservationLayout(spaces.Dict({"a": spaces.Tuple((spaces.Text(5),))}), owner="agent 'x'")


def test_nested_entity_lists_reach_the_entity_encoder_and_masked_entities_change_nothing():
    torch.manual_seed(0)
    layout = ObservationLayout(nested_space(entities=True, image=False))
    assert entity_keys_of(layout) == ["observation/others"]
    encoder = make_encoder(layout, normalize=False, layer_norm=False)
    assert isinstance(encoder, EntityEncoder)
    env = NestedTargetEnv(entities=True)
    env.reset(seed=0)
    env.t = 2  # the second entity is masked out on even steps
    observation = env._observe()["scout_0"]
    changed = {**observation, "observation": {**observation["observation"]}}
    changed["observation"]["others"] = observation["observation"]["others"].copy()
    changed["observation"]["others"][1] += 5.0
    first, second = (encoder(torch.from_numpy(layout.flatten([o]))) for o in (observation, changed))
    assert torch.allclose(first, second, atol=1e-6)
    changed["observation"]["others"][0] += 5.0  # a present entity does change the encoding
    assert not torch.allclose(first, encoder(torch.from_numpy(layout.flatten([changed]))), atol=1e-3)


def test_images_inside_dicts_get_a_cnn_beside_the_other_parts():
    layout = ObservationLayout(nested_space(entities=True, image=True))
    encoder = make_encoder(layout, normalize=False, layer_norm=False)
    assert isinstance(encoder, MixedEncoder) and isinstance(encoder.rest, EntityEncoder)
    (camera,) = encoder.images
    assert isinstance(camera, ImageEncoder) and camera.part.key == "observation/camera" and camera.scale == 255.0
    flat = make_encoder(ObservationLayout(nested_space(entities=False, image=True)), False, False)
    assert isinstance(flat, MixedEncoder) and isinstance(flat.rest, FlatEncoder)
    camera_part = layout.part("observation/camera")
    assert not any(start < camera_part.stop and camera_part.start < stop for start, stop in flat.rest.slices)
    x = torch.rand(3, 2, layout.dim)
    assert encoder(x).shape == (3, 2, encoder.output_dim)


@pytest.mark.parametrize(
    "algorithm, entities, image",
    [(MAPPO, True, False), (IPPO, False, True), (PPO, True, True)],
)
def test_learners_build_and_train_on_nested_observations(algorithm, entities, image):
    learner = algorithm(
        lambda: NestedTargetEnv(entities=entities, image=image), n_envs=2, n_steps=16, recurrent=False, n_epochs=2
    )
    before = [parameter.detach().clone() for parameter in learner.models.parameters()]
    learner.learn(2 * 2 * 16)
    assert learner.updates == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, learner.models.parameters()))
    actions = learner.act(NestedTargetEnv(entities=entities, image=image).reset(seed=1)[0])
    assert set(actions) == {"scout_0", "scout_1"}


def test_a_target_three_levels_deep_is_learned_better_than_random_play():
    """Random play scores 1/3 per step (a bit more, as action 2 is masked on even steps)."""
    learner = IPPO(NestedTargetEnv, n_envs=4, n_steps=16, recurrent=False, learning_rate=3e-3, seed=0)
    returns = []
    learner.learn(4 * 16 * 40, callback=lambda metrics: returns.append(metrics["episode_return"]))
    random_play = 8 * (0.5 * 1 / 2 + 0.5 * 1 / 3)
    assert np.mean(returns[-5:]) > random_play + 2.5, (returns[-5:], random_play)
