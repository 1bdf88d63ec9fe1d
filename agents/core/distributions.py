"""Action distributions, the heads that produce them, and the codec between flat and environment actions.

Inside the learner every action is one float tensor ``[batch, action_dim]`` ("flat actions"):
a Discrete action is one column holding the index, MultiDiscrete one column per component,
Box and MultiBinary one column per (flattened) element, and Dict/Tuple spaces concatenate
their parts in the space's own order. :class:`ActionCodec` converts single flat actions to
and from what the environment expects; :func:`make_action_head` builds the matching
``nn.Module`` that turns features (and an optional action mask) into a distribution.
"""

from __future__ import annotations

import functools
import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, Self, cast

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import Tensor, nn

from agents.core.networks import POLICY_HEAD_GAIN, orthogonal_init

MASKED_LOGIT = -1e9
"""Logit given to masked actions: exp underflows to exactly 0 in float32 and float64."""

SUPPORTED_SPACES = "Discrete, MultiDiscrete, Box, MultiBinary, and Dict or Tuple spaces built from these"

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


class UnsupportedSpaceError(ValueError):
    """An action space the core cannot build a distribution for."""


def _unsupported(space: Any) -> UnsupportedSpaceError:
    return UnsupportedSpaceError(
        f"unsupported action space {type(space).__name__}: {space!r}; supported kinds: {SUPPORTED_SPACES}"
    )


# --------------------------------------------------------------------------------------------
# Distributions


class ActionDistribution(ABC):
    """Interface shared by every action distribution over flat actions ``[..., action_dim]``."""

    action_dim: int

    @abstractmethod
    def sample(self) -> Tensor:
        """Draw one flat action per row: ``[..., action_dim]`` (no gradient)."""

    @abstractmethod
    def mode(self) -> Tensor:
        """Most likely flat action per row (the mean for a Gaussian)."""

    @abstractmethod
    def log_prob(self, actions: Tensor) -> Tensor:
        """Log-probability (density) of flat actions: ``[...]``."""

    @abstractmethod
    def entropy(self) -> Tensor:
        """Entropy per row: ``[...]``."""

    @abstractmethod
    def kl(self, other: ActionDistribution) -> Tensor:
        """KL(self || other) per row: ``[...]``."""

    @abstractmethod
    def detach(self) -> ActionDistribution:
        """The same distribution with parameters cut from the graph (the "old" policy in KL terms)."""

    def sample_with_log_prob(self) -> tuple[Tensor, Tensor]:
        """A sample and its log-probability (what acting needs; parts may compute both at once)."""
        actions = self.sample()
        return actions, self.log_prob(actions)

    def _same_kind(self, other: ActionDistribution) -> Self:
        """``other``, refused unless it is a distribution of this kind."""
        if not isinstance(other, type(self)) or type(other) is not type(self):
            raise TypeError(f"KL between {type(self).__name__} and {type(other).__name__} is undefined")
        return other


def _check_mask(mask: Tensor, logits: Tensor) -> Tensor:
    if mask.shape != logits.shape:
        raise ValueError(f"action_mask has shape {tuple(mask.shape)} but the logits have shape {tuple(logits.shape)}")
    allowed = mask.bool() if mask.dtype == torch.bool else mask != 0
    if not bool(allowed.any(dim=-1).all()):
        raise ValueError(
            "action_mask has a row in which every action is masked; each row needs at least one allowed action"
        )
    return allowed


class CategoricalDistribution(ActionDistribution):
    """Categorical over ``n`` actions; masked actions get logit -1e9 so their probability is exactly 0."""

    action_dim = 1

    def __init__(self, logits: Tensor, mask: Tensor | None = None) -> None:
        if mask is not None:
            logits = logits.masked_fill(~_check_mask(mask, logits), MASKED_LOGIT)
        self.logits = logits
        self.log_probs = torch.log_softmax(logits, dim=-1)

    @property
    def probs(self) -> Tensor:
        """Action probabilities ``[..., n]``."""
        return self.log_probs.exp()

    def sample(self) -> Tensor:
        return self._sample_index().to(self.logits.dtype)

    def sample_with_log_prob(self) -> tuple[Tensor, Tensor]:
        """A sample and the log-probability gathered at its index."""
        index = self._sample_index()
        return index.to(self.logits.dtype), self.log_probs.detach().gather(-1, index).squeeze(-1)

    def _sample_index(self) -> Tensor:
        """Indices ``[..., 1]`` by the Gumbel-max trick: ``argmax(log p - log E)`` with ``E ~ Exp(1)``
        is exactly a draw from ``p``, in elementwise operations over any leading shape (so the
        components of a :class:`StackedCategoricalDistribution` draw at once). ``E`` is kept above
        the smallest normal float, so ``-log E`` stays below 88 and a masked logit (-1e9) never wins."""
        log_probs = self.log_probs.detach()
        noise = torch.empty_like(log_probs).exponential_().clamp_(min=torch.finfo(log_probs.dtype).tiny).log_()
        return (log_probs - noise).argmax(dim=-1, keepdim=True)

    def mode(self) -> Tensor:
        return self.logits.argmax(dim=-1, keepdim=True).to(self.logits.dtype)

    def log_prob(self, actions: Tensor) -> Tensor:
        index = actions.long()
        if index.dim() == self.log_probs.dim() - 1:
            index = index.unsqueeze(-1)
        return self.log_probs.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        return -(self.probs * self.log_probs).sum(dim=-1)

    def kl(self, other: ActionDistribution) -> Tensor:
        other = self._same_kind(other)
        return (self.probs * (self.log_probs - other.log_probs)).sum(dim=-1)

    def detach(self) -> CategoricalDistribution:
        return CategoricalDistribution(self.logits.detach())


class DiagGaussianDistribution(ActionDistribution):
    """Diagonal Gaussian; ``log_std`` may be state-independent (``[action_dim]``) and is broadcast."""

    def __init__(self, mean: Tensor, log_std: Tensor) -> None:
        self.mean = mean
        self.log_std = log_std.expand_as(mean)
        self.action_dim = mean.shape[-1]

    def sample(self) -> Tensor:
        with torch.no_grad():
            return self.mean + torch.exp(self.log_std) * torch.randn_like(self.mean)

    def mode(self) -> Tensor:
        return self.mean

    def sample_with_log_prob(self) -> tuple[Tensor, Tensor]:
        """``mean + std * noise`` (as :meth:`sample`); the log-density follows from the noise."""
        with torch.no_grad():
            noise = torch.randn_like(self.mean)
            actions = self.mean + torch.exp(self.log_std) * noise
            log_prob = (-0.5 * noise**2 - self.log_std - _HALF_LOG_TWO_PI).sum(dim=-1)
        return actions, log_prob

    def log_prob(self, actions: Tensor) -> Tensor:
        z = (actions - self.mean) * torch.exp(-self.log_std)
        return (-0.5 * z**2 - self.log_std - _HALF_LOG_TWO_PI).sum(dim=-1)

    def entropy(self) -> Tensor:
        return (0.5 + _HALF_LOG_TWO_PI + self.log_std).sum(dim=-1)

    def kl(self, other: ActionDistribution) -> Tensor:
        other = self._same_kind(other)
        var_ratio = torch.exp(2.0 * (self.log_std - other.log_std))
        mean_term = ((self.mean - other.mean) * torch.exp(-other.log_std)) ** 2
        return (other.log_std - self.log_std + 0.5 * (var_ratio + mean_term) - 0.5).sum(dim=-1)

    def detach(self) -> DiagGaussianDistribution:
        return DiagGaussianDistribution(self.mean.detach(), self.log_std.detach())


class BernoulliDistribution(ActionDistribution):
    """Independent Bernoulli per element (MultiBinary); actions are 0.0 / 1.0."""

    def __init__(self, logits: Tensor) -> None:
        self.logits = logits
        self.action_dim = logits.shape[-1]

    def sample(self) -> Tensor:
        with torch.no_grad():
            return torch.bernoulli(torch.sigmoid(self.logits))

    def mode(self) -> Tensor:
        return (self.logits > 0).to(self.logits.dtype)

    def log_prob(self, actions: Tensor) -> Tensor:
        return -F.binary_cross_entropy_with_logits(self.logits, actions.to(self.logits.dtype), reduction="none").sum(-1)

    def entropy(self) -> Tensor:
        p = torch.sigmoid(self.logits)
        return F.binary_cross_entropy_with_logits(self.logits, p, reduction="none").sum(-1)

    def kl(self, other: ActionDistribution) -> Tensor:
        other = self._same_kind(other)
        p = torch.sigmoid(self.logits)
        log_p, log_not_p = F.logsigmoid(self.logits), F.logsigmoid(-self.logits)
        log_q, log_not_q = F.logsigmoid(other.logits), F.logsigmoid(-other.logits)
        return (p * (log_p - log_q) + (1.0 - p) * (log_not_p - log_not_q)).sum(-1)

    def detach(self) -> BernoulliDistribution:
        return BernoulliDistribution(self.logits.detach())


class ProductDistribution(ActionDistribution):
    """Independent product of parts, each owning a consecutive slice of the flat action."""

    def __init__(self, parts: Sequence[ActionDistribution]) -> None:
        if not parts:
            raise ValueError("ProductDistribution needs at least one part")
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [part.action_dim for part in self.parts]).tolist()
        self.action_dim = self.offsets[-1]

    def _slices(self, actions: Tensor) -> list[Tensor]:
        if actions.shape[-1] != self.action_dim:
            raise ValueError(f"actions have {actions.shape[-1]} columns but the distribution expects {self.action_dim}")
        return [actions[..., a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def sample(self) -> Tensor:
        return torch.cat([part.sample() for part in self.parts], dim=-1)

    def mode(self) -> Tensor:
        return torch.cat([part.mode() for part in self.parts], dim=-1)

    def sample_with_log_prob(self) -> tuple[Tensor, Tensor]:
        pairs = [part.sample_with_log_prob() for part in self.parts]
        return torch.cat([a for a, _ in pairs], dim=-1), _total(lp for _, lp in pairs)

    def log_prob(self, actions: Tensor) -> Tensor:
        return _total(part.log_prob(a) for part, a in zip(self.parts, self._slices(actions)))

    def entropy(self) -> Tensor:
        return _total(part.entropy() for part in self.parts)

    def kl(self, other: ActionDistribution) -> Tensor:
        other = self._same_kind(other)
        if len(other.parts) != len(self.parts):
            raise TypeError(f"KL between products of {len(self.parts)} and {len(other.parts)} parts is undefined")
        return _total(mine.kl(theirs) for mine, theirs in zip(self.parts, other.parts))

    def detach(self) -> ProductDistribution:
        return type(self)([part.detach() for part in self.parts])


class MultiCategoricalDistribution(ProductDistribution):
    """Independent categoricals, one per MultiDiscrete component."""


class StackedCategoricalDistribution(ActionDistribution):
    """``k`` independent categoricals of one size ``n`` (a MultiDiscrete space whose components
    are equal), held as one categorical over logits ``[..., k, n]``: every operation runs once
    for all components instead of once per component. Flat actions are ``[..., k]``."""

    def __init__(self, logits: Tensor, mask: Tensor | None = None) -> None:
        self.categorical = CategoricalDistribution(logits, mask)
        self.action_dim = logits.shape[-2]

    def sample(self) -> Tensor:
        return self.categorical.sample().squeeze(-1)

    def sample_with_log_prob(self) -> tuple[Tensor, Tensor]:
        actions, log_probs = self.categorical.sample_with_log_prob()
        return actions.squeeze(-1), log_probs.sum(dim=-1)

    def mode(self) -> Tensor:
        return self.categorical.mode().squeeze(-1)

    def log_prob(self, actions: Tensor) -> Tensor:
        if actions.shape[-1] != self.action_dim:
            raise ValueError(f"actions have {actions.shape[-1]} columns but the distribution expects {self.action_dim}")
        return self.categorical.log_prob(actions).sum(dim=-1)

    def entropy(self) -> Tensor:
        return self.categorical.entropy().sum(dim=-1)

    def kl(self, other: ActionDistribution) -> Tensor:
        other = self._same_kind(other)
        return self.categorical.kl(other.categorical).sum(dim=-1)

    def detach(self) -> StackedCategoricalDistribution:
        return StackedCategoricalDistribution(self.categorical.logits.detach())


# --------------------------------------------------------------------------------------------
# Heads


class ActionHead(nn.Module):
    """Maps features ``[..., input_dim]`` (and an optional flat action mask) to an action distribution.

    ``action_dim`` is the width of flat actions and ``mask_dim`` the width of the flat mask
    (0 when nothing in the space can be masked).
    """

    action_dim: int
    mask_dim: int = 0

    def _check_mask_width(self, action_mask: Tensor | None) -> None:
        if action_mask is not None and self.mask_dim == 0:
            raise ValueError(f"{type(self).__name__} has nothing to mask but an action_mask was given")
        if action_mask is not None and action_mask.shape[-1] != self.mask_dim:
            raise ValueError(f"action_mask has {action_mask.shape[-1]} columns, expected mask_dim={self.mask_dim}")


class CategoricalHead(ActionHead):
    """Linear logits over ``n`` actions (Discrete)."""

    def __init__(self, input_dim: int, n: int) -> None:
        super().__init__()
        self.linear = orthogonal_init(nn.Linear(input_dim, n), POLICY_HEAD_GAIN)
        self.action_dim = 1
        self.mask_dim = n

    def forward(self, features: Tensor, action_mask: Tensor | None = None) -> CategoricalDistribution:
        """Categorical over the masked logits."""
        self._check_mask_width(action_mask)
        return CategoricalDistribution(F.linear(features, self.linear.weight, self.linear.bias), action_mask)


class MultiCategoricalHead(ActionHead):
    """One linear layer producing all MultiDiscrete logits, split per component."""

    def __init__(self, input_dim: int, nvec: Sequence[int]) -> None:
        super().__init__()
        self.nvec = [int(n) for n in nvec]
        self.linear = orthogonal_init(nn.Linear(input_dim, sum(self.nvec)), POLICY_HEAD_GAIN)
        self.action_dim = len(self.nvec)
        self.mask_dim = sum(self.nvec)

    def forward(
        self, features: Tensor, action_mask: Tensor | None = None
    ) -> MultiCategoricalDistribution | StackedCategoricalDistribution:
        """Product of categoricals (stacked when the components are equal); ``action_mask`` is
        the per-component masks concatenated."""
        self._check_mask_width(action_mask)
        all_logits = F.linear(features, self.linear.weight, self.linear.bias)
        if len(set(self.nvec)) == 1:
            shape = (*all_logits.shape[:-1], len(self.nvec), self.nvec[0])
            mask = action_mask.reshape(shape) if action_mask is not None else None
            return StackedCategoricalDistribution(all_logits.reshape(shape), mask)
        logits = torch.split(all_logits, self.nvec, dim=-1)
        masks = torch.split(action_mask, self.nvec, dim=-1) if action_mask is not None else [None] * len(logits)
        return MultiCategoricalDistribution([CategoricalDistribution(part, mask) for part, mask in zip(logits, masks)])


class GaussianHead(ActionHead):
    """Linear mean with a state-independent log-std parameter (Box)."""

    def __init__(self, input_dim: int, n: int, log_std_init: float = 0.0) -> None:
        super().__init__()
        self.mean = orthogonal_init(nn.Linear(input_dim, n), POLICY_HEAD_GAIN)
        self.log_std = nn.Parameter(torch.full((n,), float(log_std_init)))
        self.action_dim = n
        self.mask_dim = 0

    def forward(self, features: Tensor, action_mask: Tensor | None = None) -> DiagGaussianDistribution:
        """Diagonal Gaussian around the linear mean."""
        self._check_mask_width(action_mask)
        mean = F.linear(features, self.mean.weight, self.mean.bias)
        return DiagGaussianDistribution(mean, self.log_std.to(mean.dtype))


class BernoulliHead(ActionHead):
    """Linear logits for independent binary actions (MultiBinary)."""

    def __init__(self, input_dim: int, n: int) -> None:
        super().__init__()
        self.linear = orthogonal_init(nn.Linear(input_dim, n), POLICY_HEAD_GAIN)
        self.action_dim = n
        self.mask_dim = 0

    def forward(self, features: Tensor, action_mask: Tensor | None = None) -> BernoulliDistribution:
        """Bernoulli per element."""
        self._check_mask_width(action_mask)
        return BernoulliDistribution(F.linear(features, self.linear.weight, self.linear.bias))


class ProductHead(ActionHead):
    """Heads for the parts of a Dict or Tuple space; flat actions and masks concatenate in part order."""

    def __init__(self, heads: Sequence[ActionHead]) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)
        self.action_dim = sum(head.action_dim for head in heads)
        self.mask_dim = sum(head.mask_dim for head in heads)

    def forward(self, features: Tensor, action_mask: Tensor | None = None) -> ProductDistribution:
        """Product of the parts' distributions, each given its slice of the mask."""
        self._check_mask_width(action_mask)
        parts = []
        offset = 0
        for head in cast("list[ActionHead]", self.heads):
            part_mask = None
            if action_mask is not None and head.mask_dim > 0:
                part_mask = action_mask[..., offset : offset + head.mask_dim]
            offset += head.mask_dim
            parts.append(head.forward(features, part_mask))  # (no module dispatch: small heads, many rows)
        return ProductDistribution(parts)


def _sub_spaces(space: spaces.Space) -> list[spaces.Space]:
    """The parts of a Dict or Tuple space, in order."""
    if isinstance(space, spaces.Dict):
        return list(space.spaces.values())
    if isinstance(space, spaces.Tuple):
        return list(space.spaces)
    raise _unsupported(space)


def _total(terms: Iterable[Tensor]) -> Tensor:
    """``sum(terms)`` of at least one tensor, typed as a tensor (``0 + x`` is ``x`` exactly)."""
    return functools.reduce(operator.add, terms)


def _check_supported(space: Any) -> None:
    if isinstance(space, spaces.Box) and not np.issubdtype(space.dtype, np.floating):
        raise UnsupportedSpaceError(
            f"unsupported action space Box with dtype {space.dtype}: {space!r}; a Box action space must be "
            f"floating point (use Discrete or MultiDiscrete for integers); supported kinds: {SUPPORTED_SPACES}"
        )
    if isinstance(space, (spaces.Dict, spaces.Tuple)) and len(space.spaces) == 0:
        raise UnsupportedSpaceError(
            f"unsupported action space: empty {type(space).__name__}; supported kinds: {SUPPORTED_SPACES}"
        )
    if not isinstance(
        space, (spaces.Discrete, spaces.MultiDiscrete, spaces.Box, spaces.MultiBinary, spaces.Dict, spaces.Tuple)
    ):
        raise _unsupported(space)


def make_action_head(space: spaces.Space, input_dim: int, log_std_init: float = 0.0) -> ActionHead:
    """Build the action head for ``space`` on features of width ``input_dim``.

    Discrete -> masked categorical, MultiDiscrete -> product of categoricals (stacked into one
    when the components are equal), Box -> diagonal
    Gaussian with a state-independent log-std (initialised to ``log_std_init``), MultiBinary ->
    Bernoulli, Dict/Tuple -> product of their parts. Last layers use orthogonal gain 0.01.
    Anything else raises :class:`UnsupportedSpaceError`.
    """
    if int(input_dim) <= 0:
        raise ValueError(f"input_dim must be positive, got {input_dim}")
    _check_supported(space)
    if isinstance(space, spaces.Discrete):
        return CategoricalHead(input_dim, int(space.n))
    if isinstance(space, spaces.MultiDiscrete):
        return MultiCategoricalHead(input_dim, np.asarray(space.nvec).reshape(-1).tolist())
    if isinstance(space, spaces.Box):
        return GaussianHead(input_dim, int(np.prod(space.shape)), log_std_init)
    if isinstance(space, spaces.MultiBinary):
        return BernoulliHead(input_dim, int(np.prod(space.shape)))
    return ProductHead([make_action_head(sub, input_dim, log_std_init) for sub in _sub_spaces(space)])


# --------------------------------------------------------------------------------------------
# Codec


class ActionCodec:
    """Converts one flat action ``np.ndarray[action_dim]`` to the environment's action and back.

    Discrete parts are stored as their index (``start`` removed), Box parts flattened and
    clipped to the bounds on the way to the environment (the learner keeps the unclipped
    sample), MultiBinary parts as 0/1, Dict and Tuple parts concatenated in the space's order.
    """

    def __init__(self, space: spaces.Space) -> None:
        _check_supported(space)
        self.space = space
        self.children: list[ActionCodec] = []
        if isinstance(space, spaces.Discrete):
            self.action_dim, self.mask_dim = 1, int(space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            self.action_dim, self.mask_dim = int(np.prod(space.shape)), int(np.sum(space.nvec))
        elif isinstance(space, (spaces.Box, spaces.MultiBinary)):
            self.action_dim, self.mask_dim = int(np.prod(space.shape)), 0
        else:
            self.children = [ActionCodec(sub) for sub in _sub_spaces(space)]
            self.action_dim = sum(child.action_dim for child in self.children)
            self.mask_dim = sum(child.mask_dim for child in self.children)
        offsets = np.cumsum([0] + [child.action_dim for child in self.children]).tolist()
        self._bounds = list(zip(offsets[:-1], offsets[1:]))

    def to_env(self, flat: Any) -> Any:
        """Environment action for one flat action (ints for discrete parts, dict/tuple for Dict/Tuple)."""
        flat = np.asarray(flat.detach().cpu() if isinstance(flat, Tensor) else flat).reshape(1, -1)
        if flat.shape[1] != self.action_dim:
            raise ValueError(f"flat action has {flat.shape[1]} elements, expected action_dim={self.action_dim}")
        return self.to_env_batch(flat)[0]

    def to_env_batch(self, flat: np.ndarray) -> list[Any]:
        """Environment actions for the rows of ``flat [N, action_dim]``, converted in one pass per part."""
        if flat.ndim != 2 or flat.shape[1] != self.action_dim:
            raise ValueError(f"flat actions have shape {flat.shape}, expected [N, action_dim={self.action_dim}]")
        space = self.space
        n = flat.shape[0]
        if isinstance(space, spaces.Discrete):
            return (np.rint(flat[:, 0]).astype(np.int64) + int(space.start)).tolist()
        if isinstance(space, spaces.MultiDiscrete):
            indices = np.rint(flat).astype(space.dtype).reshape(n, *space.shape) + space.start
            return list(indices.astype(space.dtype))
        if isinstance(space, spaces.Box):
            return list(np.clip(flat.reshape(n, *space.shape), space.low, space.high).astype(space.dtype))
        if isinstance(space, spaces.MultiBinary):
            return list(np.rint(flat).astype(space.dtype).reshape(n, *space.shape))
        columns = [child.to_env_batch(flat[:, a:b]) for child, (a, b) in zip(self.children, self._bounds)]
        if isinstance(space, spaces.Dict):
            keys = list(space.spaces.keys())
            return [dict(zip(keys, parts)) for parts in zip(*columns)]
        return [tuple(parts) for parts in zip(*columns)]

    def from_env(self, action: Any) -> np.ndarray:
        """Flat float32 action ``[action_dim]`` for an environment action."""
        space = self.space
        if isinstance(space, spaces.Dict):
            if not isinstance(action, dict) or set(action) != set(space.spaces):
                raise ValueError(f"action must be a dict with keys {list(space.spaces)}, got {action!r}")
            return np.concatenate([c.from_env(action[k]) for c, k in zip(self.children, space.spaces)])
        if isinstance(space, spaces.Tuple):
            if len(action) != len(self.children):
                raise ValueError(f"action must be a tuple of {len(self.children)} parts, got {action!r}")
            return np.concatenate([c.from_env(a) for c, a in zip(self.children, action)])
        array = np.asarray(action)
        if isinstance(space, (spaces.Discrete, spaces.MultiDiscrete)):
            array = array - space.start
        flat = array.astype(np.float32).reshape(-1)
        if flat.shape[0] != self.action_dim:
            raise ValueError(f"action {action!r} does not fit {space!r}")
        return flat
