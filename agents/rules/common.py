"""Pieces shared by the update rules: gradient steps and the separately fitted critic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.optim.optimizer as optimizer_module
from torch import Tensor

from agents.config import CriticFitConfig
from agents.core.finite import ensure_finite
from agents.core.objectives import value_loss
from agents.models import GroupModel
from agents.rollout import TrainingBatch
from agents.rules.interface import Optimizers, UpdateContext


def gradient_step(optimizers: dict[str, torch.optim.Optimizer], loss: Tensor, max_grad_norm: float | None) -> float:
    """Backpropagate ``loss`` and step every optimiser, clipping each one's gradients separately.

    Returns the largest pre-clipping gradient norm (for logging).
    """
    ensure_finite("loss", loss)
    clear_gradients(optimizers)
    loss.backward()
    return clip_and_step(optimizers, max_grad_norm)


def clear_gradients(optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Set every optimised parameter's gradient to None (``zero_grad(set_to_none=True)``
    without its profiling wrapper)."""
    for optimizer in optimizers.values():
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                parameter.grad = None


def clip_and_step(optimizers: dict[str, torch.optim.Optimizer], max_grad_norm: float | None) -> float:
    """Step every optimiser on the gradients already accumulated, clipping each one's
    gradients separately; returns the largest pre-clipping gradient norm."""
    largest = 0.0
    for optimizer in optimizers.values():
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if max_grad_norm is not None and params:
            norm = clip_gradient_norm(params, max_grad_norm)
            ensure_finite("gradient norm", norm)
            largest = max(largest, float(norm))
        adam_step(optimizer)
    return largest


@torch.no_grad()
def clip_gradient_norm(params: list[Tensor], max_norm: float) -> Tensor:
    """``torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)``: the same operations
    in the same order (so the same numbers), without its per-call bookkeeping, when every
    gradient shares one device and dtype (otherwise torch's function is called)."""
    grads = [p.grad for p in params]
    first = grads[0]
    if any(g.device != first.device or g.dtype != first.dtype for g in grads):
        return torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
    norms = torch._foreach_norm(grads, 2.0)
    total_norm = torch.linalg.vector_norm(torch.stack(norms), 2.0)
    clip_coef = max_norm / (total_norm + 1e-6)
    torch._foreach_mul_(grads, torch.clamp(clip_coef, max=1.0))
    return total_norm


def adam_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()``; for a plain fused Adam whose state exists, the two kernels that
    step runs (step counters + 1, fused update per parameter group), called directly.

    ``torch.optim.Adam.step`` spends most of its time on Python bookkeeping for the learner's
    small networks; the direct calls give bit-identical parameters and optimiser state.
    """
    work = _fused_adam_work(optimizer)
    if work is None:
        optimizer.step()
        return
    for group, params, grads, exp_avgs, exp_avg_sqs, steps in work:
        beta1, beta2 = group["betas"]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"], beta1=beta1,
            beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"], maximize=False,
        )


def _fused_adam_work(optimizer: torch.optim.Optimizer) -> list | None:
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
            not group["fused"] or group["amsgrad"] or group["maximize"] or group["capturable"]
            or group["differentiable"] or group.get("decoupled_weight_decay", False)
            or isinstance(group["lr"], Tensor) or any(isinstance(beta, Tensor) for beta in group["betas"])
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
        work.append((
            group, params, [p.grad for p in params], [state["exp_avg"] for state in states],
            [state["exp_avg_sq"] for state in states], [state["step"] for state in states],
        ))
    return work


def adam(parameters: Any, learning_rate: float, epsilon: float) -> torch.optim.Adam:
    """Adam with the learner's epsilon, using torch's fused kernel (several times faster per
    step than the per-tensor loop for the learner's many small tensors)."""
    return torch.optim.Adam(parameters, lr=learning_rate, eps=epsilon, fused=True)


def make_critic_optimizer(config: CriticFitConfig, model: GroupModel) -> torch.optim.Adam:
    """Adam on the critic's parameters (TRPO, NPG and REINFORCE fit the value function apart)."""
    return adam(model.critic.parameters(), config.critic_learning_rate, config.adam_epsilon)


def fit_critic(learner: UpdateContext[CriticFitConfig], g: int, batch: TrainingBatch) -> dict[str, float]:
    """Regress the critic on the returns with Adam: ``critic_epochs`` passes of minibatches."""
    config = learner.config
    optimizer = {"critic": learner.optimizers(g)["critic"]}
    losses = []
    for _ in range(config.critic_epochs):
        for minibatch in batch.minibatches(
            config.critic_minibatch_size, batch.generator, config.recurrent, config.chunk_length
        ):
            values = learner.values(g, minibatch)
            loss = value_loss(values, minibatch.old_values, minibatch.returns, mask=minibatch.mask)
            gradient_step(optimizer, loss, config.max_grad_norm)
            losses.append(float(loss.detach()))
    return {"value": sum(losses) / max(len(losses), 1)}


def with_critic_fit(
    learner: UpdateContext[CriticFitConfig],
    g: int,
    batch: TrainingBatch,
    policy_step: Callable[[Any, int, TrainingBatch], dict[str, float]],
) -> dict[str, float]:
    """``policy_step`` and :func:`fit_critic` on the same rollout, their statistics merged.

    They touch disjoint parameters (the advantages were computed before), so they may run at
    the same time; the result is the same either way.
    """
    policy_stats, critic_stats = learner.update_threads.run(
        "policy_and_critic", lambda: policy_step(learner, g, batch), lambda: fit_critic(learner, g, batch)
    )
    return {**policy_stats, **critic_stats}
