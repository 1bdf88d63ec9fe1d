"""Evaluation acts through the learner's own policy object: the same actions as ``learner.act``."""

from __future__ import annotations

import numpy as np

from agents import PPO
from marl.evaluation import learner_policy


def test_a_single_agent_learner_acts_the_same_through_evaluation():
    learner = PPO("CartPole-v1", seed=0, n_envs=1, n_steps=8)
    policy = learner_policy(learner)
    observations = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    assert policy.policy is learner.policy
    actions = [policy({"agent": row})["agent"] for row in observations]
    assert actions == [learner.act(row) for row in observations]
    assert len(set(int(a) for a in actions)) == 2  # both actions occur: the comparison is not vacuous
    learner.close()
