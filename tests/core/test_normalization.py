"""Running statistics against direct computations."""

import numpy as np
import pytest
import torch

from agents.core.normalization import ObservationNormalizer, RunningMeanStd, ValueNorm


def test_running_mean_std_merge_equals_concatenation():
    rng = np.random.default_rng(1)
    batches = [rng.normal(loc=3.0, scale=2.0, size=(n, 4)) for n in (1, 7, 50, 3)]
    rms = RunningMeanStd(4)
    for batch in batches:
        rms.update(torch.tensor(batch))
    everything = np.concatenate(batches)
    np.testing.assert_allclose(rms.mean.numpy(), everything.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(rms.var.numpy(), everything.var(axis=0), rtol=1e-10)
    assert rms.count.item() == len(everything)


def test_running_mean_std_state_dict_round_trip():
    rms = RunningMeanStd((2, 3))
    rms.update(torch.randn(10, 2, 3))
    other = RunningMeanStd((2, 3))
    other.load_state_dict(rms.state_dict())
    assert torch.equal(other.mean, rms.mean) and torch.equal(other.var, rms.var)
    with pytest.raises(ValueError, match="trailing"):
        rms.update(torch.randn(5, 3))


def test_observation_normalizer_standardises_and_clips():
    rng = np.random.default_rng(2)
    data = rng.normal(loc=-1.0, scale=4.0, size=(500, 3))
    norm = ObservationNormalizer(3, clip=2.0)
    norm.update(torch.tensor(data, dtype=torch.float32))
    out = norm.normalize(torch.tensor(data, dtype=torch.float32))
    assert out.dtype == torch.float32
    expected = np.clip((data - data.mean(0)) / np.sqrt(data.var(0) + 1e-8), -2.0, 2.0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert out.abs().max().item() <= 2.0


def test_value_norm_debiasing_matches_direct_computation():
    beta = 0.9
    rng = np.random.default_rng(3)
    batches = [rng.normal(loc=5.0, scale=3.0, size=(20, 1)) for _ in range(4)]
    value_norm = ValueNorm((1,), beta=beta)
    for batch in batches:
        value_norm.update(torch.tensor(batch))
    # Direct: weights (1-beta) beta^(n-1-i) normalised by their sum 1 - beta^n.
    n = len(batches)
    weights = np.array([(1 - beta) * beta ** (n - 1 - i) for i in range(n)])
    weights /= 1 - beta**n
    mean = sum(w * b.mean() for w, b in zip(weights, batches))
    mean_sq = sum(w * (b**2).mean() for w, b in zip(weights, batches))
    var = max(mean_sq - mean**2, 1e-2)
    got_mean, got_var = value_norm.mean_var()
    assert got_mean.item() == pytest.approx(mean, rel=1e-10)
    assert got_var.item() == pytest.approx(var, rel=1e-10)
    x = torch.tensor([[1.0], [7.0]], dtype=torch.float64)
    normalised = value_norm.normalize(x)
    np.testing.assert_allclose(normalised.numpy(), (x.numpy() - mean) / np.sqrt(var), rtol=1e-10)
    assert torch.allclose(value_norm.denormalize(normalised), x)


def test_value_norm_first_update_is_unbiased_and_accepts_any_shape():
    value_norm = ValueNorm()
    data = torch.tensor([[2.0, 4.0], [6.0, 8.0]])  # e.g. [env, agent]
    value_norm.update(data)
    mean, var = value_norm.mean_var()
    assert mean.item() == pytest.approx(5.0)
    assert var.item() == pytest.approx(5.0, rel=1e-6)
    assert value_norm.normalize(data).shape == (2, 2)
