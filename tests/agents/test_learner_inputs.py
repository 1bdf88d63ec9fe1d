"""What the learner refuses, in learn() and act() alike: one clear error naming the agent and
the space, before a forbidden action reaches the environment or numpy's own message surfaces."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from learner_scripted_envs import DyingAgentsEnv

from agents import MAPPO, PPO
from agents.acting import ActionMaskError


def masked_learner(**env_options):
    return PPO(lambda: DyingAgentsEnv(masked=True, **env_options), n_envs=1, n_steps=8, n_epochs=1)


def test_an_action_mask_that_allows_nothing_stops_learn_naming_the_agent():
    algo = masked_learner(empty_mask=("walker_1", 2))
    with pytest.raises(ActionMaskError, match=r"agent 'walker_1'.*allows no action.*Discrete\(3\)"):
        algo.learn(8)
    assert algo.steps == 0 and algo.updates == 0


def test_an_action_mask_that_allows_nothing_stops_act_naming_the_agent():
    algo = masked_learner()
    observation = {"observation": np.zeros(4, np.float32), "action_mask": np.zeros(3, np.int8)}
    with pytest.raises(ActionMaskError, match=r"agent 'walker_2'.*allows no action.*Discrete\(3\)"):
        algo.act({"walker_0": dict(observation, action_mask=np.ones(3, np.int8)), "walker_2": observation})
    unmasked = PPO(lambda: DyingAgentsEnv(), n_envs=1, n_steps=8)
    with pytest.raises(ActionMaskError, match=r"agent 'walker_0'.*allows no action"):
        unmasked.act({"walker_0": np.zeros(4, np.float32)}, action_masks={"walker_0": [0, 0, 0]})
    with pytest.raises(ActionMaskError, match=r"agent 'walker_0'.*2 entries.*needs 3"):
        unmasked.act({"walker_0": np.zeros(4, np.float32)}, action_masks={"walker_0": [1, 0]})


def test_the_allowed_actions_of_a_mask_are_the_only_ones_act_picks():
    algo = masked_learner()
    for allowed in range(3):
        mask = np.zeros(3, np.int8)
        mask[allowed] = 1
        observation = {
            "observation": np.random.default_rng(allowed).normal(size=4).astype(np.float32),
            "action_mask": mask,
        }
        for _ in range(5):
            assert algo.act({"walker_0": observation}, deterministic=False)["walker_0"] == allowed


@pytest.mark.parametrize(
    ("observation", "problem"),
    [
        (np.zeros(5, np.float32), r"has shape \(5,\), expected \(4,\)"),
        (np.zeros((2, 2), np.float32), r"has shape \(2, 2\), expected \(4,\)"),
        (np.array(["a", "b", "c", "d"]), "has dtype <U1, not a number type"),
    ],
)
def test_act_refuses_an_observation_outside_its_space_naming_agent_and_space(observation, problem):
    algo = PPO(lambda: DyingAgentsEnv(), n_envs=1, n_steps=8)
    with pytest.raises(ValueError, match=rf"agent 'walker_1': observation {problem}; its observation space is Box"):
        algo.act({"walker_0": np.zeros(4, np.float32), "walker_1": observation})


def test_act_refuses_dict_and_discrete_observations_that_do_not_fit():
    masked = masked_learner()
    with pytest.raises(ValueError, match=r"agent 'walker_0': observation lacks the keys \['action_mask'\]"):
        masked.act({"walker_0": {"observation": np.zeros(4, np.float32)}})
    with pytest.raises(ValueError, match=r"agent 'walker_0': observation key 'observation' has shape \(3,\)"):
        masked.act({"walker_0": {"observation": np.zeros(3, np.float32), "action_mask": np.ones(3, np.int8)}})
    taxi = PPO("Taxi-v4", n_envs=1, n_steps=8)
    assert isinstance(taxi.plan.groups[0].group.observation_space, spaces.Discrete)
    assert 0 <= taxi.act(499) < 6 and 0 <= taxi.act(np.int64(3)) < 6
    with pytest.raises(ValueError, match=r"agent 'agent': observation is 500, not an integer in \[0, 500\)"):
        taxi.act(500)
    with pytest.raises(ValueError, match=r"agent 'agent': observation is 1.5, not an integer"):
        taxi.act(1.5)


def test_an_agent_that_possible_agents_does_not_declare_stops_collection_naming_it():
    algo = MAPPO(lambda: DyingAgentsEnv(stranger_at=3), n_envs=1, n_steps=8, recurrent=False)
    with pytest.raises(
        ValueError, match=r"agents \['stranger'\] appeared in DyingAgentsEnv.agents but are not in its possible_agents"
    ):
        algo.learn(8)
    with pytest.raises(ValueError, match=r"unknown agents \['stranger'\]"):
        algo.act({"stranger": np.zeros(4, np.float32)})


@pytest.mark.parametrize(
    ("observation", "problem"),
    [
        (np.zeros(5, np.float32), r"has shape \(5,\), expected \(4,\)"),
        (np.array(["a", "b", "c", "d"]), "has dtype <U1, not a number type"),
    ],
)
def test_learn_refuses_an_observation_outside_its_space_naming_agent_and_space(observation, problem):
    algo = MAPPO(lambda: DyingAgentsEnv(bad_observation=("walker_2", 3, observation)), n_envs=1, n_steps=8)
    with pytest.raises(ValueError, match=rf"agent 'walker_2': observation {problem}; its observation space is Box"):
        algo.learn(8)
    assert algo.updates == 0


def test_learn_refuses_a_discrete_observation_out_of_range():
    class OutOfRange(DyingAgentsEnv):
        def observation_space(self, agent):
            return spaces.Discrete(7)

        def _observe(self, agent):
            return -1 if self.t == 2 else self.t

    algo = PPO(lambda: OutOfRange(), n_envs=1, n_steps=8)
    with pytest.raises(ValueError, match=r"agent 'walker_\d': observation is -1, not an integer in \[0, 7\)"):
        algo.learn(8)
