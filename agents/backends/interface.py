"""The rollout backend interface and the default in-process backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from agents.collection import Collector
from agents.models import GroupModel
from agents.plan import CollectionPlan
from agents.rollout import RolloutStorage

Episodes = tuple[dict[str, list[float]], list[int], dict[str, list[float]]]


@dataclass
class BackendSetup:
    """What a backend builds its collection from, and where the env copies stand.

    ``plan``, ``env_factory`` (picklable, returning any environment the learner accepts),
    ``n_envs``, ``n_steps``, ``seed`` and ``models`` (the networks workers copy) describe the
    collection. ``generator`` is the learner's random
    stream 0: reset seeds are drawn from it, in this process or by worker 0 (which receives its
    state and hands it back). ``collector`` steps the learner's own env copies. ``resume`` is
    the state the env copies stand in (:meth:`RolloutBackend.state_dict` of the backend before);
    ``collector_current`` says whether ``collector`` already holds it (the backend before ran
    in this process).
    """

    plan: CollectionPlan
    env_factory: Any
    n_envs: int
    n_steps: int
    seed: int
    models: nn.ModuleList
    generator: torch.Generator
    collector: Collector
    resume: dict[str, Any]
    collector_current: bool


class RolloutBackend(ABC):
    """Collects rollouts for a learner; all backends fill the storage the same way."""

    name: str = ""

    @abstractmethod
    def bind(self, setup: BackendSetup) -> None:
        """Build the collection ``setup`` describes, continuing from where the env copies stand."""

    @abstractmethod
    def collect(
        self,
        models: nn.ModuleList,
        statistics: nn.ModuleDict,
        storages: list[RolloutStorage],
        n_steps: int,
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

    def close(self) -> None:  # noqa: B027 (a backend without workers has nothing to release)
        """Release workers and environments the backend started."""


class InProcessBackend(RolloutBackend):
    """The learner's own collector, stepping its environment copies in this process."""

    name = "inprocess"

    def __init__(self) -> None:
        self.collector: Collector | None = None
        self.worker_streams: list[dict[str, torch.Tensor]] | None = None

    def bind(self, setup: BackendSetup) -> None:
        """Use the learner's own collector, replaying its env copies to ``setup.resume`` unless
        they are there already."""
        self.collector = setup.collector
        if setup.collector_current:
            self.worker_streams = setup.resume.get("worker_streams")
        else:
            self.load_state_dict(setup.resume)

    def collect(
        self,
        models: nn.ModuleList,
        statistics: nn.ModuleDict,
        storages: list[RolloutStorage],
        n_steps: int,
        policy_version: int,
    ) -> None:
        """Step the learner's env copies (``statistics`` are updated in place by its reward scaler)."""
        self._collector().collect(cast(list[GroupModel], list(models)), storages, n_steps)

    def drain_episodes(self) -> Episodes:
        """The collector's finished episodes."""
        return self._collector().tracker.drain()

    def state_dict(self) -> dict[str, Any]:
        """The collector's resume data (plus other workers' random streams a checkpoint carried)."""
        state = self._collector().state_dict()
        if self.worker_streams is not None:
            state["worker_streams"] = self.worker_streams
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replay every env copy to its saved state."""
        self.worker_streams = state.get("worker_streams")
        self._collector().load_state_dict(state)

    def _collector(self) -> Collector:
        if self.collector is None:
            raise RuntimeError("the in-process backend is not bound to a learner yet (see Learner.use_backend)")
        return self.collector
