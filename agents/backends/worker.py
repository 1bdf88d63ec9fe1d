"""The worker side of the remote backends: what a worker is sent, what it holds, what it returns."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.backends.interface import Episodes
from agents.collection import build_collection
from agents.core.normalization import RunningMeanStd
from agents.env_resolver import factory_from_id
from agents.environments import to_parallel
from agents.plan import CollectionPlan
from agents.turn_collection import collector_for

#: Storage arrays a fragment carries (advantages and returns are computed by the learner).
FRAGMENT_FIELDS = (
    "observations",
    "critic_observations",
    "actions",
    "log_probs",
    "value_outputs",
    "rewards",
    "terminated",
    "truncated",
    "alive",
    "bootstrap_values",
    "action_masks",
    "actor_hidden",
    "critic_hidden",
    "episode_starts",
    "final_value_outputs",
)


@dataclass(frozen=True)
class EnvIdFactory:
    """A picklable factory of an environment given by id (Gymnasium id or module path)."""

    env_id: str

    def __call__(self) -> Any:
        """A new copy of the environment."""
        return factory_from_id(self.env_id)()


@dataclass
class WorkerSpec:
    """Everything a worker needs to build its slice of the collection (picklable)."""

    index: int
    env_factory: Any
    n_envs: int
    n_steps: int
    plan: CollectionPlan
    models: nn.ModuleList


@dataclass
class PolicyPayload:
    """What the learner broadcasts once per update: the weights of one policy version."""

    version: int
    models: dict[str, torch.Tensor]
    statistics: dict[str, torch.Tensor]


@dataclass
class CollectRequest:
    """One worker's task: ``n_steps`` steps with the given random streams."""

    version: int
    n_steps: int
    streams: dict[str, torch.Tensor]


@dataclass
class Fragment:
    """A worker's slice of a rollout, tagged with the policy version that collected it."""

    worker: int
    version: int
    arrays: list[dict[str, np.ndarray]]
    episodes: Episodes
    reward_statistics: dict[str, torch.Tensor] | None
    streams: dict[str, torch.Tensor]
    resume: dict[str, Any]
    seconds: float = 0.0


class WorkerLost(RuntimeError):
    """A worker died (its process or actor is gone)."""


class WorkerFailed(RuntimeError):
    """A worker raised an error while collecting (a bug or a broken environment, not a lost worker)."""


class RolloutWorker:
    """Holds a slice of the environment copies and a copy of the policy; collects fragments."""

    def __init__(self, spec: WorkerSpec, resume: dict[str, Any] | None = None) -> None:
        torch.set_num_threads(1)
        self.spec = spec
        self.envs = [to_parallel(spec.env_factory()) for _ in range(spec.n_envs)]
        self.models = copy.deepcopy(spec.models)
        self.version: int | None = None
        self.generator = torch.Generator()
        self.reward_statistics = RunningMeanStd((1,)) if spec.plan.normalize_rewards else None
        self.collector, self.storages = build_collection(
            spec.plan, self.envs, spec.n_steps, self.generator, self.reward_statistics, collector_for(self.envs[0])
        )
        if resume is not None:
            self.collector.load_state_dict(resume)

    def collect(self, payload: PolicyPayload, request: CollectRequest) -> Fragment:
        """Collect ``request.n_steps`` steps with the payload's weights and return the fragment."""
        if payload.version != self.version:
            self.models.load_state_dict(payload.models)
            self.version = payload.version
        if self.reward_statistics is not None:
            self.reward_statistics.load_state_dict(payload.statistics)
        self.generator.set_state(request.streams["generator"])
        torch.set_rng_state(request.streams["torch"])
        started = time.perf_counter()
        self.collector.collect(list(self.models), self.storages, request.n_steps)
        seconds = time.perf_counter() - started
        arrays = [
            {name: storage.arrays[name].copy() for name in FRAGMENT_FIELDS if name in storage.arrays}
            for storage in self.storages
        ]
        return Fragment(
            worker=self.spec.index,
            version=self.version,
            arrays=arrays,
            episodes=self.collector.tracker.drain(),
            reward_statistics=(
                {k: v.clone() for k, v in self.reward_statistics.state_dict().items()}
                if self.reward_statistics is not None
                else None
            ),
            streams={"generator": self.generator.get_state(), "torch": torch.get_rng_state()},
            resume=self.collector.state_dict(),
            seconds=seconds,
        )

    def close(self) -> None:
        """Close the environment copies."""
        for env in self.envs:
            close = getattr(env, "close", None)
            if close is not None:
                close()
