"""Per-group diagnostics, computed as CleanRL computes them, and the collapse rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from learner_scripted_envs import TwoTeamsEnv

from agents import IPPO, MAPPO, NPG, PPO, REINFORCE, TRPO
from agents.core.objectives import clipped_surrogate_loss
from agents.diagnostics import CollapseRule, CollapseWatch, explained_variance


def fixed_tensors():
    rng = np.random.default_rng(4)
    returns = rng.normal(2.0, 3.0, size=(16, 3))
    values = returns + rng.normal(0.0, 1.5, size=(16, 3))
    mask = rng.random((16, 3)) > 0.3
    return returns, values, mask


def test_explained_variance_matches_cleanrl_numpy():
    returns, values, mask = fixed_tensors()
    expected = 1 - np.var(returns - values) / np.var(returns)  # CleanRL's formula
    assert explained_variance(torch.tensor(values), torch.tensor(returns)) == pytest.approx(expected, rel=1e-12)
    masked = 1 - np.var(returns[mask] - values[mask]) / np.var(returns[mask])
    got = explained_variance(torch.tensor(values), torch.tensor(returns), torch.tensor(mask))
    assert got == pytest.approx(masked, rel=1e-12)
    assert explained_variance(torch.tensor(returns), torch.tensor(returns)) == 1.0
    assert math.isnan(explained_variance(torch.zeros(4), torch.ones(4)))


def test_approx_kl_and_clip_fraction_match_cleanrl_numpy():
    rng = np.random.default_rng(5)
    old = rng.normal(-1.0, 0.3, size=(32, 2))
    new = old + rng.normal(0.0, 0.25, size=(32, 2))
    advantages = rng.normal(size=(32, 2))
    mask = rng.random((32, 2)) > 0.25
    log_ratio = new - old
    ratio = np.exp(log_ratio)
    tensors = [torch.tensor(array, dtype=torch.float64) for array in (new, old, advantages)]
    _, stats = clipped_surrogate_loss(*tensors, 0.2)
    assert stats["approx_kl"] == pytest.approx(((ratio - 1) - log_ratio).mean(), rel=1e-9)
    assert stats["clip_fraction"] == pytest.approx((np.abs(ratio - 1.0) > 0.2).mean(), rel=1e-9)
    _, stats = clipped_surrogate_loss(*tensors, 0.2, torch.tensor(mask))
    assert stats["approx_kl"] == pytest.approx(((ratio - 1) - log_ratio)[mask].mean(), rel=1e-9)


@pytest.mark.parametrize("algorithm", [PPO, IPPO, MAPPO, TRPO, NPG, REINFORCE])
def test_every_group_logs_its_diagnostics(algorithm):
    learner = algorithm(TwoTeamsEnv, n_envs=2, n_steps=10, recurrent=False, policy_sharing="team")
    logged = []
    learner.learn(2 * 10 * 2, callback=logged.append)
    expected = {"entropy", "explained_variance"} | ({"approx_kl"} if algorithm is not REINFORCE else set())
    if algorithm in (PPO, IPPO, MAPPO):
        expected.add("clip_fraction")
    for metrics in logged:
        for group in ("red", "blue"):
            names = {key.split("/")[2] for key in metrics if key.startswith(f"train/{group}/")}
            assert expected <= names, (group, names)
            entropy = metrics[f"train/{group}/entropy"]
            assert 0.0 < entropy <= math.log(2) + 1e-6  # two actions
            assert metrics[f"train/{group}/explained_variance"] <= 1.0
            if "approx_kl" in expected:
                assert metrics[f"train/{group}/approx_kl"] >= -1e-6


def test_explained_variance_logged_is_that_of_the_prepared_batch():
    """Without value normalisation the batch holds the returns and the collected values as they
    are; CleanRL's numpy formula on them gives the logged figure."""
    learner = PPO("CartPole-v1", n_envs=2, n_steps=32, n_epochs=1, value_normalization=False)
    logged = []
    learner.learn(64, callback=logged.append)
    batch = learner.prepare_batch(0)  # the same rollout, returns recomputed by the same code
    alive = batch.alive.numpy() > 0
    returns, values = batch.returns.numpy()[alive], batch.old_values.numpy()[alive]
    expected = 1 - np.var(returns - values) / np.var(returns)
    assert logged[-1]["train/agent/explained_variance"] == pytest.approx(float(expected), rel=1e-4, abs=1e-6)


def feed(watch, group, entropies, returns, kls=None):
    """Warnings of ``watch`` for one update per entry of the series."""
    kls = kls or [0.01] * len(entropies)
    found = []
    for entropy, episode_return, kl in zip(entropies, returns, kls):
        warning = watch.observe(group, {"entropy": entropy, "approx_kl": kl}, episode_return)
        if warning is not None:
            found.append(warning)
    return found


def test_collapse_rule_on_synthetic_series():
    rising = list(np.linspace(-80, -40, 30))
    # Healthy: entropy falls moderately while returns rise.
    assert feed(CollapseWatch(), "g", list(np.linspace(1.6, 0.8, 30)), rising) == []
    # Converged: entropy near zero but returns hold at their best: a deterministic good policy.
    assert feed(CollapseWatch(), "g", list(np.linspace(1.6, 0.01, 30)), rising + [-40] * 10) == []
    # Returns fall while entropy stays high: exploration noise, not a collapse.
    falling = rising + list(np.linspace(-40, -90, 15))
    assert feed(CollapseWatch(), "g", [1.5] * 45, falling) == []
    # Entropy near zero while returns fall back below most of their gain: one warning, only once.
    watch = CollapseWatch()
    warnings = feed(watch, "g", list(np.linspace(1.6, 0.02, 45)), falling)
    assert len(warnings) == 1 and "policy group 'g' may be collapsing" in warnings[0] and "\n" not in warnings[0]
    assert feed(watch, "g", [0.01] * 10, [-95] * 10) == []
    # The same for a Gaussian policy whose entropy starts at 2.8 nats and goes negative.
    assert len(feed(CollapseWatch(), "g", list(np.linspace(2.8, -3.0, 45)), falling)) == 1
    assert feed(CollapseWatch(), "g", list(np.linspace(2.8, 1.0, 45)), falling) == []
    # An exploding KL is enough by itself.
    kl_spike = [0.01] * 10 + [3.0]
    (warning,) = feed(CollapseWatch(), "g", [1.5] * 11, [0.0] * 11, kl_spike)
    assert "approximate KL 3 exceeds 0.5" in warning
    # Groups are watched apart.
    watch = CollapseWatch()
    assert feed(watch, "a", [1.5] * 11, [0.0] * 11, kl_spike) and not feed(watch, "b", [1.5] * 11, [0.0] * 11)


def test_collapse_rule_thresholds():
    rule = CollapseRule()
    assert rule.entropy_collapsed(1.6, 0.08) and not rule.entropy_collapsed(1.6, 0.09)
    assert rule.entropy_collapsed(-1.0, -1.95) and not rule.entropy_collapsed(-1.0, -1.9)
    assert rule.returns_falling(first=-80, best=-40, latest=-61) and not rule.returns_falling(-80, -40, -59)
    assert not rule.returns_falling(first=-40, best=-40, latest=-90)  # nothing was ever gained


def test_learner_warns_once_and_keeps_training(capsys):
    learner = PPO("CartPole-v1", n_envs=2, n_steps=32, n_epochs=4, learning_rate=1e-3)
    learner.collapse_watch = CollapseWatch(CollapseRule(kl_limit=1e-9))  # any update "explodes"
    logged = []
    learner.learn(64 * 4, callback=logged.append)
    assert learner.steps == 64 * 4
    lines = [line for line in capsys.readouterr().err.splitlines() if "may be collapsing" in line]
    assert len(lines) == 1 and lines[0].startswith("[agents] policy group 'agent' may be collapsing")
    assert [m.get("train/agent/collapse_warning") for m in logged] == [1.0, None, None, None]
