"""Generalised advantage estimation (Schulman et al., 2016) over rollouts laid out [T, ...]."""

from __future__ import annotations

import torch
from torch import Tensor


def compute_gae(
    rewards: Tensor,
    values: Tensor,
    next_values: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """Return ``(advantages, returns)`` for a rollout with time as the first dimension.

    ``next_values[t]`` is V(s_{t+1}) of the true next state; on truncation it is the value
    of the final observation before the reset, so a truncated step still bootstraps while a
    terminated step does not. The backward recursion is cut wherever an episode ended
    (terminated or truncated), so advantages never leak across episode boundaries.
    Any trailing shape works (e.g. ``[T, env, agent]``); ``returns = advantages + values``.
    """
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    shape = rewards.shape
    for name, tensor in (
        ("values", values),
        ("next_values", next_values),
        ("terminated", terminated),
        ("truncated", truncated),
    ):
        if tensor.shape != shape:
            raise ValueError(
                f"{name} has shape {tuple(tensor.shape)} but rewards has shape {tuple(shape)}; "
                "all inputs to compute_gae must share the [T, ...] shape"
            )
    dtype = values.dtype if values.is_floating_point() else torch.float32
    rewards = rewards.to(dtype)
    values = values.to(dtype)
    next_values = next_values.to(dtype)
    not_terminated = 1.0 - terminated.to(dtype)
    not_done = 1.0 - torch.logical_or(terminated.bool(), truncated.bool()).to(dtype)

    deltas = rewards + gamma * not_terminated * next_values - values
    advantages = torch.zeros_like(values)
    running = values.new_zeros(values.shape[1:])
    for t in reversed(range(shape[0])):
        running = deltas[t] + gamma * lam * not_done[t] * running
        advantages[t] = running
    return advantages, advantages + values
