"""GAE against an independent plain-Python computation."""

import numpy as np
import pytest
import torch

from agents.core.gae import compute_gae


def reference_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Per-(env, agent) episode-by-episode GAE written with plain Python lists."""
    T, n_env, n_agent = rewards.shape
    advantages = np.zeros_like(rewards)
    for e in range(n_env):
        for a in range(n_agent):
            # Split the trajectory into episodes and compute each one forward-sum style.
            start = 0
            for t in range(T):
                end_of_episode = terminated[t, e, a] or truncated[t, e, a] or t == T - 1
                if not end_of_episode:
                    continue
                for i in range(start, t + 1):
                    total = 0.0
                    for j in range(i, t + 1):
                        if j < t:
                            bootstrap = values[j + 1, e, a]  # next state of the same episode
                        elif terminated[j, e, a]:
                            bootstrap = 0.0
                        else:
                            bootstrap = next_values[j, e, a]
                        delta = rewards[j, e, a] + gamma * bootstrap - values[j, e, a]
                        total += (gamma * lam) ** (j - i) * delta
                    advantages[i, e, a] = total
                start = t + 1
    return advantages


@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (1.0, 0.0)])
def test_gae_matches_python_loop_with_terminations_and_truncations(gamma, lam):
    rng = np.random.default_rng(0)
    T, n_env, n_agent = 17, 3, 2
    rewards = rng.normal(size=(T, n_env, n_agent))
    values = rng.normal(size=(T, n_env, n_agent))
    # Within an episode next_values[t] == values[t + 1]; at a boundary it is the final state's value.
    next_values = np.concatenate([values[1:], rng.normal(size=(1, n_env, n_agent))])
    terminated = np.zeros((T, n_env, n_agent), dtype=bool)
    truncated = np.zeros((T, n_env, n_agent), dtype=bool)
    terminated[4, 0, 0] = terminated[10, 1, 1] = terminated[16, 2, 0] = True
    truncated[7, 0, 0] = truncated[2, 1, 0] = truncated[12, 2, 1] = True
    for t, e, a in [(4, 0, 0), (10, 1, 1), (7, 0, 0), (2, 1, 0), (12, 2, 1)]:
        next_values[t, e, a] = rng.normal() * 5.0  # final observation differs from the reset state
    assert terminated.any() and truncated.any()

    expected = reference_gae(rewards, values, next_values, terminated, truncated, gamma, lam)
    advantages, returns = compute_gae(
        torch.tensor(rewards),
        torch.tensor(values),
        torch.tensor(next_values),
        torch.tensor(terminated),
        torch.tensor(truncated),
        gamma,
        lam,
    )
    assert advantages.shape == (T, n_env, n_agent)
    np.testing.assert_allclose(advantages.numpy(), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(returns.numpy(), expected + values, rtol=1e-10, atol=1e-10)


def test_truncation_bootstraps_and_termination_does_not():
    rewards = torch.tensor([[1.0], [1.0]])
    values = torch.tensor([[0.0], [0.0]])
    next_values = torch.tensor([[10.0], [10.0]])
    none = torch.zeros(2, 1, dtype=torch.bool)
    ended = torch.tensor([[True], [True]])
    adv_trunc, _ = compute_gae(rewards, values, next_values, none, ended, 0.5, 1.0)
    adv_term, _ = compute_gae(rewards, values, next_values, ended, none, 0.5, 1.0)
    assert torch.allclose(adv_trunc, torch.tensor([[6.0], [6.0]]))
    assert torch.allclose(adv_term, torch.tensor([[1.0], [1.0]]))


def test_gae_rejects_mismatched_shapes_and_bad_gamma():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="next_values"):
        compute_gae(x, x, torch.zeros(3, 1), x, x, 0.99, 0.95)
    with pytest.raises(ValueError, match="gamma"):
        compute_gae(x, x, x, x, x, 1.5, 0.95)
