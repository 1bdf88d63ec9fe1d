"""Policy and value objectives against hand computations and their gradients."""

import pytest
import torch

from agents.core.objectives import (
    clipped_surrogate_loss,
    entropy_bonus,
    masked_mean,
    policy_gradient_loss,
    surrogate_objective,
    value_loss,
)


def test_masked_mean_ignores_masked_entries():
    x = torch.tensor([1.0, 2.0, 100.0])
    assert masked_mean(x, torch.tensor([1.0, 1.0, 0.0])).item() == pytest.approx(1.5)
    assert masked_mean(x).item() == pytest.approx(103.0 / 3)
    assert masked_mean(x, torch.zeros(3)).item() == 0.0


def test_clipped_surrogate_gradient_per_sample():
    clip = 0.2
    # ratios: inside, above+adv>0 (clipped), below+adv<0 (clipped), above+adv<0 (unclipped),
    # below+adv>0 (unclipped)
    ratios = torch.tensor([1.1, 1.5, 0.5, 1.5, 0.5], dtype=torch.float64)
    advantages = torch.tensor([2.0, 3.0, -1.5, -2.0, 4.0], dtype=torch.float64)
    old_log_prob = torch.tensor([-1.0, -0.3, -2.0, -0.7, -1.2], dtype=torch.float64)
    log_prob = (old_log_prob + torch.log(ratios)).requires_grad_(True)
    loss, stats = clipped_surrogate_loss(log_prob, old_log_prob, advantages, clip)
    loss.backward()
    n = len(ratios)
    # d(-r A / n)/d log_prob = -r A / n where the unclipped term is active, 0 where clipped.
    active = torch.tensor([True, False, False, True, True])
    expected = torch.where(active, -ratios * advantages / n, torch.zeros(n, dtype=torch.float64))
    assert torch.allclose(log_prob.grad, expected)
    assert log_prob.grad[1] == 0 and log_prob.grad[2] == 0
    expected_loss = -torch.minimum(ratios * advantages, ratios.clamp(0.8, 1.2) * advantages).mean()
    assert loss.item() == pytest.approx(expected_loss.item())
    assert stats["clip_fraction"] == pytest.approx(4 / 5)
    expected_kl = ((ratios - 1) - torch.log(ratios)).mean().item()
    assert stats["approx_kl"] == pytest.approx(expected_kl)


def test_clipped_surrogate_mask_removes_samples():
    log_prob = torch.tensor([0.0, 0.0], requires_grad=True)
    loss, _ = clipped_surrogate_loss(
        log_prob, torch.zeros(2), torch.tensor([1.0, 5.0]), 0.2, mask=torch.tensor([1.0, 0.0])
    )
    loss.backward()
    assert loss.item() == pytest.approx(-1.0)
    assert log_prob.grad.tolist() == [-1.0, 0.0]


def test_surrogate_and_policy_gradient_losses():
    log_prob = torch.tensor([-0.5, -1.0], requires_grad=True)
    old = torch.tensor([-0.5, -1.0])
    adv = torch.tensor([2.0, -1.0])
    objective = surrogate_objective(log_prob, old, adv)
    assert objective.item() == pytest.approx(0.5)
    objective.backward()
    assert torch.allclose(log_prob.grad, adv / 2)
    pg = policy_gradient_loss(log_prob, adv)
    assert pg.item() == pytest.approx(-((-0.5 * 2.0) + (-1.0 * -1.0)) / 2)


def test_value_loss_squared_clipped_and_huber_by_hand():
    values = torch.tensor([1.0, 3.0, -2.0])
    old_values = torch.tensor([0.0, 2.9, 0.0])
    returns = torch.tensor([2.0, 0.0, -1.0])
    # plain: 0.5 e^2 with e = [1, -3, 1]
    assert value_loss(values, old_values, returns).item() == pytest.approx((0.5 + 4.5 + 0.5) / 3)
    # clipped with 0.5: clipped predictions [0.5, 3.0, -0.5] -> errors [1.5, -3, -0.5]
    # per-sample max(0.5 e^2, 0.5 e_clip^2) = [1.125, 4.5, 0.5]
    clipped = value_loss(values, old_values, returns, clip_range=0.5)
    assert clipped.item() == pytest.approx((1.125 + 4.5 + 0.5) / 3)
    # Huber delta 2: |e| = [1, 3, 1] -> [0.5, 2*(3-1)=4, 0.5]
    huber = value_loss(values, old_values, returns, huber_delta=2.0)
    assert huber.item() == pytest.approx((0.5 + 4.0 + 0.5) / 3)
    # Huber is symmetric in the sign of the error
    assert value_loss(
        torch.tensor([5.0]), torch.tensor([5.0]), torch.tensor([0.0]), huber_delta=1.0
    ).item() == pytest.approx(4.5)
    # clipped Huber, and a mask
    both = value_loss(values, old_values, returns, clip_range=0.5, huber_delta=2.0, mask=torch.tensor([1.0, 1.0, 0.0]))
    assert both.item() == pytest.approx((1.125 + 4.0) / 2)


def test_value_loss_clip_blocks_gradient_when_clipped_term_dominates():
    values = torch.tensor([3.0], requires_grad=True)
    loss = value_loss(values, torch.tensor([0.0]), torch.tensor([10.0]), clip_range=1.0)
    loss.backward()
    assert values.grad.item() == 0.0  # the clipped error (9) is larger and constant in values


def test_entropy_bonus_and_bad_arguments():
    assert entropy_bonus(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0])).item() == 3.0
    with pytest.raises(ValueError, match="clip_range"):
        clipped_surrogate_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), 0.0)
    with pytest.raises(ValueError, match="huber_delta"):
        value_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), huber_delta=-1.0)


def test_masked_entries_may_hold_nan_or_infinity():
    """Death masking is safe for any value: NaN or inf at a masked entry changes nothing."""
    clean = torch.tensor([1.0, 2.0, 0.0, 0.0])
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0])
    for poison in (float("nan"), float("inf"), float("-inf")):
        x = torch.tensor([1.0, 2.0, poison, poison], requires_grad=True)
        mean = masked_mean(x, mask)
        assert mean.item() == 1.5
        mean.backward()
        assert torch.equal(x.grad, torch.tensor([0.5, 0.5, 0.0, 0.0]))
    # The losses built on it: a dead agent's garbage log-probability, value or entropy is ignored.
    log_prob = torch.tensor([-1.0, -0.5, float("nan"), float("inf")], requires_grad=True)
    old = torch.tensor([-1.0, -0.6, -1.0, -1.0])
    advantages = torch.tensor([1.0, -1.0, float("nan"), 3.0])
    loss, stats = clipped_surrogate_loss(log_prob, old, advantages, 0.2, mask)
    reference, reference_stats = clipped_surrogate_loss(log_prob[:2].detach(), old[:2], advantages[:2], 0.2)
    assert loss.item() == pytest.approx(reference.item())
    assert stats == pytest.approx(reference_stats)
    loss.backward()
    living = log_prob[:2].detach().clone().requires_grad_(True)
    clipped_surrogate_loss(living, old[:2], advantages[:2], 0.2)[0].backward()
    assert torch.allclose(log_prob.grad[:2], living.grad)
    values = torch.tensor([0.5, 1.0, float("inf"), float("nan")])
    assert value_loss(values, values, clean, clip_range=0.2, huber_delta=10.0, mask=mask).item() == pytest.approx(
        (0.5 * 0.5**2 + 0.5 * 1.0**2) / 2
    )
    assert entropy_bonus(torch.tensor([0.3, 0.1, float("nan"), 1.0]), mask).item() == pytest.approx(0.2)
