"""PPO's update (Schulman et al. 2017): K epochs of minibatches on the clipped surrogate,
plus the (optionally clipped, optionally Huber) value loss and an entropy bonus."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from torch import Tensor

from agents.config import PPOConfig
from agents.core.finite import ensure_finite
from agents.core.objectives import clipped_surrogate_loss, entropy_bonus, value_loss
from agents.models import GroupModel
from agents.rollout import Minibatch, TrainingBatch
from agents.rules.common import adam, clear_gradients, clip_and_step
from agents.rules.interface import Optimizers, UpdateContext

Learner = UpdateContext[PPOConfig]


def make_optimizers(config: PPOConfig, model: GroupModel) -> Optimizers:
    """One Adam over actor and critic, or one each with ``separate_optimizers``."""
    critic_rate = config.critic_learning_rate or config.learning_rate
    if config.separate_optimizers:
        return {
            "actor": adam(model.actor.parameters(), config.learning_rate, config.adam_epsilon),
            "critic": adam(model.critic.parameters(), critic_rate, config.adam_epsilon),
        }
    groups = [
        {"params": list(model.actor.parameters()), "lr": config.learning_rate},
        {"params": list(model.critic.parameters()), "lr": critic_rate},
    ]
    return {"actor_critic": adam(groups, config.learning_rate, config.adam_epsilon)}


def update(learner: Learner, g: int, batch: TrainingBatch) -> dict[str, float]:
    """Run the epochs; stop early when ``target_kl`` is set and exceeded.

    Each minibatch's loss is ``policy - entropy_coef * entropy + value_coef * value``. The
    policy terms and the value term depend on disjoint parameters, so their two backward passes
    give exactly the gradients of the sum; they may run at the same time
    (:class:`~agents.update_threads.UpdateThreads`) before the optimisers step.
    """
    config = learner.config
    optimizers = learner.optimizers(g)
    records: dict[str, list[float]] = {
        "policy": [],
        "value": [],
        "entropy": [],
        "approx_kl": [],
        "clip_fraction": [],
        "grad_norm": [],
    }
    for _ in range(config.n_epochs):
        stop = False
        for minibatch in batch.minibatches(
            config.minibatch_size, batch.generator, config.recurrent, config.chunk_length
        ):
            clear_gradients(optimizers)
            (policy_loss, entropy, stats), critic_loss = learner.update_threads.run(
                "ppo",
                partial(_backward, _policy_terms, learner, g, minibatch),
                partial(_backward, _value_terms, learner, g, minibatch),
                serially=partial(_joint_backward, learner, g, minibatch),
            )
            grad_norm = clip_and_step(optimizers, config.max_grad_norm)
            records["policy"].append(policy_loss)
            records["value"].append(critic_loss)
            records["entropy"].append(entropy)
            records["approx_kl"].append(stats["approx_kl"])
            records["clip_fraction"].append(stats["clip_fraction"])
            records["grad_norm"].append(grad_norm)
            if config.target_kl is not None and stats["approx_kl"] > 1.5 * config.target_kl:
                stop = True
                break
        if stop:
            break
    return {name: float(np.mean(values)) for name, values in records.items() if values}


def _policy_terms(
    learner: Learner, g: int, minibatch: Minibatch
) -> tuple[Tensor, tuple[float, float, dict[str, float]]]:
    """The actor's part of the loss (clipped surrogate minus the entropy bonus) and its statistics."""
    config = learner.config
    evaluation = learner.evaluate(g, minibatch, with_values=False)
    policy_loss, stats = clipped_surrogate_loss(
        evaluation.log_probs, minibatch.old_log_probs, minibatch.advantages, config.clip_range, minibatch.mask
    )
    entropy = entropy_bonus(evaluation.entropy, minibatch.mask)
    return policy_loss - config.entropy_coef * entropy, (float(policy_loss.detach()), float(entropy.detach()), stats)


def _value_terms(learner: Learner, g: int, minibatch: Minibatch) -> tuple[Tensor, float]:
    """The critic's part of the loss (``value_coef`` times the value loss) and the value loss."""
    config = learner.config
    values = learner.values(g, minibatch)
    critic_loss = value_loss(
        values, minibatch.old_values, minibatch.returns, config.value_clip_range, config.huber_delta, minibatch.mask
    )
    return config.value_coef * critic_loss, float(critic_loss.detach())


def _backward(terms: Callable[..., tuple[Tensor, Any]], learner: Learner, g: int, minibatch: Minibatch) -> Any:
    """Backpropagate one part of the loss on its own; return its statistics."""
    loss, stats = terms(learner, g, minibatch)
    ensure_finite("loss", loss)
    loss.backward()
    return stats


def _joint_backward(learner: Learner, g: int, minibatch: Minibatch) -> list[Any]:
    """Both parts in one backward pass of their sum (the same gradients, one pass)."""
    policy, policy_stats = _policy_terms(learner, g, minibatch)
    value, value_stats = _value_terms(learner, g, minibatch)
    loss = policy + value
    ensure_finite("loss", loss)
    loss.backward()
    return [policy_stats, value_stats]
