"""Actor and critic networks, with the observation encoder chosen from the space.

Observations travel through the learner as flat float vectors (see
:class:`agents.observation_layout.ObservationLayout`; Dict and Tuple spaces nest to any depth);
an encoder knows how to read their structure back:

- Box vectors (and anything flattenable): the flat vector itself, optionally LayerNorm-ed;
- Box images ``[H, W, C]`` (``C`` in 1, 3, 4 and ``H, W >= 8``), at the top or anywhere inside
  a Dict or Tuple: a small CNN each, its features joined to those of the other parts;
- parts that come in pairs ``name`` ``[N, F]`` / ``name_mask`` ``[N]`` side by side at any depth
  (entity lists, like the arena's): an entity encoder - per-kind embeddings, masked residual
  self-attention over the agent itself plus every entity, masked mean pooling;
- a PettingZoo ``{"observation": ..., "action_mask": ...}`` dict: the observation part (of any
  structure) is encoded, the action mask is read by the learner and never fed to the network.

Actor: encoder -> [agent-id one-hot] -> MLP -> optional GRU -> action head (from the core).
Critic: the same on the critic's input -> linear value. Time-major inputs ``[T, B, D]``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import Tensor, nn

from agents.core.distributions import make_action_head
from agents.core.networks import MLP, GRUBlock, orthogonal_init
from agents.core.normalization import ObservationNormalizer, ValueNorm
from agents.observation_layout import ACTION_MASK_KEY, ObservationLayout, Part

__all__ = [
    "ACTION_MASK_KEY",
    "Actor",
    "Critic",
    "EntityEncoder",
    "FlatEncoder",
    "GroupModel",
    "ImageEncoder",
    "MixedEncoder",
    "ObservationLayout",
    "Part",
    "Trunk",
    "encoder_normalizers",
    "entity_keys_of",
    "make_encoder",
]


def _is_image(shape: tuple[int, ...]) -> bool:
    return len(shape) == 3 and shape[-1] in (1, 3, 4) and shape[0] >= 8 and shape[1] >= 8


class FlatEncoder(nn.Module):
    """Reads the selected parts of a flat vector; optional running normalisation and LayerNorm."""

    def __init__(self, layout: ObservationLayout, exclude: tuple[str, ...], normalize: bool, layer_norm: bool) -> None:
        super().__init__()
        self.slices = [(p.start, p.stop) for p in layout.parts if p.key not in exclude]
        self.output_dim = sum(stop - start for start, stop in self.slices)
        self.contiguous = len(self.slices) == 1 and self.slices[0] == (0, layout.dim)
        self.normalizer = ObservationNormalizer(self.output_dim) if normalize else None
        self.layer_norm = nn.LayerNorm(self.output_dim) if layer_norm else None

    def select(self, x: Tensor) -> Tensor:
        """The encoder's raw input (before normalisation) from the flat vector."""
        if self.contiguous:
            return x
        return torch.cat([x[..., start:stop] for start, stop in self.slices], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.select(x)
        if self.normalizer is not None:
            x = self.normalizer.normalize(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return x


class ImageEncoder(nn.Module):
    """A small CNN for ``[H, W, C]`` images (pixel values scaled to [0, 1] when above 1)."""

    def __init__(self, part: Part, scale: float, output_dim: int = 128) -> None:
        super().__init__()
        self.part = part
        self.scale = scale
        height, width, channels = part.shape
        self.conv = nn.Sequential(
            nn.Conv2d(channels, 16, kernel_size=3, stride=2),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, stride=2),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.conv(torch.zeros(1, channels, height, width)).shape[1]
        self.linear = nn.Linear(n_flat, output_dim)
        for module in self.conv:
            if isinstance(module, nn.Conv2d):
                orthogonal_init(module, math.sqrt(2))
        orthogonal_init(self.linear, math.sqrt(2))
        self.output_dim = output_dim

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        image = x[..., self.part.start : self.part.stop].reshape(-1, *self.part.shape).permute(0, 3, 1, 2)
        features = torch.relu(self.linear(self.conv(image / self.scale)))
        return features.reshape(*lead, self.output_dim)


class EntityEncoder(nn.Module):
    """Entity embeddings + masked residual self-attention + masked mean pooling.

    The agent's own features (every non-entity part, concatenated) form one token that is
    always present; each entity kind ``name [N, F]`` with its ``name_mask [N]`` is embedded by
    its own linear layer. Attention never attends to masked entities and pooling averages
    over the present tokens only, so absent entities change nothing.
    """

    def __init__(
        self,
        layout: ObservationLayout,
        entity_keys: list[str],
        embed_dim: int = 64,
        heads: int = 4,
        exclude: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.entities = []
        for key in entity_keys:
            data, mask = layout.part(key), layout.part(key + "_mask")
            self.entities.append((data, mask))
        self_parts = [
            p
            for p in layout.parts
            if p.key not in entity_keys
            and not (p.key or "").endswith("_mask")
            and p.key != ACTION_MASK_KEY
            and p.key not in exclude
        ]
        self.self_slices = [(p.start, p.stop) for p in self_parts]
        self_dim = sum(stop - start for start, stop in self.self_slices)
        self.self_embed = nn.Linear(max(self_dim, 1), embed_dim)
        self.entity_embeds = nn.ModuleList(nn.Linear(data.shape[1], embed_dim) for data, _ in self.entities)
        self.attention = nn.MultiheadAttention(embed_dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(embed_dim)
        for layer in [self.self_embed, *self.entity_embeds]:
            orthogonal_init(layer, math.sqrt(2))
        self.output_dim = 2 * embed_dim
        # Columns of the agent's own features and of every entity mask, gathered in one
        # indexing operation each (buffers that move with the module but are not saved: the
        # state dict is unchanged).
        self.self_columns: Tensor
        self.mask_columns: Tensor
        self.register_buffer(
            "self_columns",
            torch.tensor([i for a, b in self.self_slices for i in range(a, b)], dtype=torch.long),
            persistent=False,
        )
        self.register_buffer(
            "mask_columns",
            torch.tensor([i for _, mask in self.entities for i in range(mask.start, mask.stop)], dtype=torch.long),
            persistent=False,
        )

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        x = x.reshape(-1, x.shape[-1])
        batch = x.shape[0]
        if self.self_slices:
            own = x[:, self.self_columns]
        else:
            own = torch.zeros(batch, 1, dtype=x.dtype, device=x.device)
        own_token = torch.relu(F.linear(own, self.self_embed.weight, self.self_embed.bias)).unsqueeze(1)
        tokens = [own_token]
        for (data, _), embed in zip(self.entities, self.entity_embeds):
            values = x[:, data.start : data.stop].reshape(batch, *data.shape)
            tokens.append(torch.relu(F.linear(values, embed.weight, embed.bias)))
        sequence = torch.cat(tokens, dim=1)
        present = torch.cat(
            [torch.ones(batch, 1, dtype=torch.bool, device=x.device), x[:, self.mask_columns] > 0.5], dim=1
        )
        attended = self._attend(sequence, ~present)
        norm = self.norm
        sequence = F.layer_norm(sequence + attended, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        weights = present.to(sequence.dtype).unsqueeze(-1)
        pooled = (sequence * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        out = torch.cat([own_token.squeeze(1), pooled], dim=-1)
        return out.reshape(*lead, self.output_dim)

    def _attend(self, sequence: Tensor, absent: Tensor) -> Tensor:
        """``self.attention(sequence, sequence, sequence, key_padding_mask=absent,
        need_weights=False)[0]`` for ``sequence [B, S, E]``, computed for few tokens.

        The softmax over the keys runs on the scores transposed to ``[S_keys, B * heads * S]``,
        so it reduces along a leading axis while vectorising over the long one; over a last axis
        of a few tokens torch's softmax (and its fused CPU attention) is several times slower,
        forward and backward. Every other step is the module's own arithmetic.
        """
        attention = self.attention
        batch, tokens, embed_dim = sequence.shape
        heads = attention.num_heads
        head_dim = embed_dim // heads

        proj = F.linear(sequence, attention.in_proj_weight, attention.in_proj_bias)
        # [B, S, 3 * E] -> [3, B * H, S, Dh]
        q, k, v = (
            proj.view(batch, tokens, 3, heads, head_dim)
            .permute(2, 0, 3, 1, 4)
            .reshape(3, batch * heads, tokens, head_dim)
        )
        padding = torch.zeros(batch, 1, tokens, dtype=sequence.dtype, device=sequence.device)
        padding = padding.masked_fill_(absent.unsqueeze(1), float("-inf"))
        padding = padding.expand(batch, heads, tokens).reshape(batch * heads, 1, tokens)
        scores = torch.baddbmm(padding, q, k.transpose(1, 2), alpha=head_dim**-0.5)  # [B * H, S, S_keys]
        weights = torch.softmax(scores.view(-1, tokens).t(), dim=0).t().view(batch * heads, tokens, tokens)
        out = (
            torch.bmm(weights, v).view(batch, heads, tokens, head_dim).transpose(1, 2).reshape(batch, tokens, embed_dim)
        )
        return F.linear(out, attention.out_proj.weight, attention.out_proj.bias)


def entity_keys_of(layout: ObservationLayout) -> list[str]:
    """Keys that form entity lists: ``name [N, F]`` with a companion ``name_mask [N]``."""
    keys = []
    for part in layout.parts:
        if part.key is None or part.key.endswith("_mask"):
            continue
        mask = layout.part(part.key + "_mask")
        if mask is not None and len(part.shape) == 2 and mask.shape == (part.shape[0],):
            keys.append(part.key)
    return keys


def make_encoder(
    layout: ObservationLayout, normalize: bool | str, layer_norm: bool, embed_dim: int = 64, heads: int = 4
) -> nn.Module:
    """Choose the encoder for a layout: CNNs for images, then the entity encoder (``embed_dim``
    wide, ``heads`` attention heads) or the flat vector for the other parts (normalised as
    :func:`normalizes` says)."""
    inputs = [p for p in layout.parts if p.key != ACTION_MASK_KEY]
    images = [p for p in inputs if _is_image(p.shape)]
    if len(images) == 1 and len(inputs) == 1:
        return _image_encoder(layout, images[0])
    image_keys = tuple(str(p.key) for p in images)
    entity_keys = entity_keys_of(layout)
    if entity_keys:
        rest: nn.Module | None = EntityEncoder(layout, entity_keys, embed_dim, heads, exclude=image_keys)
    elif len(images) < len(inputs):
        exclude = (ACTION_MASK_KEY, *image_keys)
        rest = FlatEncoder(layout, exclude, normalizes(layout, exclude, normalize), layer_norm)
    else:
        rest = None
    if not images:
        assert rest is not None
        return rest
    return MixedEncoder([_image_encoder(layout, p) for p in images], rest)


def normalizes(layout: ObservationLayout, exclude: tuple[str, ...], setting: bool | str) -> bool:
    """Whether the flat parts (all but ``exclude``) get running normalisation: as ``setting``
    says, or with ``"auto"`` when one of them is a Box with an infinite bound."""
    if setting != "auto":
        return bool(setting)
    parts = [layout.subspace(part) for part in layout.parts if part.key not in exclude]
    return any(
        isinstance(space, spaces.Box) and not (np.isfinite(space.low).all() and np.isfinite(space.high).all())
        for space in parts
    )


def _image_encoder(layout: ObservationLayout, part: Part) -> ImageEncoder:
    """A CNN for the image ``part``, its pixels scaled by the space's upper bound when above 1."""
    space = layout.subspace(part) if part.key is not None else layout.space
    high = float(np.max(space.high)) if isinstance(space, spaces.Box) else 1.0
    return ImageEncoder(part, scale=high if high > 1.0 else 1.0)


class MixedEncoder(nn.Module):
    """Images inside a structured observation: a CNN per image, and one encoder for the other
    parts (entity or flat); their features are concatenated."""

    def __init__(self, images: list[ImageEncoder], rest: nn.Module | None) -> None:
        super().__init__()
        self.images = nn.ModuleList(images)
        self.rest = rest
        self.output_dim = sum(image.output_dim for image in images) + (rest.output_dim if rest is not None else 0)

    def forward(self, x: Tensor) -> Tensor:
        features = [image(x) for image in self.images]
        if self.rest is not None:
            features.append(self.rest(x))
        return torch.cat(features, dim=-1)


class Trunk(nn.Module):
    """Encoder -> [one-hot] -> MLP -> optional GRU: the shared body of actor and critic."""

    def __init__(
        self,
        layout: ObservationLayout,
        extra_dim: int,
        hidden_sizes: tuple[int, ...],
        activation: str,
        layer_norm: bool,
        normalize: bool | str,
        recurrent_hidden_size: int | None,
        entity_embed_dim: int,
        attention_heads: int,
    ) -> None:
        super().__init__()
        self.encoder = make_encoder(layout, normalize, layer_norm, entity_embed_dim, attention_heads)
        # A plain vector needs no encoder pass (saves a module call per forward when acting).
        self.identity_encoder = (
            isinstance(self.encoder, FlatEncoder)
            and self.encoder.contiguous
            and self.encoder.normalizer is None
            and self.encoder.layer_norm is None
        )
        self.mlp = MLP(self.encoder.output_dim + extra_dim, tuple(hidden_sizes), activation, layer_norm)
        self.gru = GRUBlock(self.mlp.output_dim, recurrent_hidden_size) if recurrent_hidden_size else None
        self.output_dim = recurrent_hidden_size if recurrent_hidden_size else self.mlp.output_dim
        self.hidden_size = recurrent_hidden_size or 0

    @classmethod
    def from_config(cls, layout: ObservationLayout, extra_dim: int, config) -> "Trunk":
        """The trunk a learner config describes (sizes, activation, normalisation, recurrence,
        the entity encoder's width and heads)."""
        return cls(
            layout,
            extra_dim,
            config.hidden_sizes,
            config.activation,
            config.feature_normalization,
            config.normalize_observations,
            config.recurrent_hidden_size if config.recurrent else None,
            config.entity_embed_dim,
            config.attention_heads,
        )

    def forward(
        self, x: Tensor, extra: Tensor | None, hidden: Tensor | None, episode_starts: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """``x [T, B, D]`` -> features ``[T, B, F]`` and the next hidden state."""
        features = x if self.identity_encoder else self.encoder(x)
        if extra is not None:
            features = torch.cat([features, extra], dim=-1)
        # Submodules are run through .forward: module dispatch costs more than these small
        # layers on the few rows of an acting step (no hooks are used on them).
        features = self.mlp.forward(features)
        if self.gru is None:
            return features, None
        return self.gru.forward(features, hidden, episode_starts)


class Actor(nn.Module):
    """Policy of one group: trunk plus the core's action head for the group's action space."""

    def __init__(self, layout: ObservationLayout, action_space: spaces.Space, extra_dim: int, config) -> None:
        super().__init__()
        self.trunk = Trunk.from_config(layout, extra_dim, config)
        self.head = make_action_head(action_space, self.trunk.output_dim)

    def forward(self, x, extra=None, hidden=None, episode_starts=None, action_mask=None):
        """Distribution over actions for time-major inputs, flattened to ``[T*B]`` rows."""
        features, hidden = self.trunk.forward(x, extra, hidden, episode_starts)
        flat = features.reshape(-1, features.shape[-1])
        mask = action_mask.reshape(flat.shape[0], -1) if action_mask is not None else None
        return self.head.forward(flat, action_mask=mask), hidden


class Critic(nn.Module):
    """Value function of one group on its critic input (observation or state)."""

    def __init__(self, layout: ObservationLayout, extra_dim: int, config) -> None:
        super().__init__()
        self.trunk = Trunk.from_config(layout, extra_dim, config)
        self.value = nn.Linear(self.trunk.output_dim, 1)
        orthogonal_init(self.value, 1.0)

    def forward(self, x, extra=None, hidden=None, episode_starts=None):
        """Values ``[T, B]`` and the next hidden state."""
        features, hidden = self.trunk.forward(x, extra, hidden, episode_starts)
        return F.linear(features, self.value.weight, self.value.bias).squeeze(-1), hidden


class GroupModel(nn.Module):
    """Actor, critic and (optionally) the value normaliser of one policy group."""

    def __init__(self, actor: Actor, critic: Critic, value_norm: ValueNorm | None) -> None:
        super().__init__()
        self.actor = actor
        self.critic = critic
        self.value_norm = value_norm

    def denormalize(self, values: Tensor) -> Tensor:
        """Critic outputs on the return scale."""
        return self.value_norm.denormalize(values) if self.value_norm is not None else values


def encoder_normalizers(module: nn.Module) -> list[tuple[FlatEncoder, ObservationNormalizer]]:
    """Every flat encoder with running observation normalisation inside ``module``."""
    return [(m, m.normalizer) for m in module.modules() if isinstance(m, FlatEncoder) and m.normalizer is not None]
