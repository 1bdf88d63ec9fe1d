"""What TRPO and NPG share: the surrogate, the mean KL to the rollout policy, and the natural
direction F^-1 g found by conjugate gradient on Fisher-vector products."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from agents.config import NPGConfig, TRPOConfig
from agents.core.natural_gradient import conjugate_gradient, fisher_vector_product, flat_gradient
from agents.core.objectives import masked_mean, surrogate_objective
from agents.models import GroupModel
from agents.rollout import TrainingBatch
from agents.rules.common import make_critic_optimizer
from agents.rules.interface import Optimizers, UpdateContext


def make_optimizers(config: TRPOConfig | NPGConfig, model: GroupModel) -> Optimizers:
    """Only the critic has an optimiser; the policy moves by natural-gradient steps."""
    return {"critic": make_critic_optimizer(config, model)}


@dataclass
class NaturalDirection:
    """Surrogate and KL closures, the gradient g, the direction F^-1 g and g^T F^-1 g."""

    params: list[Tensor]
    objective: Callable[[], Tensor]
    kl: Callable[[], Tensor]
    gradient: Tensor
    direction: Tensor
    fisher_vector: Callable[[Tensor], Tensor]
    #: Mean entropy of the rollout policy over the living samples (a diagnostic).
    entropy: float

    @property
    def gradient_dot_direction(self) -> float:
        """g^T F^-1 g (the squared natural-gradient norm)."""
        return float(self.gradient @ self.direction)

    @property
    def has_ascent_direction(self) -> bool:
        """Whether g^T F^-1 g is positive and finite (a zero gradient gives no step)."""
        value = self.gradient_dot_direction
        return value > 0 and math.isfinite(value)


def natural_direction(learner: UpdateContext[TRPOConfig | NPGConfig], g: int, batch: TrainingBatch) -> NaturalDirection:
    """Everything a natural-gradient step needs on the whole rollout of group ``g``."""
    config = learner.config
    minibatch = batch.full(config.recurrent)
    actor = learner.model(g).actor
    params = [p for p in actor.parameters() if p.requires_grad]
    with torch.no_grad():
        old = learner.evaluate(g, minibatch, with_values=False)
        old_distribution = old.distribution.detach()
        entropy = float(masked_mean(old.entropy, minibatch.mask))
    flat_mask = minibatch.mask.reshape(-1) if minibatch.mask is not None else None

    def objective() -> Tensor:
        evaluation = learner.evaluate(g, minibatch, with_values=False)
        return surrogate_objective(evaluation.log_probs, minibatch.old_log_probs, minibatch.advantages, minibatch.mask)

    def kl() -> Tensor:
        distribution = learner.evaluate(g, minibatch, with_values=False).distribution
        return masked_mean(old_distribution.kl(distribution), flat_mask)

    gradient = flat_gradient(objective(), params)
    fisher_vector = fisher_vector_product(kl, params, damping=config.cg_damping)
    direction = conjugate_gradient(fisher_vector, gradient, iterations=config.cg_iterations)
    return NaturalDirection(params, objective, kl, gradient, direction, fisher_vector, entropy)
