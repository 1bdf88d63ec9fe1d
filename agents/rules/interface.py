"""What an update rule is, and what it may use of the learner.

A rule is a module with two functions (:class:`UpdateRule`). It sees the learner only through
:class:`UpdateContext`: the hyperparameters, each policy group's networks and optimisers, the
policy and value function evaluated on a minibatch, and the runner that puts independent parts
of an update on threads. Rules import the core and this module, never the learner, so the
learner can load any rule by name without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import torch
from torch import Tensor

from agents.config import LearnerConfig
from agents.core.distributions import ActionDistribution
from agents.models import GroupModel
from agents.rollout import Minibatch, TrainingBatch
from agents.update_threads import UpdateThreads

Optimizers = dict[str, torch.optim.Optimizer]
ConfigT = TypeVar("ConfigT", bound=LearnerConfig, covariant=True)


@dataclass
class Evaluation:
    """Log-probabilities, entropies and values of a minibatch under the current parameters."""

    distribution: ActionDistribution
    log_probs: Tensor
    entropy: Tensor
    values: Tensor | None


class UpdateContext(Protocol[ConfigT]):
    """The part of the learner an update rule may use; ``g`` indexes the policy groups."""

    @property
    def config(self) -> ConfigT:
        """The algorithm's hyperparameters."""
        ...

    @property
    def update_threads(self) -> UpdateThreads:
        """Runs the independent parts of an update serially or on threads, whichever is faster."""
        ...

    def model(self, g: int) -> GroupModel:
        """Actor, critic and value normaliser of group ``g``."""
        ...

    def optimizers(self, g: int) -> Optimizers:
        """The named optimisers of group ``g`` (built by the rule's ``make_optimizers``)."""
        ...

    def evaluate(self, g: int, batch: Minibatch, with_values: bool = True) -> Evaluation:
        """The current policy (and value) of group ``g`` on a minibatch; shapes ``[L, B]``."""
        ...

    def values(self, g: int, batch: Minibatch) -> Tensor:
        """The current value function of group ``g`` on a minibatch; shape ``[L, B]``."""
        ...


class UpdateRule(Protocol):
    """A policy update rule: the optimisers it steps, and one update of one group per rollout."""

    def make_optimizers(self, config: Any, model: GroupModel) -> Optimizers:
        """The named optimisers of one group's model."""
        ...

    def update(self, learner: UpdateContext[Any], g: int, batch: TrainingBatch) -> dict[str, float]:
        """Update group ``g`` on its rollout; returns statistics to log."""
        ...
