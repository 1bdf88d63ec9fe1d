"""The rollout backend interface and the default in-process backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn

from agents.collection import Collector
from agents.rollout import RolloutStorage

Episodes = tuple[dict[str, list[float]], list[int], dict[str, list[float]]]


class RolloutBackend(ABC):
    """Collects rollouts for a learner; all backends fill the storage the same way."""

    name: str = ""

    @abstractmethod
    def bind(self, learner: Any) -> None:
        """Attach to a built learner, taking over its current collection state."""

    @abstractmethod
    def collect(
        self, models: nn.ModuleList, statistics: nn.ModuleDict, storages: list[RolloutStorage], n_steps: int,
        policy_version: int,
    ) -> None:
        """Fill ``storages`` with ``n_steps`` steps of every env copy using policy ``policy_version``."""

    @abstractmethod
    def drain_episodes(self) -> Episodes:
        """Returns per group, lengths and environment statistics of the episodes finished since the last call."""

    def metrics(self) -> dict[str, float]:
        """Backend counters reported with the learner's metrics (none for the in-process backend)."""
        return {}

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Resume data of every env copy, in the format of :meth:`Collector.state_dict`."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the env copies from :meth:`state_dict` (of any backend)."""

    def close(self) -> None:
        """Release workers and environments the backend started."""


class InProcessBackend(RolloutBackend):
    """The learner's own collector, stepping its environment copies in this process."""

    name = "inprocess"

    def __init__(self) -> None:
        self.collector: Collector | None = None
        self.worker_streams: list[dict[str, torch.Tensor]] | None = None

    def bind(self, learner: Any) -> None:
        """Use ``learner.collector``, continuing from where a previous backend left the env copies."""
        self.collector = learner.collector
        previous = getattr(learner, "backend", None)
        if previous is not None and not isinstance(previous, InProcessBackend):
            self.load_state_dict(previous.state_dict())

    def collect(self, models, statistics, storages, n_steps, policy_version) -> None:
        """Step the learner's env copies (``statistics`` are updated in place by its reward scaler)."""
        self.collector.collect(list(models), storages, n_steps)

    def drain_episodes(self) -> Episodes:
        """The collector's finished episodes."""
        return self.collector.tracker.drain()

    def state_dict(self) -> dict[str, Any]:
        """The collector's resume data (plus other workers' random streams a checkpoint carried)."""
        state = self.collector.state_dict()
        if self.worker_streams is not None:
            state["worker_streams"] = self.worker_streams
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replay every env copy to its saved state."""
        self.worker_streams = state.get("worker_streams")
        self.collector.load_state_dict(state)
