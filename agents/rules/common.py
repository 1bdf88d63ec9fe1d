"""Pieces shared by the update rules: gradient steps and the separately fitted critic.

Clipping and optimiser steps run through :mod:`agents.rules.optimizer_steps_fast`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from agents.config import CriticFitConfig
from agents.core.finite import ensure_finite
from agents.core.objectives import value_loss
from agents.models import GroupModel
from agents.rollout import TrainingBatch
from agents.rules.interface import UpdateContext
from agents.rules.optimizer_steps_fast import clip_gradient_norm, optimizer_step


def gradient_step(optimizers: dict[str, torch.optim.Optimizer], loss: Tensor, max_grad_norm: float | None) -> float:
    """Backpropagate ``loss`` and step every optimiser, clipping each one's gradients separately.

    Returns the largest pre-clipping gradient norm (for logging).
    """
    ensure_finite("loss", loss)
    clear_gradients(optimizers)
    loss.backward()
    return clip_and_step(optimizers, max_grad_norm)


def clear_gradients(optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Set every optimised parameter's gradient to None (``zero_grad(set_to_none=True)``
    without its profiling wrapper)."""
    for optimizer in optimizers.values():
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                parameter.grad = None


def clip_and_step(optimizers: dict[str, torch.optim.Optimizer], max_grad_norm: float | None) -> float:
    """Step every optimiser on the gradients already accumulated, clipping each one's
    gradients separately; returns the largest pre-clipping gradient norm."""
    largest = 0.0
    for optimizer in optimizers.values():
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if max_grad_norm is not None and params:
            norm = clip_gradient_norm(params, max_grad_norm)
            ensure_finite("gradient norm", norm)
            largest = max(largest, float(norm))
        optimizer_step(optimizer)
    return largest


def adam(parameters: Any, learning_rate: float, epsilon: float) -> torch.optim.Adam:
    """Adam with the learner's epsilon, using torch's fused kernel (several times faster per
    step than the per-tensor loop for the learner's many small tensors)."""
    return torch.optim.Adam(parameters, lr=learning_rate, eps=epsilon, fused=True)


def make_critic_optimizer(config: CriticFitConfig, model: GroupModel) -> torch.optim.Adam:
    """Adam on the critic's parameters (TRPO, NPG and REINFORCE fit the value function apart)."""
    return adam(model.critic.parameters(), config.critic_learning_rate, config.adam_epsilon)


def fit_critic(learner: UpdateContext[CriticFitConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    """Regress the critic on the returns with Adam: ``critic_epochs`` passes of minibatches."""
    config = learner.config
    optimizer = {"critic": learner.optimizers(g)["critic"]}
    losses = []
    for _ in range(config.critic_epochs):
        for minibatch in batch.minibatches(
            config.critic_minibatch_size, batch.generator, config.recurrent, config.chunk_length
        ):
            values = learner.values(g, minibatch)
            loss = value_loss(values, minibatch.old_values, minibatch.returns, mask=minibatch.mask)
            gradient_step(optimizer, loss, config.max_grad_norm)
            losses.append(float(loss.detach()))
    return {"value": sum(losses) / max(len(losses), 1)}


def with_critic_fit(
    learner: UpdateContext[CriticFitConfig],
    g: int,
    batch: TrainingBatch,
    policy_step: Callable[[Any, int, TrainingBatch], dict[str, float]],
) -> dict[str, float]:
    """``policy_step`` and :func:`fit_critic` on the same rollout, their statistics merged.

    They touch disjoint parameters (the advantages were computed before), so they may run at
    the same time; the result is the same either way.
    """
    policy_stats, critic_stats = learner.update_threads.run(
        "policy_and_critic", lambda: policy_step(learner, g, batch), lambda: fit_critic(learner, g, batch)
    )
    return {**policy_stats, **critic_stats}
