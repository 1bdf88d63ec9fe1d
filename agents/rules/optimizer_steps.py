"""Gradient clipping and optimiser steps through torch's public API.

The plain version that :mod:`agents.rules.optimizer_steps_fast` replaces; the two give the same
numbers (``tests/agents/test_optimizer_steps.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor


def clip_gradient_norm(params: list[Tensor], max_norm: float) -> Tensor:
    """Scale the gradients of ``params`` so that their joint 2-norm is at most ``max_norm``;
    returns the norm before clipping."""
    return torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)


def optimizer_step(optimizer: torch.optim.Optimizer) -> None:
    """One step of ``optimizer`` on the gradients already accumulated."""
    optimizer.step()
