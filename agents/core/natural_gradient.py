"""Natural-gradient machinery for NPG and TRPO (Kakade 2002; Schulman et al. 2015).

Parameters are handled as one flat vector; the Fisher information matrix is never formed,
only its products with vectors (double backprop through the mean KL), which conjugate
gradient uses to solve F x = g. The line search then shrinks the proposed step until the
surrogate improves and the mean KL stays within the trust region.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn


def _as_list(params: Iterable[nn.Parameter | Tensor]) -> list[Tensor]:
    params = list(params)
    if not params:
        raise ValueError("params is empty; pass the policy's parameters, e.g. list(policy.parameters())")
    return params


def flat_parameters(params: Iterable[Tensor]) -> Tensor:
    """Concatenate the parameters into one detached flat vector (a copy)."""
    return torch.cat([p.detach().reshape(-1) for p in _as_list(params)]).clone()


@torch.no_grad()
def set_flat_parameters(params: Iterable[Tensor], flat: Tensor) -> None:
    """Write a flat vector (as made by :func:`flat_parameters`) back into the parameters in place."""
    params = _as_list(params)
    total = sum(p.numel() for p in params)
    if flat.numel() != total:
        raise ValueError(f"flat has {flat.numel()} elements but the parameters have {total}")
    offset = 0
    for p in params:
        n = p.numel()
        p.copy_(flat[offset : offset + n].view_as(p))
        offset += n


def flat_gradient(
    scalar: Tensor,
    params: Iterable[Tensor],
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> Tensor:
    """Gradient of a scalar with respect to the parameters as one flat vector (zeros for unused ones)."""
    params = _as_list(params)
    grads = torch.autograd.grad(scalar, params, create_graph=create_graph, retain_graph=retain_graph, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params)])


def fisher_vector_product(
    kl_fn: Callable[[], Tensor], params: Iterable[Tensor], damping: float = 0.1
) -> Callable[[Tensor], Tensor]:
    """Return ``v -> F v + damping * v`` where F is the Hessian of the mean KL at the current parameters.

    ``kl_fn()`` must return the mean KL(pi_old || pi_theta) with pi_old detached; its Hessian at
    theta = theta_old is the Fisher information matrix. The KL gradient graph is built once and
    reused for every product (each call is one extra backward pass).
    """
    if damping < 0:
        raise ValueError(f"damping must be non-negative, got {damping}")
    params = _as_list(params)
    kl = kl_fn()
    if kl.dim() != 0:
        raise ValueError(f"kl_fn must return a scalar (the mean KL), got shape {tuple(kl.shape)}")
    kl_gradient = flat_gradient(kl, params, create_graph=True)

    def product(vector: Tensor) -> Tensor:
        vector = vector.detach().to(kl_gradient.dtype)
        hessian_vector = flat_gradient((kl_gradient * vector).sum(), params, retain_graph=True)
        return hessian_vector + damping * vector

    return product


def conjugate_gradient(
    matvec: Callable[[Tensor], Tensor],
    b: Tensor,
    iterations: int = 10,
    residual_tolerance: float = 1e-10,
) -> Tensor:
    """Approximately solve ``A x = b`` for symmetric positive-definite A given only ``matvec(v) = A v``.

    Starts from x = 0 and stops after ``iterations`` steps or when the squared residual norm
    falls below ``residual_tolerance``.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    b = b.detach()
    x = torch.zeros_like(b)
    residual = b.clone()
    direction = b.clone()
    residual_sq = residual @ residual
    for _ in range(iterations):
        if residual_sq.item() < residual_tolerance:
            break
        a_direction = matvec(direction)
        step = residual_sq / (direction @ a_direction)
        x = x + step * direction
        residual = residual - step * a_direction
        new_residual_sq = residual @ residual
        direction = residual + (new_residual_sq / residual_sq) * direction
        residual_sq = new_residual_sq
    return x


def trust_region_step(direction: Tensor, matvec: Callable[[Tensor], Tensor], max_kl: float) -> Tensor:
    """Scale ``direction`` to the edge of the KL trust region: ``s = d * sqrt(2 max_kl / (d^T F d))``.

    Under the quadratic model KL ~ 0.5 s^T F s, the returned step has KL exactly ``max_kl``
    (TRPO's full step before the line search).
    """
    if max_kl <= 0:
        raise ValueError(f"max_kl must be positive, got {max_kl}")
    curvature = float(direction @ matvec(direction))
    if not math.isfinite(curvature) or curvature <= 0:
        raise ValueError(f"d^T F d must be positive and finite, got {curvature}; check the damping and the KL function")
    return direction * math.sqrt(2.0 * max_kl / curvature)


def normalized_natural_step(gradient: Tensor, natural_direction: Tensor, step_size: float) -> Tensor:
    """Peters' truncated-NPG step ``alpha / sqrt(g^T F^-1 g) * F^-1 g`` with ``F^-1 g`` given by CG."""
    if step_size <= 0:
        raise ValueError(f"step_size must be positive, got {step_size}")
    norm_sq = float(gradient @ natural_direction)
    if not math.isfinite(norm_sq) or norm_sq <= 0:
        raise ValueError(f"g^T F^-1 g must be positive and finite, got {norm_sq}; the gradient may be zero")
    return natural_direction * (step_size / math.sqrt(norm_sq))


@dataclass(frozen=True)
class LineSearchResult:
    """Outcome of :func:`backtracking_line_search`.

    ``step_fraction`` is the accepted shrink factor (0.0 when rejected); ``kl`` and
    ``improvement`` describe the accepted step, or the last one tried when rejected;
    ``tries`` counts the evaluated candidates.
    """

    accepted: bool
    step_fraction: float
    kl: float
    improvement: float
    tries: int = 0


def backtracking_line_search(
    params: Iterable[Tensor],
    step: Tensor,
    objective_fn: Callable[[], Tensor],
    kl_fn: Callable[[], Tensor],
    max_kl: float,
    shrink: float = 0.8,
    max_tries: int = 10,
) -> LineSearchResult:
    """Try ``theta + shrink^k * step`` for k = 0..max_tries-1 and keep the first acceptable one.

    A candidate is accepted when ``objective_fn()`` (the surrogate to maximise) improves on
    its value at the starting parameters and ``kl_fn()`` (mean KL from the old policy) is at
    most ``max_kl``; non-finite values are never accepted. If no candidate is accepted the
    original parameters are restored bit for bit from a saved copy.
    """
    if max_kl <= 0:
        raise ValueError(f"max_kl must be positive, got {max_kl}")
    if not 0.0 < shrink < 1.0:
        raise ValueError(f"shrink must be in (0, 1), got {shrink}")
    if max_tries < 1:
        raise ValueError(f"max_tries must be at least 1, got {max_tries}")
    params = _as_list(params)
    saved = [p.detach().clone() for p in params]
    start = flat_parameters(params)
    step = step.detach().to(start.dtype)
    if step.numel() != start.numel():
        raise ValueError(f"step has {step.numel()} elements but the parameters have {start.numel()}")

    with torch.no_grad():
        baseline = float(objective_fn())
        kl = math.nan
        improvement = math.nan
        for attempt in range(max_tries):
            fraction = shrink**attempt
            set_flat_parameters(params, start + fraction * step)
            improvement = float(objective_fn()) - baseline
            kl = float(kl_fn())
            if math.isfinite(improvement) and math.isfinite(kl) and improvement > 0 and kl <= max_kl:
                return LineSearchResult(True, fraction, kl, improvement, attempt + 1)
        for p, original in zip(params, saved):
            p.copy_(original)
    return LineSearchResult(False, 0.0, kl, improvement, max_tries)
