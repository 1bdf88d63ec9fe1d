"""Network building blocks: orthogonal initialisation, an MLP torso and a GRU block with episode resets."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import TypeVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}

HIDDEN_GAIN = math.sqrt(2.0)
"""Orthogonal gain of hidden layers (the Stable-Baselines3 and CleanRL convention)."""

POLICY_HEAD_GAIN = 0.01
"""Orthogonal gain of the last policy layer, so the initial policy is close to uniform."""

VALUE_HEAD_GAIN = 1.0
"""Orthogonal gain of the last value layer."""


LayerT = TypeVar("LayerT", bound=nn.Module)


def orthogonal_init(layer: LayerT, gain: float = HIDDEN_GAIN, bias: float = 0.0) -> LayerT:
    """Initialise ``layer.weight`` orthogonally with ``gain`` and its bias to a constant; returns the layer."""
    weight = getattr(layer, "weight", None)
    if weight is None or weight.dim() < 2:
        raise ValueError(f"orthogonal_init needs a layer with a weight matrix, got {type(layer).__name__}")
    nn.init.orthogonal_(weight, gain=gain)
    layer_bias = getattr(layer, "bias", None)
    if layer_bias is not None:
        nn.init.constant_(layer_bias, bias)
    return layer


def activation_class(name: str) -> type[nn.Module]:
    """Look up an activation by name; an unknown name raises a ValueError listing close matches."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), ACTIVATIONS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"activation {name!r} is unknown{hint} (choose from {', '.join(sorted(ACTIVATIONS))})"
        ) from None


class MLP(nn.Module):
    """Fully connected torso: Linear -> activation (-> LayerNorm) per hidden size, orthogonally initialised.

    ``output_dim`` is the width of the last hidden layer (``input_dim`` when there are none).
    LayerNorm follows the activation, as in the MAPPO reference code.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        if int(input_dim) <= 0:
            raise ValueError(f"input_dim must be positive, got {input_dim}")
        hidden_sizes = tuple(int(h) for h in hidden_sizes)
        if any(h <= 0 for h in hidden_sizes):
            raise ValueError(f"hidden_sizes must all be positive, got {hidden_sizes}")
        act = activation_class(activation)
        layers: list[nn.Module] = []
        width = int(input_dim)
        for hidden in hidden_sizes:
            layers.append(orthogonal_init(nn.Linear(width, hidden), HIDDEN_GAIN))
            layers.append(act())
            if layer_norm:
                layers.append(nn.LayerNorm(hidden))
            width = hidden
        self.layers = nn.Sequential(*layers)
        self.input_dim = int(input_dim)
        self.output_dim = width
        # How to run each layer as a plain function: the networks are small, so nn.Module
        # dispatch and attribute lookup are a large share of a forward pass on a few rows
        # (acting). Each step holds the layer's own parameter dict, so it always reads the
        # current parameters (optimisers and load_state_dict update them in place, and a
        # reassigned parameter lands in the same dict). Same kernels, same results; a layer
        # type without a plain form is called as a module.
        self._plan = tuple(
            (_layer_kind(module), cast(dict[str, Tensor], module._parameters), module) for module in self.layers
        )

    def forward(self, x: Tensor) -> Tensor:
        """Map ``[..., input_dim]`` to ``[..., output_dim]``."""
        for kind, parameters, module in self._plan:
            if kind == _LINEAR:
                x = F.linear(x, parameters["weight"], parameters["bias"])
            elif kind == _TANH:
                x = torch.tanh(x)
            elif kind == _RELU:
                x = torch.relu(x)
            elif kind == _LAYER_NORM:
                norm = cast(nn.LayerNorm, module)
                x = F.layer_norm(x, norm.normalized_shape, parameters["weight"], parameters["bias"], norm.eps)
            else:
                x = module(x)
        return x


_LINEAR, _TANH, _RELU, _LAYER_NORM, _MODULE = range(5)


def _layer_kind(module: nn.Module) -> int:
    """Which plain function computes exactly what ``module`` computes (``_MODULE``: none)."""
    if type(module) is nn.Linear:
        return _LINEAR
    if type(module) is nn.Tanh:
        return _TANH
    if type(module) is nn.ReLU and not module.inplace:
        return _RELU
    if type(module) is nn.LayerNorm:
        return _LAYER_NORM
    return _MODULE


class GRUBlock(nn.Module):
    """A single-layer GRU over ``[T, B, D]`` sequences whose hidden state is zeroed where episodes start.

    The sequence is cut at the time steps where any episode starts and ``nn.GRU`` runs over
    each piece, so the cost stays close to one cuDNN/ATen call when episodes are long.
    """

    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        if int(input_dim) <= 0 or int(hidden_dim) <= 0:
            raise ValueError(f"input_dim and hidden_dim must be positive, got {input_dim} and {hidden_dim}")
        self.gru = nn.GRU(int(input_dim), int(hidden_dim))
        for name, parameter in self.gru.named_parameters():
            if name.startswith("weight"):
                nn.init.orthogonal_(parameter)
            else:
                nn.init.zeros_(parameter)
        self.input_dim = int(input_dim)
        self.hidden_dim = int(hidden_dim)
        self.output_dim = int(hidden_dim)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> Tensor:
        """Zero hidden state ``[batch_size, hidden_dim]``."""
        return torch.zeros(batch_size, self.hidden_dim, device=device)

    def forward(self, x: Tensor, hidden: Tensor, episode_starts: Tensor) -> tuple[Tensor, Tensor]:
        """Run ``x[T, B, D]`` from ``hidden[B, H]``; where ``episode_starts[t, b]`` the state is reset first.

        Returns ``(out[T, B, H], hidden[B, H])``.
        """
        if x.dim() != 3:
            raise ValueError(f"x must be [T, B, D], got shape {tuple(x.shape)}")
        steps, batch, _ = x.shape
        if hidden.shape != (batch, self.hidden_dim):
            raise ValueError(f"hidden must be [{batch}, {self.hidden_dim}], got {tuple(hidden.shape)}")
        if episode_starts.shape != (steps, batch):
            raise ValueError(f"episode_starts must be [{steps}, {batch}], got {tuple(episode_starts.shape)}")
        if steps == 0:
            return x.new_zeros(0, batch, self.hidden_dim), hidden
        keep = 1.0 - episode_starts.to(x.dtype)
        if steps == 1:
            # One step (every acting step): the GRU cell itself, without the sequence op's set-up.
            weight_ih, weight_hh, bias_ih, bias_hh = cast(list[Tensor], self.gru.all_weights[0])
            state = torch.gru_cell(x[0], hidden * keep[0].unsqueeze(-1), weight_ih, weight_hh, bias_ih, bias_hh)
            return state.unsqueeze(0), state
        cut_points = torch.nonzero(episode_starts.bool().any(dim=1)).flatten().tolist()
        boundaries = sorted(set([0, *cut_points, steps]))
        outputs = []
        state = hidden
        for begin, end in zip(boundaries[:-1], boundaries[1:]):
            state = state * keep[begin].unsqueeze(-1)
            out, final = self.gru(x[begin:end], state.unsqueeze(0).contiguous())
            outputs.append(out)
            state = final.squeeze(0)
        return torch.cat(outputs, dim=0), state
