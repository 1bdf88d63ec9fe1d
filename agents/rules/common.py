"""Pieces shared by the update rules: gradient steps and the separately fitted critic."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from agents.core.objectives import value_loss


def gradient_step(optimizers: dict[str, torch.optim.Optimizer], loss: Tensor, max_grad_norm: float | None) -> float:
    """Backpropagate ``loss`` and step every optimiser, clipping each one's gradients separately.

    Returns the largest pre-clipping gradient norm (for logging).
    """
    from agents.learner import ensure_finite

    ensure_finite("loss", loss)
    for optimizer in optimizers.values():
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    largest = 0.0
    for optimizer in optimizers.values():
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if max_grad_norm is not None and params:
            norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm, foreach=True)
            ensure_finite("gradient norm", norm)
            largest = max(largest, float(norm))
        optimizer.step()
    return largest


def adam(parameters: Any, learning_rate: float, epsilon: float) -> torch.optim.Adam:
    """Adam with the learner's epsilon, using torch's fused kernel (several times faster per
    step than the per-tensor loop for the learner's many small tensors)."""
    return torch.optim.Adam(parameters, lr=learning_rate, eps=epsilon, fused=True)


def make_critic_optimizer(learner: Any, model: Any) -> torch.optim.Adam:
    """Adam on the critic's parameters (TRPO, NPG and REINFORCE fit the value function apart)."""
    config = learner.config
    return adam(model.critic.parameters(), config.critic_learning_rate, config.adam_epsilon)


def fit_critic(learner: Any, g: int, batch: Any) -> dict[str, float]:
    """Regress the critic on the returns with Adam: ``critic_epochs`` passes of minibatches."""
    config = learner.config
    optimizer = {"critic": learner.optimizers[g]["critic"]}
    losses = []
    for _ in range(config.critic_epochs):
        for minibatch in batch.minibatches(
            config.critic_minibatch_size, learner.generator, config.recurrent, config.chunk_length
        ):
            critic_input = (
                minibatch.critic_observations if minibatch.critic_observations is not None else minibatch.observations
            )
            values, _ = learner.models[g].critic(
                critic_input, minibatch.critic_extra, minibatch.critic_hidden, minibatch.episode_starts
            )
            loss = value_loss(values, minibatch.old_values, minibatch.returns, mask=minibatch.mask)
            gradient_step(optimizer, loss, config.max_grad_norm)
            losses.append(float(loss.detach()))
    return {"value": sum(losses) / max(len(losses), 1)}
