"""The policy-gradient core shared by every algorithm: GAE, objectives, normalisation,
natural-gradient machinery, action distributions and networks."""

from agents.core.gae import compute_gae
from agents.core.natural_gradient import (
    LineSearchResult,
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_gradient,
    flat_parameters,
    set_flat_parameters,
)
from agents.core.normalization import ObservationNormalizer, RunningMeanStd, ValueNorm
from agents.core.objectives import (
    clipped_surrogate_loss,
    entropy_bonus,
    huber,
    masked_mean,
    policy_gradient_loss,
    surrogate_objective,
    value_loss,
)

__all__ = [
    "LineSearchResult",
    "backtracking_line_search",
    "conjugate_gradient",
    "fisher_vector_product",
    "flat_gradient",
    "flat_parameters",
    "set_flat_parameters",
    "ObservationNormalizer",
    "RunningMeanStd",
    "ValueNorm",
    "clipped_surrogate_loss",
    "compute_gae",
    "entropy_bonus",
    "huber",
    "masked_mean",
    "policy_gradient_loss",
    "surrogate_objective",
    "value_loss",
]
