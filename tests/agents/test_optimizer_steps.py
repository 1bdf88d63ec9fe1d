"""The fast optimiser steps (private torch kernels) against the plain ones (public torch.optim API)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agents.rules import optimizer_steps, optimizer_steps_fast


def network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def train(steps_module, seed: int = 0, max_norm: float = 0.05, **adam_options):
    """A few clipped Adam steps on fixed data; returns the model, optimiser and the norms seen."""
    model = network(seed)
    optimizer = torch.optim.Adam(
        [{"params": list(model[0].parameters()), "lr": 3e-3}, {"params": list(model[2:].parameters()), "lr": 1e-3}],
        eps=1e-5,
        **adam_options,
    )
    inputs = torch.randn(64, 5, generator=torch.Generator().manual_seed(seed))
    targets = torch.randn(64, 3, generator=torch.Generator().manual_seed(seed + 1))
    norms = []
    for _ in range(6):
        for parameter in model.parameters():
            parameter.grad = None
        ((model(inputs) - targets) ** 2).mean().backward()
        norms.append(steps_module.clip_gradient_norm(list(model.parameters()), max_norm))
        steps_module.optimizer_step(optimizer)
    return model, optimizer, norms


def assert_bit_identical(plain, fast) -> None:
    (plain_model, plain_optimizer, plain_norms), (fast_model, fast_optimizer, fast_norms) = plain, fast
    for a, b in zip(plain_model.parameters(), fast_model.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(plain_norms, fast_norms):
        assert torch.equal(a, b)
    plain_state, fast_state = plain_optimizer.state_dict()["state"], fast_optimizer.state_dict()["state"]
    assert plain_state.keys() == fast_state.keys()
    for key in plain_state:
        for name in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(plain_state[key][name], fast_state[key][name]), (key, name)


@pytest.mark.skipif(not optimizer_steps_fast.ENABLED, reason="the fast path is off on this torch version")
def test_fast_steps_are_bit_identical_to_the_public_api():
    """Clipped fused Adam over two parameter groups: parameters, norms and Adam state agree bit for bit."""
    fast = train(optimizer_steps_fast, fused=True)
    assert optimizer_steps_fast._fused_adam_work(fast[1]) is not None  # steps 2.. took the direct kernels
    assert_bit_identical(train(optimizer_steps, fused=True), fast)


def test_unfused_adam_and_optimizers_with_hooks_take_the_public_step():
    """Options the direct kernels skip send the step through ``optimizer.step()``: its hooks run."""
    assert_bit_identical(train(optimizer_steps, fused=False), train(optimizer_steps_fast, fused=False))
    model = network(0)
    optimizer = torch.optim.Adam(model.parameters(), fused=True)
    calls = []
    optimizer.register_step_post_hook(lambda *_: calls.append(1))
    for _ in range(3):
        model(torch.ones(2, 5)).sum().backward()
        optimizer_steps_fast.optimizer_step(optimizer)
    assert len(calls) == 3


def test_untested_torch_versions_fall_back_to_the_public_api(monkeypatch):
    assert not optimizer_steps_fast.torch_version_tested("2.99.0")
    assert not optimizer_steps_fast.torch_version_tested("3.0.1+cpu")
    monkeypatch.setattr(optimizer_steps_fast, "ENABLED", False)

    def direct_call(*_):
        raise AssertionError("the direct kernels ran on an untested torch version")

    monkeypatch.setattr(optimizer_steps_fast, "_fused_adam_work", direct_call)
    plain_clips = []
    public_clip = optimizer_steps.clip_gradient_norm
    monkeypatch.setattr(
        optimizer_steps, "clip_gradient_norm", lambda *args: plain_clips.append(1) or public_clip(*args)
    )
    assert_bit_identical(train(optimizer_steps, fused=True), train(optimizer_steps_fast, fused=True))
    assert len(plain_clips) == 2 * 6  # both runs clip through the public function
