"""Loss terms shared by the policy-gradient algorithms; every one accepts an optional mask.

The mask (1 = the sample counts, 0 = it does not, e.g. an agent that already left the
episode) is applied through :func:`masked_mean`, so masked samples never reach a gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor


def masked_mean(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of ``x`` over the entries where ``mask`` is non-zero (plain mean without a mask).

    An all-zero mask gives 0 (not NaN), so a minibatch without live samples contributes nothing.
    Masked entries are selected away (``torch.where``), not multiplied by zero, so a NaN or
    infinity there (e.g. the padding of a dead agent) changes neither the mean nor its gradient.
    """
    if mask is None:
        return x.mean()
    mask = mask.to(x.dtype)
    if mask.shape != x.shape:
        mask = mask.expand_as(x)
    weighted = torch.where(mask != 0, x * mask, torch.zeros((), dtype=x.dtype, device=x.device))
    return weighted.sum() / mask.sum().clamp(min=1.0)


def clipped_surrogate_loss(
    log_prob: Tensor,
    old_log_prob: Tensor,
    advantages: Tensor,
    clip_range: float,
    mask: Tensor | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """PPO's clipped surrogate, negated to a loss: -E[min(r A, clip(r, 1-c, 1+c) A)].

    Returns ``(loss, stats)``; ``stats`` holds ``clip_fraction`` (share of samples whose
    ratio left [1-c, 1+c]) and ``approx_kl`` (the low-variance estimator E[(r - 1) - log r]).
    """
    if clip_range <= 0:
        raise ValueError(f"clip_range must be positive, got {clip_range}")
    log_ratio = log_prob - old_log_prob
    ratio = torch.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range) * advantages
    loss = -masked_mean(torch.minimum(unclipped, clipped), mask)
    with torch.no_grad():
        clip_fraction = masked_mean(((ratio - 1.0).abs() > clip_range).to(ratio.dtype), mask)
        approx_kl = masked_mean((ratio - 1.0) - log_ratio, mask)
    return loss, {"clip_fraction": float(clip_fraction), "approx_kl": float(approx_kl)}


def surrogate_objective(
    log_prob: Tensor, old_log_prob: Tensor, advantages: Tensor, mask: Tensor | None = None
) -> Tensor:
    """Importance-weighted surrogate E[r A] to maximise (TRPO, NPG); gradient at r = 1 is the policy gradient."""
    return masked_mean(torch.exp(log_prob - old_log_prob) * advantages, mask)


def policy_gradient_loss(log_prob: Tensor, advantages: Tensor, mask: Tensor | None = None) -> Tensor:
    """REINFORCE loss -E[log pi(a|s) A]; ``advantages`` are returns, optionally minus a baseline."""
    return -masked_mean(log_prob * advantages.detach(), mask)


def huber(error: Tensor, delta: float) -> Tensor:
    """Huber penalty: 0.5 e^2 for |e| <= delta, delta (|e| - 0.5 delta) beyond."""
    absolute = error.abs()
    quadratic = 0.5 * error**2
    linear = delta * (absolute - 0.5 * delta)
    return torch.where(absolute <= delta, quadratic, linear)


def value_loss(
    values: Tensor,
    old_values: Tensor,
    returns: Tensor,
    clip_range: float | None = None,
    huber_delta: float | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Critic loss: 0.5 e^2 (or Huber with ``huber_delta``) of ``returns - values``.

    With ``clip_range`` the prediction is also clipped to ``old_values +- clip_range`` and the
    larger of the clipped and unclipped penalties is taken per sample, as in the MAPPO code.
    """
    if clip_range is not None and clip_range <= 0:
        raise ValueError(f"clip_range must be positive or None, got {clip_range}")
    if huber_delta is not None and huber_delta <= 0:
        raise ValueError(f"huber_delta must be positive or None, got {huber_delta}")

    def penalty(error: Tensor) -> Tensor:
        return huber(error, huber_delta) if huber_delta is not None else 0.5 * error**2

    loss = penalty(returns - values)
    if clip_range is not None:
        clipped_values = old_values + torch.clamp(values - old_values, -clip_range, clip_range)
        loss = torch.maximum(loss, penalty(returns - clipped_values))
    return masked_mean(loss, mask)


def entropy_bonus(entropy: Tensor, mask: Tensor | None = None) -> Tensor:
    """Masked mean entropy (to be added to the objective with a positive coefficient)."""
    return masked_mean(entropy, mask)
