"""Encoders chosen from the space, and the training-time replay of the collection pass."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from learner_scripted_envs import DyingAgentsEnv
from pettingzoo import ParallelEnv

from agents import MAPPO, PPO
from agents.config import PPOConfig
from agents.models import Actor, EntityEncoder, FlatEncoder, ImageEncoder, ObservationLayout, make_encoder

ENTITY_SPACE = spaces.Dict(
    {
        "self": spaces.Box(-1, 1, (4,), np.float32),
        "boxes": spaces.Box(-1, 1, (3, 5), np.float32),
        "boxes_mask": spaces.Box(0, 1, (3,), np.float32),
        "lidar": spaces.Box(0, 6, (6,), np.float32),
    }
)


def entity_observation(rng, mask):
    return {
        "self": rng.normal(size=4).astype(np.float32),
        "boxes": rng.normal(size=(3, 5)).astype(np.float32),
        "boxes_mask": np.asarray(mask, np.float32),
        "lidar": rng.uniform(0, 6, size=6).astype(np.float32),
    }


def test_layout_flattens_dicts_in_space_order_and_discrete_as_one_hot():
    layout = ObservationLayout(ENTITY_SPACE)
    observation = entity_observation(np.random.default_rng(0), [1, 0, 1])
    flat = layout.flatten([observation])[0]
    expected = np.concatenate([observation[k].reshape(-1) for k in ENTITY_SPACE.spaces])
    assert np.array_equal(flat, expected) and layout.dim == 4 + 15 + 3 + 6
    discrete = ObservationLayout(spaces.Discrete(4))
    assert np.array_equal(discrete.flatten([2, 0]), np.eye(4, dtype=np.float32)[[2, 0]])
    # Several observations: one row each, in order; float64 and int parts become float32.
    second = {k: v.astype(np.float64) for k, v in entity_observation(np.random.default_rng(1), [0, 1, 1]).items()}
    rows = layout.flatten([observation, second])
    assert rows.dtype == np.float32 and rows.shape == (2, layout.dim)
    assert np.array_equal(
        rows[1], np.concatenate([second[k].reshape(-1) for k in ENTITY_SPACE.spaces]).astype(np.float32)
    )
    short = dict(observation, lidar=observation["lidar"][:4])
    with pytest.raises(ValueError, match="'lidar': 4.*'lidar': 6"):
        layout.flatten([short])


def test_entity_encoder_ignores_masked_entities_and_entity_order():
    torch.manual_seed(0)
    layout = ObservationLayout(ENTITY_SPACE)
    encoder = make_encoder(layout, normalize=False, layer_norm=False)
    assert isinstance(encoder, EntityEncoder)
    rng = np.random.default_rng(1)
    observation = entity_observation(rng, [1, 0, 1])
    base = encoder(torch.from_numpy(layout.flatten([observation])))
    hidden_changed = dict(observation, boxes=observation["boxes"].copy())
    hidden_changed["boxes"][1] += 10.0  # the masked box
    assert torch.allclose(encoder(torch.from_numpy(layout.flatten([hidden_changed]))), base, atol=1e-6)
    swapped = dict(observation, boxes=observation["boxes"][[2, 1, 0]].copy())
    assert torch.allclose(encoder(torch.from_numpy(layout.flatten([swapped]))), base, atol=1e-5)
    seen_changed = dict(observation, boxes=observation["boxes"].copy())
    seen_changed["boxes"][0] += 1.0
    assert not torch.allclose(encoder(torch.from_numpy(layout.flatten([seen_changed]))), base, atol=1e-4)
    nothing_seen = entity_observation(rng, [0, 0, 0])
    assert torch.isfinite(encoder(torch.from_numpy(layout.flatten([nothing_seen])))).all()


def test_the_config_sizes_the_entity_encoder():
    layout = ObservationLayout(ENTITY_SPACE)
    small = Actor(layout, spaces.Discrete(3), 0, PPOConfig(entity_embed_dim=16, attention_heads=2))
    default = Actor(layout, spaces.Discrete(3), 0, PPOConfig())
    encoder = small.trunk.encoder
    assert isinstance(encoder, EntityEncoder) and encoder.output_dim == 32
    assert encoder.attention.embed_dim == 16 and encoder.attention.num_heads == 2
    assert default.trunk.encoder.output_dim == 128 and default.trunk.encoder.attention.num_heads == 4
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert count(small) < count(default) / 3
    rows = torch.from_numpy(layout.flatten([entity_observation(np.random.default_rng(0), [1, 0, 1])]))
    assert small(rows[None])[0].logits.shape == (1, 3)
    with pytest.raises(ValueError, match="attention_heads \\(3\\) must divide entity_embed_dim \\(16\\)"):
        PPOConfig(entity_embed_dim=16, attention_heads=3)


@pytest.mark.parametrize("batch", [1, 5, 300])
def test_entity_attention_equals_torch_multihead_attention(batch):
    """The encoder's own attention arithmetic against nn.MultiheadAttention with a key padding
    mask: outputs and the gradients of every input and parameter."""
    torch.manual_seed(4)
    encoder = EntityEncoder(ObservationLayout(ENTITY_SPACE), ["boxes"], embed_dim=16, heads=4)
    tokens = torch.randn(batch, 6, 16, requires_grad=True)
    absent = torch.rand(batch, 6) < 0.4
    absent[:, 0] = False  # the agent's own token is always present
    upstream = torch.randn(batch, 6, 16)

    def run(attend):
        encoder.zero_grad()
        tokens.grad = None
        out = attend()
        (out * upstream).sum().backward()
        return out.detach(), tokens.grad.clone(), [p.grad.clone() for p in encoder.attention.parameters()]

    mine = run(lambda: encoder._attend(tokens, absent))
    reference = run(lambda: encoder.attention(tokens, tokens, tokens, key_padding_mask=absent, need_weights=False)[0])
    assert torch.allclose(mine[0], reference[0], atol=1e-5)
    assert torch.allclose(mine[1], reference[1], atol=1e-5)
    for got, expected in zip(mine[2], reference[2]):
        assert torch.allclose(got, expected, atol=1e-4)
    # A masked key changes nothing: perturb every absent token, outputs at present rows stay.
    with torch.no_grad():
        moved = tokens + 5.0 * absent.unsqueeze(-1)
        assert torch.allclose(encoder._attend(moved, absent)[~absent], mine[0][~absent], atol=1e-5)


def test_vectors_get_the_flat_encoder_and_images_the_cnn():
    assert isinstance(make_encoder(ObservationLayout(spaces.Box(-1, 1, (7,))), False, False), FlatEncoder)
    image = spaces.Box(0, 255, (16, 16, 3), np.uint8)
    encoder = make_encoder(ObservationLayout(image), False, False)
    assert isinstance(encoder, ImageEncoder) and encoder.scale == 255.0
    x = torch.rand(2, 5, 16 * 16 * 3) * 255
    assert encoder(x).shape == (2, 5, encoder.output_dim)


class ImageEnv(ParallelEnv):
    """Two agents see a 12x12 RGB image whose brightness is the step count; reward = action."""

    metadata = {"name": "image_v0"}

    def __init__(self):
        self.possible_agents = ["eye_0", "eye_1"]
        self.agents = []

    def observation_space(self, agent):
        return spaces.Box(0, 255, (12, 12, 3), np.uint8)

    def action_space(self, agent):
        return spaces.Discrete(2)

    def _observations(self):
        return {a: np.full((12, 12, 3), 20 * self.t, np.uint8) for a in self.agents}

    def reset(self, seed=None, options=None):
        self.t = 0
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        rewards = {a: float(actions[a]) for a in self.agents}
        done = self.t >= 8
        observations = self._observations()
        result = (
            observations,
            rewards,
            {a: False for a in self.agents},
            {a: done for a in self.agents},
            {a: {} for a in self.agents},
        )
        if done:
            self.agents = []
        return result


def test_image_observations_learn_through_the_cnn():
    algo = PPO(ImageEnv, n_envs=2, n_steps=16, minibatch_size=32, learning_rate=3e-3, n_epochs=4, entropy_coef=0.0)
    assert isinstance(algo.models[0].actor.trunk.encoder, ImageEncoder)
    returns = []
    algo.learn(2 * 16 * 15, callback=lambda m: returns.append(m["episode_return"]))
    assert returns[-1] > returns[0]


@pytest.mark.parametrize("recurrent", [False, True])
def test_training_pass_reproduces_the_collection_pass(recurrent):
    """Before any update, log-probabilities and values recomputed on the training batches (with
    the stored GRU states at chunk starts) equal what collection recorded."""
    algo = MAPPO(lambda: DyingAgentsEnv(masked=True), n_envs=3, n_steps=20, recurrent=recurrent, chunk_length=5)
    algo.collector.collect(list(algo.models), algo.storages, 20)
    batch = algo.prepare_batch(0)
    generator = torch.Generator().manual_seed(0)
    count = 0
    with torch.no_grad():
        for minibatch in batch.minibatches(16 if not recurrent else 20, generator, recurrent, 5):
            evaluation = algo.evaluate(0, minibatch)
            mask = (
                minibatch.mask.bool()
                if minibatch.mask is not None
                else torch.ones_like(minibatch.old_log_probs, dtype=torch.bool)
            )
            assert torch.allclose(evaluation.log_probs[mask], minibatch.old_log_probs[mask], atol=1e-5)
            assert torch.allclose(evaluation.values[mask], minibatch.old_values[mask], atol=1e-5)
            count += int(mask.sum())
    assert count == int(batch.alive.sum())


def test_actor_head_follows_the_action_space():
    config = PPOConfig()
    layout = ObservationLayout(spaces.Box(-1, 1, (3,)))
    space = spaces.Dict(
        {"move": spaces.MultiDiscrete([3, 3]), "grab": spaces.Discrete(2), "force": spaces.Box(-1, 1, (2,))}
    )
    actor = Actor(layout, space, 0, config)
    distribution, _ = actor(torch.zeros(1, 4, 3))
    assert distribution.sample().shape == (4, 2 + 1 + 2)


def test_first_minibatch_ratio_is_one_with_observation_normalisation():
    from agents.rules import ppo

    algo = PPO("CartPole-v1", n_envs=2, n_steps=32, normalize_observations=True, n_epochs=1)
    gaps = []

    class CheckingRule:
        @staticmethod
        def update(learner, g, batch):
            minibatch = batch.full(False)
            with torch.no_grad():
                evaluation = learner.evaluate(g, minibatch)
            gaps.append(float((evaluation.log_probs - minibatch.old_log_probs).abs().max()))
            return ppo.update(learner, g, batch)

    algo.rule = CheckingRule
    algo.learn(3 * 64)
    assert len(gaps) == 3 and max(gaps) < 1e-5


def test_auto_observation_normalisation_covers_unbounded_boxes_only():
    def normalised(space, setting="auto"):
        encoder = make_encoder(ObservationLayout(space), setting, layer_norm=False)
        return isinstance(encoder, FlatEncoder) and encoder.normalizer is not None

    assert normalised(spaces.Box(-np.inf, np.inf, (4,)))
    assert normalised(spaces.Box(np.array([0.0, -np.inf]), np.array([1.0, 1.0])))  # one unbounded entry suffices
    assert not normalised(spaces.Box(0.0, 1.0, (4,)))
    assert not normalised(spaces.Discrete(5))
    board = spaces.Box(0, 1, (3, 3, 2), np.int8)
    assert not normalised(spaces.Dict({"observation": board, "action_mask": spaces.Box(0, 1, (9,), np.int8)}))
    assert normalised(spaces.Dict({"position": spaces.Box(-np.inf, np.inf, (2,)), "flag": spaces.Discrete(2)}))
    assert normalised(spaces.Box(0.0, 1.0, (4,)), True) and not normalised(spaces.Box(-np.inf, np.inf, (4,)), False)
