"""TRPO's update (Schulman et al. 2015): natural direction by conjugate gradient, the largest
step with quadratic KL estimate ``max_kl`` (sqrt(2 delta / s^T F s) s), then a backtracking
line search that accepts only a step that improves the surrogate with mean KL <= delta.
The critic is fitted separately with Adam."""

from __future__ import annotations

from agents.config import TRPOConfig
from agents.core.finite import ensure_finite
from agents.core.natural_gradient import backtracking_line_search, trust_region_step
from agents.rollout import TrainingBatch
from agents.rules.common import with_critic_fit
from agents.rules.interface import UpdateContext
from agents.rules.natural import make_optimizers, natural_direction

__all__ = ["make_optimizers", "update"]


def update(learner: UpdateContext[TRPOConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    """One trust-region policy step, and the value fit (possibly at the same time)."""
    return with_critic_fit(learner, g, batch, _policy_step)


def _policy_step(learner: UpdateContext[TRPOConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    config = learner.config
    natural = natural_direction(learner, g, batch)
    ensure_finite("natural gradient", natural.direction)
    stats = {"line_search_accepted": 0.0, "kl": 0.0, "improvement": 0.0, "step_fraction": 0.0}
    if natural.has_ascent_direction:
        step = trust_region_step(natural.direction, natural.fisher_vector, config.max_kl)
        result = backtracking_line_search(
            natural.params,
            step,
            natural.objective,
            natural.kl,
            config.max_kl,
            shrink=config.line_search_shrink,
            max_tries=config.line_search_max_tries,
        )
        stats = {
            "line_search_accepted": float(result.accepted),
            "kl": float(result.kl) if result.accepted else 0.0,
            "improvement": float(result.improvement) if result.accepted else 0.0,
            "step_fraction": float(result.step_fraction),
        }
    return {**stats, "entropy": natural.entropy}
