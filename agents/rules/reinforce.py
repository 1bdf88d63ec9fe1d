"""REINFORCE (Williams 1992): one plain gradient step per rollout on -E[log pi(a|s) A],
where A is the Monte-Carlo return (gae_lambda = 1), minus a learned value baseline when
``baseline`` is on (the baseline is fitted with Adam afterwards)."""

from __future__ import annotations

from agents.config import REINFORCEConfig
from agents.core.objectives import entropy_bonus, policy_gradient_loss
from agents.models import GroupModel
from agents.rollout import TrainingBatch
from agents.rules.common import adam, gradient_step, make_critic_optimizer, with_critic_fit
from agents.rules.interface import Optimizers, UpdateContext


def make_optimizers(config: REINFORCEConfig, model: GroupModel) -> Optimizers:
    """Adam for the policy, and for the baseline when it is used."""
    optimizers: Optimizers = {"actor": adam(model.actor.parameters(), config.learning_rate, config.adam_epsilon)}
    if config.baseline:
        optimizers["critic"] = make_critic_optimizer(config, model)
    return optimizers


def update(learner: UpdateContext[REINFORCEConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    """Policy-gradient step on the whole rollout, and the baseline fit (possibly at the same time)."""
    if learner.config.baseline:
        return with_critic_fit(learner, g, batch, _policy_step)
    return _policy_step(learner, g, batch)


def _policy_step(learner: UpdateContext[REINFORCEConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    config = learner.config
    minibatch = batch.full(config.recurrent)
    evaluation = learner.evaluate(g, minibatch, with_values=False)
    policy_loss = policy_gradient_loss(evaluation.log_probs, minibatch.advantages, minibatch.mask)
    entropy = entropy_bonus(evaluation.entropy, minibatch.mask)
    loss = policy_loss - config.entropy_coef * entropy
    grad_norm = gradient_step({"actor": learner.optimizers(g)["actor"]}, loss, config.max_grad_norm)
    return {"policy": float(policy_loss.detach()), "entropy": float(entropy.detach()), "grad_norm": grad_norm}
