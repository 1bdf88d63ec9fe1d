"""Helpers shared by the backend tests: train for whole updates, compare two learners."""

from __future__ import annotations

import torch


def train(algo, updates: int, callback=None) -> list[dict]:
    """Run ``updates`` updates; returns each update's metrics (``callback(algo, n)`` after each)."""
    history = []

    def record(metrics):
        history.append(metrics)
        if callback is not None:
            callback(algo, len(history))

    algo.learn(updates * algo.config.n_envs * algo.config.n_steps, callback=record)
    return history


def assert_same_parameters(a, b) -> None:
    """Every parameter and the reward normaliser's statistics are equal bit for bit."""
    left, right = a.models.state_dict(), b.models.state_dict()
    assert left.keys() == right.keys()
    for name in left:
        assert torch.equal(left[name], right[name]), name
    assert torch.equal(
        a.statistics.state_dict().get("discounted_return.mean", torch.zeros(1)),
        b.statistics.state_dict().get("discounted_return.mean", torch.zeros(1)),
    )
