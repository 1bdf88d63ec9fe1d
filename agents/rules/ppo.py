"""PPO's update (Schulman et al. 2017): K epochs of minibatches on the clipped surrogate,
plus the (optionally clipped, optionally Huber) value loss and an entropy bonus."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.core.objectives import clipped_surrogate_loss, entropy_bonus, value_loss
from agents.rules.common import adam, gradient_step


def make_optimizers(learner: Any, model: Any) -> dict:
    """One Adam over actor and critic, or one each with ``separate_optimizers``."""
    config = learner.config
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


def update(learner: Any, g: int, batch: Any) -> dict[str, float]:
    """Run the epochs; stop early when ``target_kl`` is set and exceeded."""
    config = learner.config
    optimizers = learner.optimizers[g]
    records: dict[str, list[float]] = {"policy": [], "value": [], "entropy": [], "approx_kl": [], "clip_fraction": [], "grad_norm": []}
    for _ in range(config.n_epochs):
        stop = False
        for minibatch in batch.minibatches(config.minibatch_size, learner.generator, config.recurrent, config.chunk_length):
            evaluation = learner.evaluate(g, minibatch)
            policy_loss, stats = clipped_surrogate_loss(
                evaluation.log_probs, minibatch.old_log_probs, minibatch.advantages, config.clip_range, minibatch.mask
            )
            critic_loss = value_loss(
                evaluation.values, minibatch.old_values, minibatch.returns,
                config.value_clip_range, config.huber_delta, minibatch.mask,
            )
            entropy = entropy_bonus(evaluation.entropy, minibatch.mask)
            loss = policy_loss - config.entropy_coef * entropy + config.value_coef * critic_loss
            grad_norm = gradient_step(optimizers, loss, config.max_grad_norm)
            records["policy"].append(float(policy_loss.detach()))
            records["value"].append(float(critic_loss.detach()))
            records["entropy"].append(float(entropy.detach()))
            records["approx_kl"].append(stats["approx_kl"])
            records["clip_fraction"].append(stats["clip_fraction"])
            records["grad_norm"].append(grad_norm)
            if config.target_kl is not None and stats["approx_kl"] > 1.5 * config.target_kl:
                stop = True
                break
        if stop:
            break
    return {name: float(np.mean(values)) for name, values in records.items() if values}
