"""Gradient clipping and fused Adam steps without torch's per-call bookkeeping.

For the learner's small networks ``torch.optim.Adam.step`` and ``clip_grad_norm_`` spend most
of their time on Python bookkeeping. These versions call the kernels those functions run
(``torch._foreach_norm``, ``torch._foreach_mul_``, ``torch._foreach_add_``,
``torch._fused_adam_``) directly, in the same order, so parameters and optimiser state come
out bit for bit the same (``tests/agents/test_optimizer_steps.py``). They use private torch
API: on a torch version not in :data:`TESTED_TORCH_VERSIONS`, or whenever an optimiser or its
gradients need anything the direct calls skip (hooks, options other than fused Adam's
defaults, mixed devices or dtypes), they fall back to :mod:`agents.rules.optimizer_steps`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.optim.optimizer as optimizer_module
from torch import Tensor

from agents.rules import optimizer_steps

#: torch versions (major.minor) on which the direct calls were checked against the public API.
TESTED_TORCH_VERSIONS = ("2.13",)


def torch_version_tested(version: str = torch.__version__) -> bool:
    """Whether ``version`` is one the direct calls were checked on, and its kernels exist."""
    major_minor = ".".join(version.split("+")[0].split(".")[:2])
    return (
        major_minor in TESTED_TORCH_VERSIONS
        and hasattr(torch, "_fused_adam_")
        and hasattr(torch, "_foreach_norm")
        and hasattr(optimizer_module, "_global_optimizer_pre_hooks")
    )


ENABLED = torch_version_tested()


@torch.no_grad()
def clip_gradient_norm(params: list[Tensor], max_norm: float) -> Tensor:
    """:func:`agents.rules.optimizer_steps.clip_gradient_norm` (``clip_grad_norm_`` with
    ``foreach=True``): the same operations in the same order when every gradient shares one
    device and dtype."""
    grads = [p.grad for p in params if p.grad is not None]
    if not ENABLED or not grads or any(g.device != grads[0].device or g.dtype != grads[0].dtype for g in grads):
        return optimizer_steps.clip_gradient_norm(params, max_norm)
    norms = torch._foreach_norm(grads, 2.0)
    total_norm = torch.linalg.vector_norm(torch.stack(norms), 2.0)
    clip_coef = max_norm / (total_norm + 1e-6)
    torch._foreach_mul_(grads, torch.clamp(clip_coef, max=1.0))
    return total_norm


def optimizer_step(optimizer: torch.optim.Optimizer) -> None:
    """:func:`agents.rules.optimizer_steps.optimizer_step`; for a plain fused Adam whose state
    exists, the two kernels its step runs (step counters + 1, fused update per group)."""
    work = _fused_adam_work(optimizer) if ENABLED else None
    if work is None:
        optimizer_steps.optimizer_step(optimizer)
        return
    for group, params, grads, exp_avgs, exp_avg_sqs, steps in work:
        beta1, beta2 = group["betas"]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
        )


def _fused_adam_work(optimizer: torch.optim.Optimizer) -> list[tuple[Any, ...]] | None:
    """Per parameter group the tensors of a direct fused Adam step, or None when the
    optimiser needs its own ``step`` (first step, hooks, options the direct call skips)."""
    if (
        type(optimizer) is not torch.optim.Adam
        or optimizer._optimizer_step_pre_hooks
        or optimizer._optimizer_step_post_hooks
        or optimizer_module._global_optimizer_pre_hooks
        or optimizer_module._global_optimizer_post_hooks
        or getattr(optimizer, "grad_scale", None) is not None
        or getattr(optimizer, "found_inf", None) is not None
    ):
        return None
    work = []
    for group in optimizer.param_groups:
        if (
            not group["fused"]
            or group["amsgrad"]
            or group["maximize"]
            or group["capturable"]
            or group["differentiable"]
            or group.get("decoupled_weight_decay", False)
            or isinstance(group["lr"], Tensor)
            or any(isinstance(beta, Tensor) for beta in group["betas"])
        ):
            return None
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            continue
        states = [optimizer.state.get(p) for p in params]
        if not all(states) or any(p.grad.is_sparse or p.is_complex() for p in params):
            return None
        first = params[0]
        if any(p.device != first.device or p.dtype != first.dtype for p in params):
            return None
        work.append(
            (
                group,
                params,
                [p.grad for p in params],
                [state["exp_avg"] for state in states],
                [state["exp_avg_sq"] for state in states],
                [state["step"] for state in states],
            )
        )
    return work
