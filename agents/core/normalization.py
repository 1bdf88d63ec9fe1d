"""Running statistics for observations and value targets, kept in buffers so ``state_dict`` saves them."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def _as_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s <= 0 for s in shape):
        raise ValueError(f"shape must contain positive sizes, got {shape}")
    return shape


def _batch_view(x: Tensor, shape: tuple[int, ...], name: str) -> Tensor:
    """Reshape ``x`` to ``[N, *shape]``; a statistic of one element accepts any input shape."""
    if len(shape) == 1 and shape[0] == 1:
        return x.reshape(-1, 1)
    if tuple(x.shape[x.dim() - len(shape) :]) != shape:
        raise ValueError(f"{name} expects inputs whose trailing dimensions are {shape}, got {tuple(x.shape)}")
    return x.reshape(-1, *shape)


class RunningMeanStd(nn.Module):
    """Mean and (population) variance over every sample seen, merged batch by batch.

    Uses the parallel-variance merge of Chan et al., so the result equals the mean and
    variance of all batches concatenated. Statistics are kept in float64.
    """

    mean: Tensor
    var: Tensor
    count: Tensor

    def __init__(self, shape: int | Sequence[int] = (1,)) -> None:
        super().__init__()
        self.shape = _as_shape(shape)
        self.register_buffer("mean", torch.zeros(self.shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(self.shape, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Merge a batch ``[..., *shape]`` into the running statistics."""
        batch = _batch_view(torch.as_tensor(x), self.shape, "RunningMeanStd").to(torch.float64)
        batch_count = batch.shape[0]
        if batch_count == 0:
            return
        batch_mean = batch.mean(dim=0)
        batch_var = batch.var(dim=0, unbiased=False)
        total = self.count + batch_count
        delta = batch_mean - self.mean
        new_mean = self.mean + delta * (batch_count / total)
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.mean.copy_(new_mean)
        self.var.copy_(m2 / total)
        self.count.copy_(total)


class ObservationNormalizer(nn.Module):
    """Standardises observations with running statistics and clips them to ``[-clip, clip]``."""

    def __init__(self, shape: int | Sequence[int], clip: float = 10.0, epsilon: float = 1e-8) -> None:
        super().__init__()
        if clip <= 0:
            raise ValueError(f"clip must be positive, got {clip}")
        self.clip = float(clip)
        self.epsilon = float(epsilon)
        self.statistics = RunningMeanStd(shape)

    def update(self, x: Tensor) -> None:
        """Add a batch of observations to the running statistics."""
        self.statistics.update(x)

    def normalize(self, x: Tensor) -> Tensor:
        """Return ``clip((x - mean) / sqrt(var + epsilon))`` in the dtype of ``x``."""
        x = torch.as_tensor(x)
        dtype = x.dtype if x.is_floating_point() else torch.float32
        mean = self.statistics.mean.to(dtype)
        std = torch.sqrt(self.statistics.var + self.epsilon).to(dtype)
        return torch.clamp((x.to(dtype) - mean) / std, -self.clip, self.clip)


class ValueNorm(nn.Module):
    """The MAPPO paper's debiased running normaliser for value targets.

    Exponential moving averages of the mean and the mean square with weight ``beta`` are
    divided by the matching debiasing term ``1 - beta^n`` (as in Adam), so the estimate is
    unbiased from the first update; the variance is floored at 1e-2 as in the reference code.
    """

    def __init__(self, shape: int | Sequence[int] = (1,), beta: float = 0.99999, epsilon: float = 1e-5) -> None:
        super().__init__()
        if not 0.0 < beta < 1.0:
            raise ValueError(f"beta must be in (0, 1), got {beta}")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be positive, got {epsilon}")
        self.shape = _as_shape(shape)
        self.beta = float(beta)
        self.epsilon = float(epsilon)
        self.running_mean: Tensor
        self.running_mean_sq: Tensor
        self.debiasing_term: Tensor
        self.register_buffer("running_mean", torch.zeros(self.shape, dtype=torch.float64))
        self.register_buffer("running_mean_sq", torch.zeros(self.shape, dtype=torch.float64))
        self.register_buffer("debiasing_term", torch.zeros((), dtype=torch.float64))

    def mean_var(self) -> tuple[Tensor, Tensor]:
        """Debiased mean and variance (float64)."""
        debias = self.debiasing_term.clamp(min=self.epsilon)
        mean = self.running_mean / debias
        mean_sq = self.running_mean_sq / debias
        return mean, (mean_sq - mean**2).clamp(min=1e-2)

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Move the averages towards the batch statistics of ``x``."""
        batch = _batch_view(torch.as_tensor(x), self.shape, "ValueNorm").to(torch.float64)
        if batch.shape[0] == 0:
            return
        weight = self.beta
        self.running_mean.mul_(weight).add_(batch.mean(dim=0) * (1.0 - weight))
        self.running_mean_sq.mul_(weight).add_((batch**2).mean(dim=0) * (1.0 - weight))
        self.debiasing_term.mul_(weight).add_(1.0 - weight)

    def normalize(self, x: Tensor) -> Tensor:
        """Standardise value targets: ``(x - mean) / std``."""
        mean, var = self.mean_var()
        return (x - mean.to(x.dtype)) / torch.sqrt(var).to(x.dtype)

    def denormalize(self, x: Tensor) -> Tensor:
        """Map normalised predictions back to the return scale: ``x * std + mean``."""
        mean, var = self.mean_var()
        return x * torch.sqrt(var).to(x.dtype) + mean.to(x.dtype)
