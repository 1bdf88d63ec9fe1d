"""The finite-loss guard: training stops at the first NaN or infinite loss, gradient norm or
natural-gradient direction, before it reaches the parameters."""

from __future__ import annotations

import torch
from torch import Tensor


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stops and the last good parameters stay."""


def ensure_finite(name: str, value: Tensor) -> None:
    """Raise :class:`NonFiniteLossError` naming ``name`` if ``value`` is not finite."""
    if not bool(torch.isfinite(value).all()):
        raise NonFiniteLossError(f"{name} is {float(value.detach().reshape(-1)[0])}")
