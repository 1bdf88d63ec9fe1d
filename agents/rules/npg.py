"""Truncated natural policy gradient (Kakade 2002; Duan et al. 2016).

The step is Peters et al.'s normalised natural gradient
``theta += alpha / sqrt(g^T F^-1 g) * F^-1 g``, with ``F^-1 g`` from ``cg_iterations``
conjugate-gradient iterations on Fisher-vector products ("truncated"). There is no line
search: with ``alpha = sqrt(2 delta)`` the quadratic model of the KL of the step is delta.
The critic is fitted separately with Adam."""

from __future__ import annotations

import math

import torch

from agents.config import NPGConfig
from agents.core.finite import ensure_finite
from agents.core.natural_gradient import flat_parameters, normalized_natural_step, set_flat_parameters
from agents.rollout import TrainingBatch
from agents.rules.common import with_critic_fit
from agents.rules.interface import UpdateContext
from agents.rules.natural import make_optimizers, natural_direction

__all__ = ["make_optimizers", "update"]


def update(learner: UpdateContext[NPGConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    """One normalised natural-gradient step, and the value fit (possibly at the same time)."""
    return with_critic_fit(learner, g, batch, _policy_step)


def _policy_step(learner: UpdateContext[NPGConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    config = learner.config
    natural = natural_direction(learner, g, batch)
    ensure_finite("natural gradient", natural.direction)
    stats = {"kl": 0.0, "improvement": 0.0, "natural_gradient_norm": 0.0}
    if natural.has_ascent_direction:
        step = normalized_natural_step(natural.gradient, natural.direction, config.step_size)
        with torch.no_grad():
            before = float(natural.objective())
            set_flat_parameters(natural.params, flat_parameters(natural.params) + step)
            stats = {
                "kl": float(natural.kl()),
                "improvement": float(natural.objective()) - before,
                "natural_gradient_norm": math.sqrt(natural.gradient_dot_direction),
            }
    return {**stats, "entropy": natural.entropy}
