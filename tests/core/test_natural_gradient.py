"""Conjugate gradient, Fisher-vector products and the KL line search against explicit computations."""

import numpy as np
import pytest
import torch
from torch import nn

from agents.core.natural_gradient import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_gradient,
    flat_parameters,
    normalized_natural_step,
    set_flat_parameters,
    trust_region_step,
)


def test_flat_views_round_trip():
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    params = list(net.parameters())
    flat = flat_parameters(params)
    assert flat.numel() == sum(p.numel() for p in params)
    set_flat_parameters(params, flat + 1.0)
    assert torch.allclose(flat_parameters(params), flat + 1.0)
    loss = net(torch.randn(5, 3)).pow(2).sum()
    grads = torch.autograd.grad(loss, params, retain_graph=True)
    assert torch.allclose(flat_gradient(loss, params), torch.cat([g.reshape(-1) for g in grads]))
    with pytest.raises(ValueError, match="elements"):
        set_flat_parameters(params, flat[:-1])


@pytest.mark.parametrize("n,seed", [(5, 0), (12, 1), (30, 2)])
def test_conjugate_gradient_matches_numpy_solve(n, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eigenvalues = rng.uniform(0.5, 5.0, size=n)
    a = q @ np.diag(eigenvalues) @ q.T
    b = rng.normal(size=n)
    a_t = torch.tensor(a)
    x = conjugate_gradient(lambda v: a_t @ v, torch.tensor(b), iterations=n, residual_tolerance=1e-20)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-6, atol=1e-8)


def test_conjugate_gradient_default_is_ten_iterations():
    calls = []
    a = torch.diag(torch.arange(1.0, 31.0, dtype=torch.float64))

    def matvec(v):
        calls.append(1)
        return a @ v

    conjugate_gradient(matvec, torch.ones(30, dtype=torch.float64))
    assert len(calls) == 10


def categorical_policy():
    torch.manual_seed(0)
    return nn.Linear(3, 4).double()


def categorical_kl(policy, states, old_logits):
    old = torch.log_softmax(old_logits, -1)
    new = torch.log_softmax(policy(states), -1)
    return (old.exp() * (old - new)).sum(-1).mean()


def categorical_explicit_fisher(policy, states):
    """E_s E_a[score score^T] with the expectation over actions taken exactly."""
    params = list(policy.parameters())
    n = sum(p.numel() for p in params)
    fisher = torch.zeros(n, n, dtype=torch.float64)
    for s in states:
        log_probs = torch.log_softmax(policy(s), -1)
        for a in range(log_probs.shape[-1]):
            score = flat_gradient(log_probs[a], params, retain_graph=True)
            fisher += log_probs[a].exp().detach() * torch.outer(score, score)
    return fisher / len(states)


def gaussian_policy():
    torch.manual_seed(1)
    mean_net = nn.Linear(2, 2).double()
    log_std = nn.Parameter(torch.tensor([-0.3, 0.2], dtype=torch.float64))
    return mean_net, log_std


def gaussian_kl(mean_net, log_std, states, old_mean, old_log_std):
    mean = mean_net(states)
    var, old_var = torch.exp(2 * log_std), torch.exp(2 * old_log_std)
    kl = log_std - old_log_std + (old_var + (old_mean - mean) ** 2) / (2 * var) - 0.5
    return kl.sum(-1).mean()


def explicit_hessian(fn, params):
    flat = flat_parameters(params)
    n = flat.numel()
    gradient = flat_gradient(fn(), params, create_graph=True)
    rows = [flat_gradient(gradient[i], params, retain_graph=True) for i in range(n)]
    return torch.stack(rows)


def test_fisher_vector_product_categorical_matches_explicit_fisher():
    policy = categorical_policy()
    params = list(policy.parameters())
    states = torch.randn(6, 3, dtype=torch.float64)
    old_logits = policy(states).detach()
    kl_fn = lambda: categorical_kl(policy, states, old_logits)  # noqa: E731
    fisher = categorical_explicit_fisher(policy, states)
    hessian = explicit_hessian(kl_fn, params)
    assert torch.allclose(fisher, hessian, atol=1e-10)  # two independent routes agree
    product = fisher_vector_product(kl_fn, params, damping=0.1)
    for _ in range(3):
        v = torch.randn(fisher.shape[0], dtype=torch.float64)
        assert torch.allclose(product(v), fisher @ v + 0.1 * v, atol=1e-10)


def test_fisher_vector_product_gaussian_matches_score_outer_product():
    mean_net, log_std = gaussian_policy()
    params = list(mean_net.parameters()) + [log_std]
    states = torch.randn(5, 2, dtype=torch.float64)
    old_mean, old_log_std = mean_net(states).detach(), log_std.detach().clone()
    kl_fn = lambda: gaussian_kl(mean_net, log_std, states, old_mean, old_log_std)  # noqa: E731
    # Closed-form Fisher from the scores: d log N / d mean = (a - mu)/var, d/d log_std = z^2 - 1;
    # E[score score^T] for a diagonal Gaussian is diag(1/var) for the mean and 2 for each log_std.
    n = flat_parameters(params).numel()
    fisher = torch.zeros(n, n, dtype=torch.float64)
    for s in states:
        mean = mean_net(s)
        jac_rows = [flat_gradient(mean[i], params, retain_graph=True) for i in range(2)]
        jac_rows += [flat_gradient(log_std[i], params, retain_graph=True) for i in range(2)]
        jacobian = torch.stack(jac_rows)
        inner = torch.diag(torch.cat([torch.exp(-2 * log_std.detach()), torch.full((2,), 2.0, dtype=torch.float64)]))
        fisher += jacobian.T @ inner @ jacobian
    fisher /= len(states)
    hessian = explicit_hessian(kl_fn, params)
    assert torch.allclose(fisher, hessian, atol=1e-10)
    product = fisher_vector_product(kl_fn, params, damping=0.0)
    v = torch.randn(n, dtype=torch.float64)
    assert torch.allclose(product(v), fisher @ v, atol=1e-10)


def line_search_problem():
    policy = categorical_policy()
    params = list(policy.parameters())
    states = torch.randn(8, 3, dtype=torch.float64)
    old_logits = policy(states).detach()
    actions = torch.randint(0, 4, (8,))
    advantages = torch.randn(8, dtype=torch.float64)
    old_log_prob = torch.log_softmax(old_logits, -1).gather(-1, actions[:, None]).squeeze(-1)

    def objective():
        log_prob = torch.log_softmax(policy(states), -1).gather(-1, actions[:, None]).squeeze(-1)
        return (torch.exp(log_prob - old_log_prob) * advantages).mean()

    def kl():
        return categorical_kl(policy, states, old_logits)

    return policy, params, objective, kl


def test_line_search_accepts_good_step_within_kl():
    policy, params, objective, kl = line_search_problem()
    gradient = flat_gradient(objective(), params)
    step = conjugate_gradient(fisher_vector_product(kl, params, 0.01), gradient)
    max_kl = 0.01
    step = step * torch.sqrt(2 * max_kl / (step @ fisher_vector_product(kl, params, 0.01)(step)))
    start = flat_parameters(params)
    before = objective().item()
    result = backtracking_line_search(params, step, objective, kl, max_kl)
    assert result.accepted
    assert result.kl <= max_kl
    assert objective().item() - before == pytest.approx(result.improvement)
    assert result.improvement > 0
    assert torch.allclose(flat_parameters(params), start + result.step_fraction * step)


def test_line_search_never_accepts_kl_above_delta_and_restores_exactly():
    policy, params, objective, kl = line_search_problem()
    gradient = flat_gradient(objective(), params)
    huge_step = gradient / gradient.norm() * 1e3  # improves the surrogate but leaves the trust region
    saved = [p.detach().clone() for p in params]
    seen_kl = []

    def recording_kl():
        value = kl()
        seen_kl.append(value.item())
        return value

    result = backtracking_line_search(params, huge_step, objective, recording_kl, max_kl=1e-6, max_tries=5)
    assert not result.accepted
    assert result.step_fraction == 0.0
    assert len(seen_kl) == 5 and min(seen_kl) > 1e-6
    for p, original in zip(params, saved):
        assert torch.equal(p, original)


def test_line_search_rejects_step_that_does_not_improve():
    policy, params, objective, kl = line_search_problem()
    gradient = flat_gradient(objective(), params)
    saved = [p.detach().clone() for p in params]
    result = backtracking_line_search(params, -1e-3 * gradient, objective, kl, max_kl=1.0)
    assert not result.accepted and result.improvement < 0
    assert all(torch.equal(p, o) for p, o in zip(params, saved))


def test_line_search_shrinks_by_factor():
    policy, params, objective, kl = line_search_problem()
    gradient = flat_gradient(objective(), params)
    step = gradient / gradient.norm()
    # Pick max_kl so that only a shrunken step is acceptable.
    start = flat_parameters(params)
    set_flat_parameters(params, start + step)
    full_kl = kl().item()
    set_flat_parameters(params, start)
    result = backtracking_line_search(params, step, objective, kl, max_kl=full_kl * 0.5)
    assert result.accepted and result.step_fraction < 1.0
    assert any(abs(result.step_fraction - 0.8**k) < 1e-12 for k in range(1, 10))
    assert result.kl <= full_kl * 0.5


def test_trust_region_step_reaches_kl_bound_under_quadratic_model():
    rng = np.random.default_rng(5)
    m = rng.normal(size=(6, 6))
    fisher = torch.tensor(m @ m.T + np.eye(6))
    direction = torch.tensor(rng.normal(size=6))
    step = trust_region_step(direction, lambda v: fisher @ v, max_kl=0.02)
    assert (0.5 * step @ fisher @ step).item() == pytest.approx(0.02)
    assert torch.allclose(step / step.norm(), direction / direction.norm())
    with pytest.raises(ValueError, match="d\\^T F d"):
        trust_region_step(direction, lambda v: -v, 0.01)


def test_normalized_natural_step_has_peters_length():
    rng = np.random.default_rng(6)
    m = rng.normal(size=(5, 5))
    fisher = m @ m.T + np.eye(5)
    gradient = rng.normal(size=5)
    natural = np.linalg.solve(fisher, gradient)
    step = normalized_natural_step(torch.tensor(gradient), torch.tensor(natural), step_size=0.1)
    np.testing.assert_allclose(step.numpy(), 0.1 / np.sqrt(gradient @ natural) * natural, rtol=1e-12)
    # Its Fisher norm equals the step size: sqrt(s^T F s) = alpha.
    assert np.sqrt(step.numpy() @ fisher @ step.numpy()) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="step_size"):
        normalized_natural_step(torch.tensor(gradient), torch.tensor(natural), step_size=0.0)
