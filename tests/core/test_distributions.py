"""Action distributions against torch.distributions and closed forms; the action codec round trips."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import distributions as td

from agents.core.distributions import (
    ActionCodec,
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    MultiCategoricalDistribution,
    StackedCategoricalDistribution,
    UnsupportedSpaceError,
    make_action_head,
)

ARENA_SPACE = spaces.Dict(
    {"movement": spaces.MultiDiscrete([11, 11, 11]), "grab": spaces.Discrete(2), "lock": spaces.Discrete(2)}
)


def test_masked_actions_are_never_sampled_and_have_zero_probability():
    torch.manual_seed(0)
    logits = torch.randn(6, 5) * 3.0
    logits[:, 2] = 50.0  # the masked action would dominate without the mask
    mask = torch.ones(6, 5, dtype=torch.bool)
    mask[:, 2] = False
    mask[0, [0, 1, 3]] = False  # row 0: only action 4 allowed
    mask[3, 4] = False
    dist = CategoricalDistribution(logits, mask)
    samples = torch.cat([dist.sample() for _ in range(2000)], dim=1).long()  # [6, 2000]
    for row in range(6):
        drawn = set(samples[row].tolist())
        allowed = set(torch.nonzero(mask[row]).flatten().tolist())
        assert drawn <= allowed
    assert set(samples[0].tolist()) == {4}
    assert torch.all(dist.probs[~mask] == 0.0)
    masked_log_prob = dist.log_prob(torch.full((6, 1), 2.0))
    assert torch.all(masked_log_prob.exp() == 0.0) and torch.all(masked_log_prob < -1e8)
    # allowed actions renormalise among themselves
    reference = td.Categorical(logits=logits.masked_fill(~mask, float("-inf")))
    actions = dist.sample()
    assert torch.allclose(dist.log_prob(actions), reference.log_prob(actions.squeeze(-1).long()))
    assert torch.allclose(dist.entropy(), reference.entropy())
    assert torch.isfinite(dist.entropy()).all()
    assert torch.all(dist.mode().squeeze(-1) != 2)


def test_categorical_samples_follow_the_probabilities():
    torch.manual_seed(5)
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 0, 1, 1, 0]])
    dist = CategoricalDistribution(logits, mask)
    draws = 100_000
    many = CategoricalDistribution(logits.repeat(draws, 1), mask.repeat(draws, 1))
    samples = many._sample_index().reshape(draws, 2).t()  # [row, draw]
    for row in range(2):
        frequencies = torch.bincount(samples[row], minlength=5).double() / draws
        p = dist.probs[row].double()
        sigma = torch.sqrt(p * (1 - p) / draws)
        assert torch.all((frequencies - p).abs() <= 5 * sigma), (row, frequencies, p)
        assert torch.all(frequencies[mask[row] == 0] == 0)


def test_categorical_sample_ignores_masks_even_for_a_zero_exponential_draw(monkeypatch):
    """Gumbel-max noise is -log E; an E of exactly 0 must not lift a masked action above the rest."""
    monkeypatch.setattr(torch.Tensor, "exponential_", lambda self, *args, **kwargs: self.zero_())
    logits = torch.tensor([[9.0, 1.0, 3.0], [0.0, 2.0, 1.0]])
    dist = CategoricalDistribution(logits, torch.tensor([[0, 1, 1], [1, 0, 1]]))
    actions, log_probs = dist.sample_with_log_prob()
    assert actions.squeeze(-1).tolist() == [2.0, 2.0]  # the most likely allowed action of each row
    assert torch.allclose(log_probs, dist.log_prob(actions))


def test_all_masked_row_is_an_error():
    mask = torch.tensor([[1, 0], [0, 0]])
    with pytest.raises(ValueError, match="every action is masked"):
        CategoricalDistribution(torch.zeros(2, 2), mask)


def test_categorical_against_torch_distributions():
    torch.manual_seed(1)
    p_logits, q_logits = torch.randn(7, 4), torch.randn(7, 4)
    mine, other = CategoricalDistribution(p_logits), CategoricalDistribution(q_logits)
    ref_p, ref_q = td.Categorical(logits=p_logits), td.Categorical(logits=q_logits)
    actions = torch.randint(0, 4, (7, 1)).float()
    assert torch.allclose(mine.log_prob(actions), ref_p.log_prob(actions.squeeze(-1).long()))
    assert torch.allclose(mine.entropy(), ref_p.entropy())
    assert torch.allclose(mine.kl(other), td.kl_divergence(ref_p, ref_q), atol=1e-6)
    assert mine.sample().shape == (7, 1)


def test_gaussian_against_torch_distributions():
    torch.manual_seed(2)
    mean, log_std = torch.randn(5, 3), torch.randn(3) * 0.5
    mean2, log_std2 = torch.randn(5, 3), torch.randn(3) * 0.5
    mine, other = DiagGaussianDistribution(mean, log_std), DiagGaussianDistribution(mean2, log_std2)
    ref = td.Independent(td.Normal(mean, log_std.exp().expand_as(mean)), 1)
    ref2 = td.Independent(td.Normal(mean2, log_std2.exp().expand_as(mean2)), 1)
    actions = torch.randn(5, 3)
    assert torch.allclose(mine.log_prob(actions), ref.log_prob(actions), atol=1e-5)
    assert torch.allclose(mine.entropy(), ref.entropy(), atol=1e-5)
    assert torch.allclose(mine.kl(other), td.kl_divergence(ref, ref2), atol=1e-5)
    assert torch.equal(mine.mode(), mean)
    samples = torch.stack([mine.sample() for _ in range(4000)])
    assert torch.allclose(samples.mean(0), mean, atol=0.1)
    assert torch.allclose(samples.std(0), log_std.exp().expand_as(mean), rtol=0.1)


def test_bernoulli_against_torch_distributions():
    torch.manual_seed(3)
    logits, logits2 = torch.randn(6, 4), torch.randn(6, 4)
    mine, other = BernoulliDistribution(logits), BernoulliDistribution(logits2)
    ref, ref2 = td.Independent(td.Bernoulli(logits=logits), 1), td.Independent(td.Bernoulli(logits=logits2), 1)
    actions = torch.randint(0, 2, (6, 4)).float()
    assert torch.allclose(mine.log_prob(actions), ref.log_prob(actions), atol=1e-6)
    assert torch.allclose(mine.entropy(), ref.entropy(), atol=1e-6)
    assert torch.allclose(mine.kl(other), td.kl_divergence(ref, ref2), atol=1e-6)
    assert set(mine.sample().unique().tolist()) <= {0.0, 1.0}


def test_arena_product_distribution_sums_parts_and_splits_mask():
    torch.manual_seed(4)
    head = make_action_head(ARENA_SPACE, 8)
    codec = ActionCodec(ARENA_SPACE)
    assert head.action_dim == codec.action_dim == 5
    assert head.mask_dim == codec.mask_dim == 2 + 2 + 33
    features = torch.randn(3, 8)
    # order is the space's own order: grab, lock, movement
    mask = torch.ones(3, codec.mask_dim)
    mask[:, 1] = 0  # grab: only "0" allowed
    mask[:, 4 + 11 : 4 + 22] = 0
    mask[:, 4 + 11 + 7] = 1  # second movement component: only 7 allowed
    dist = head(features, mask)
    for _ in range(200):
        action = dist.sample()
        assert torch.all(action[:, 0] == 0) and torch.all(action[:, 3] == 7)
    action = dist.sample()
    expected = sum(part.log_prob(action[:, i : i + part.action_dim]) for i, part in zip([0, 1, 2], dist.parts))
    assert torch.allclose(dist.log_prob(action), expected)
    movement_logits = head.heads[2].linear(features)
    grab_ref = td.Categorical(logits=head.heads[0].linear(features).masked_fill(mask[:, :2] == 0, float("-inf")))
    lock_ref = td.Categorical(logits=head.heads[1].linear(features))
    move_refs = [
        td.Categorical(logits=part.masked_fill(m == 0, float("-inf")))
        for part, m in zip(movement_logits.split(11, -1), mask[:, 4:].split(11, -1))
    ]
    ref_entropy = grab_ref.entropy() + lock_ref.entropy() + sum(r.entropy() for r in move_refs)
    assert torch.allclose(dist.entropy(), ref_entropy, atol=1e-5)
    assert torch.allclose(dist.kl(dist.detach()), torch.zeros(3), atol=1e-6)
    assert not dist.detach().log_prob(action).requires_grad
    assert dist.log_prob(action).requires_grad


@pytest.mark.parametrize("nvec", [[11, 11, 11], [3, 5]])
def test_multidiscrete_head_equals_separate_categoricals(nvec):
    """Equal components are stacked into one distribution, unequal ones stay a product; both
    give the log-probabilities, entropies, KLs and masks of one categorical per component."""
    torch.manual_seed(6)
    head = make_action_head(spaces.MultiDiscrete(nvec), 8)
    features, other_features = torch.randn(5, 8), torch.randn(5, 8)
    mask = torch.ones(5, sum(nvec))
    mask[:, 1] = 0  # the first component never takes action 1
    mask[2, nvec[0] : nvec[0] + nvec[1] - 1] = 0  # row 2: the second component only its last action
    dist, other = head(features, mask), head(other_features)
    expected_kind = StackedCategoricalDistribution if len(set(nvec)) == 1 else MultiCategoricalDistribution
    assert type(dist) is expected_kind and dist.action_dim == len(nvec)
    logits, other_logits = head.linear(features), head.linear(other_features)
    separate = [CategoricalDistribution(part, m) for part, m in zip(logits.split(nvec, -1), mask.split(nvec, -1))]
    others = [CategoricalDistribution(part) for part in other_logits.split(nvec, -1)]
    actions = dist.sample()
    assert actions.shape == (5, len(nvec))
    for _ in range(50):
        drawn = dist.sample()
        assert torch.all(drawn[:, 0] != 1) and drawn[2, 1] == nvec[1] - 1
    columns = actions.split(1, dim=-1)
    assert torch.allclose(dist.log_prob(actions), sum(p.log_prob(a) for p, a in zip(separate, columns)), atol=1e-6)
    assert torch.allclose(dist.entropy(), sum(p.entropy() for p in separate), atol=1e-6)
    assert torch.allclose(dist.kl(other), sum(p.kl(q) for p, q in zip(separate, others)), atol=1e-6)
    assert torch.equal(dist.mode(), torch.cat([p.mode() for p in separate], dim=-1))
    sampled, log_probs = dist.sample_with_log_prob()
    assert torch.allclose(log_probs, dist.log_prob(sampled), atol=1e-6)
    assert not dist.detach().log_prob(actions).requires_grad and dist.log_prob(actions).requires_grad
    with pytest.raises(ValueError, match="columns"):
        dist.log_prob(actions[:, :1])


def test_heads_use_policy_gain_and_gaussian_log_std_is_state_independent():
    head = make_action_head(spaces.Box(-1.0, 1.0, (3,)), 16)
    weight = head.mean.weight.detach()
    assert torch.allclose(weight @ weight.T, 0.01**2 * torch.eye(3), atol=1e-7)
    dist = head(torch.randn(4, 16))
    assert torch.equal(dist.log_std, torch.zeros(4, 3))
    assert head.log_std.requires_grad and head.log_std.shape == (3,)
    categorical = make_action_head(spaces.Discrete(4), 16)
    w = categorical.linear.weight.detach()
    assert torch.allclose(w @ w.T, 0.01**2 * torch.eye(4), atol=1e-7)


@pytest.mark.parametrize(
    "space",
    [
        spaces.Discrete(5, start=-2),
        spaces.MultiDiscrete([3, 4, 2]),
        spaces.MultiDiscrete([[2, 3], [4, 5]]),
        spaces.Box(-2.0, 3.0, (2, 2)),
        spaces.MultiBinary(4),
        ARENA_SPACE,
        spaces.Tuple((spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2,)), spaces.MultiBinary(2))),
        spaces.Dict({"outer": spaces.Tuple((spaces.Discrete(2), spaces.MultiDiscrete([3, 3])))}),
    ],
)
def test_codec_round_trips(space):
    space.seed(0)
    codec = ActionCodec(space)
    head = make_action_head(space, 6)
    assert head.action_dim == codec.action_dim and head.mask_dim == codec.mask_dim
    for _ in range(20):
        action = space.sample()
        flat = codec.from_env(action)
        assert flat.shape == (codec.action_dim,) and flat.dtype == np.float32
        back = codec.to_env(flat)
        assert space.contains(back)
        assert np.array_equal(codec.from_env(back), flat)
    samples = head(torch.randn(10, 6)).sample()
    for row in samples:
        assert space.contains(codec.to_env(row.numpy()))
    # The batch conversion gives, row by row, what converting each row alone gives.
    batch = codec.to_env_batch(samples.numpy())
    assert len(batch) == 10
    for row, converted in zip(samples, batch):
        single = codec.to_env(row.numpy())
        assert np.array_equal(codec.from_env(converted), codec.from_env(single))
        assert type(converted) is type(single)


@pytest.mark.parametrize("space", [spaces.Discrete(4), spaces.Box(-1.0, 1.0, (3,)), spaces.MultiBinary(2), ARENA_SPACE])
def test_sample_with_log_prob_matches_sample_then_log_prob(space):
    head = make_action_head(space, 5)
    with torch.no_grad():
        for parameter in head.parameters():  # a non-zero log-std and sizeable logits
            parameter.normal_()
    features = torch.randn(7, 5)
    distribution = head(features)
    torch.manual_seed(3)
    actions, log_probs = distribution.sample_with_log_prob()
    torch.manual_seed(3)
    assert torch.equal(actions, distribution.sample())
    assert torch.allclose(log_probs, distribution.log_prob(actions), atol=1e-5)


def test_codec_clips_box_and_maps_discrete_start():
    box = ActionCodec(spaces.Box(-1.0, 1.0, (2,)))
    assert np.array_equal(box.to_env(np.array([5.0, -0.5])), np.array([1.0, -0.5], dtype=np.float32))
    discrete = ActionCodec(spaces.Discrete(3, start=10))
    assert discrete.to_env(np.array([2.0])) == 12
    assert discrete.from_env(11).tolist() == [1.0]
    assert ActionCodec(spaces.Box(-1.0, 1.0, (2,))).mask_dim == 0
    with pytest.raises(ValueError, match="action_dim"):
        box.to_env(np.zeros(3))


@pytest.mark.parametrize(
    "space,name",
    [
        (spaces.Text(5), "Text"),
        (spaces.Graph(spaces.Discrete(2), None), "Graph"),
        (spaces.Box(0, 5, (2,), dtype=np.int64), "Box"),
    ],
)
def test_unsupported_space_error_names_the_space(space, name):
    for build in (lambda: make_action_head(space, 4), lambda: ActionCodec(space)):
        with pytest.raises(UnsupportedSpaceError, match=name) as info:
            build()
        assert "Discrete, MultiDiscrete, Box, MultiBinary" in str(info.value)
        assert isinstance(info.value, ValueError)
    nested = spaces.Tuple((spaces.Discrete(2), space))
    with pytest.raises(UnsupportedSpaceError, match=name):
        make_action_head(nested, 4)
