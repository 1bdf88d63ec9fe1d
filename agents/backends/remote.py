"""Collection split along the env axis over workers: broadcast, gather, version checks, replacements."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from agents.backends.env_axis import (
    derived_streams,
    env_bounds,
    merge_collector_states,
    merge_running_statistics,
    split_collector_state,
)
from agents.backends.interface import BackendSetup, Episodes, RolloutBackend
from agents.backends.pools import SubprocessWorkerPool, WorkerPool
from agents.backends.worker import (
    CollectRequest,
    Fragment,
    PolicyPayload,
    WorkerLost,
    WorkerSpec,
)
from agents.environments import notice
from agents.rollout import RolloutStorage

#: How often one worker may fail (die or answer with a stale version) within one collection.
MAX_RETRIES_PER_COLLECTION = 3


@dataclass
class WorkerRecord:
    """What the learner keeps per worker to replace it: its spec, resume data and random streams."""

    spec: WorkerSpec
    resume: dict[str, Any] | None
    streams: dict[str, torch.Tensor] | None
    retries: int = 0


class RemoteBackend(RolloutBackend):
    """Collection split along the env axis over ``workers`` workers reached through a pool."""

    name = "remote"

    def __init__(self, pool: WorkerPool, workers: int) -> None:
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        self.pool = pool
        self.workers = workers
        self.records: list[WorkerRecord] = []
        self.bounds: list[tuple[int, int]] = []
        self.setup: BackendSetup | None = None
        self.started_from: dict[str, Any] = {}
        self.episodes: list[Episodes] = []
        self.restarts = 0
        self.stale_fragments = 0
        self.last_versions: list[int] = []
        self.timings = {"broadcast_seconds": 0.0, "worker_collect_seconds": 0.0}

    # ------------------------------------------------------------------------- setup
    def bind(self, setup: BackendSetup) -> None:
        """Split the env copies over the workers and start them from where the copies stand."""
        if self.workers > setup.n_envs:
            raise ValueError(
                f"workers ({self.workers}) must be <= n_envs ({setup.n_envs}): each worker holds at least one "
                "environment copy; raise n_envs or lower workers"
            )
        self.setup = setup
        self.bounds = env_bounds(setup.n_envs, self.workers)
        state = setup.resume
        self.records = [
            WorkerRecord(
                WorkerSpec(w, setup.env_factory, stop - start, setup.n_steps, setup.plan, setup.models), None, None
            )
            for w, (start, stop) in enumerate(self.bounds)
        ]
        self._restore(state)

    def _bound(self) -> BackendSetup:
        if self.setup is None:
            raise RuntimeError("the backend is not bound to a learner yet (see Learner.use_backend)")
        return self.setup

    def _restore(self, state: dict[str, Any]) -> None:
        """Start every worker from a merged collector state (and saved streams if any)."""
        setup = self._bound()
        self.started_from = state
        group_sizes = [group.size for group in setup.plan.policy_groups]
        parts = split_collector_state(state, self.bounds, group_sizes) if state["started"] else [None] * self.workers
        saved_streams = state.get("worker_streams")
        for w, (record, part) in enumerate(zip(self.records, parts)):
            record.resume = part
            if w > 0:
                usable = saved_streams is not None and len(saved_streams) == self.workers
                record.streams = saved_streams[w] if usable else derived_streams(setup.seed, w)
            self.pool.start(record.spec, record.resume)

    # ---------------------------------------------------------------------- collection
    def _streams(self, w: int) -> dict[str, torch.Tensor]:
        if w == 0:
            return {"generator": self._bound().generator.get_state(), "torch": torch.get_rng_state()}
        return self.records[w].streams

    def collect(self, models, statistics, storages, n_steps, policy_version) -> None:
        """Broadcast the weights, gather one fragment per worker, write them into ``storages``."""
        reward_start = None
        if "discounted_return" in statistics:
            reward_start = {k: v.clone() for k, v in statistics["discounted_return"].state_dict().items()}
        payload = PolicyPayload(
            policy_version,
            {k: v.detach().clone() for k, v in models.state_dict().items()},
            {k: v.clone() for k, v in reward_start.items()} if reward_start is not None else {},
        )
        started = time.perf_counter()
        handle = self.pool.publish(payload)
        self.timings["broadcast_seconds"] = time.perf_counter() - started
        requests = {w: CollectRequest(policy_version, n_steps, self._streams(w)) for w in range(self.workers)}
        for record in self.records:
            record.retries = 0
        for w in range(self.workers):
            self.pool.submit(w, handle, requests[w])
        accepted: dict[int, Fragment] = {}
        while len(accepted) < self.workers:
            for w, result in self.pool.wait():
                if isinstance(result, WorkerLost):
                    self._replace(w, result)
                    self.pool.submit(w, handle, requests[w])
                    continue
                self._keep_resume_data(result)
                if result.version != policy_version:
                    self._drop_stale(result, policy_version)
                    requests[w] = CollectRequest(policy_version, n_steps, result.streams)
                    self.pool.submit(w, handle, requests[w])
                    continue
                accepted[w] = result
        self._write(accepted, storages)
        self.last_versions = [accepted[w].version for w in range(self.workers)]
        self.timings["worker_collect_seconds"] = max(fragment.seconds for fragment in accepted.values())
        if reward_start is not None:
            finals = [accepted[w].reward_statistics for w in range(self.workers)]
            merged = merge_running_statistics(reward_start, finals)
            statistics["discounted_return"].load_state_dict(merged)
        self.episodes.extend(accepted[w].episodes for w in range(self.workers))
        self._bound().generator.set_state(accepted[0].streams["generator"])
        torch.set_rng_state(accepted[0].streams["torch"])

    def _keep_resume_data(self, fragment: Fragment) -> None:
        record = self.records[fragment.worker]
        record.resume = fragment.resume
        if fragment.worker > 0:
            record.streams = fragment.streams

    def _retry(self, w: int, reason: str) -> None:
        record = self.records[w]
        record.retries += 1
        if record.retries > MAX_RETRIES_PER_COLLECTION:
            raise RuntimeError(
                f"worker {w} failed {record.retries} times in one collection (last: {reason}); giving up"
            )

    def _replace(self, w: int, lost: WorkerLost) -> None:
        self._retry(w, str(lost))
        self.restarts += 1
        notice(f"rollout worker {w} was lost ({lost}); started a replacement that re-collects its fragment")
        self.pool.start(self.records[w].spec, self.records[w].resume)

    def _drop_stale(self, fragment: Fragment, version: int) -> None:
        self._retry(fragment.worker, f"stale fragment of version {fragment.version}")
        self.stale_fragments += 1
        notice(
            f"rollout worker {fragment.worker} returned a fragment of policy version {fragment.version} "
            f"while version {version} is current; dropped it and collecting again"
        )

    def _write(self, fragments: dict[int, Fragment], storages: list[RolloutStorage]) -> None:
        for w, (start, stop) in enumerate(self.bounds):
            for storage, arrays in zip(storages, fragments[w].arrays):
                for name, values in arrays.items():
                    if name == "final_value_outputs":
                        storage.arrays[name][start:stop] = values
                    else:
                        storage.arrays[name][:, start:stop] = values

    def drain_episodes(self) -> Episodes:
        """Episodes every worker finished, in worker order."""
        returns: dict[str, list[float]] = {}
        lengths: list[int] = []
        stats: dict[str, list[float]] = {}
        for worker_returns, worker_lengths, worker_stats in self.episodes:
            for name, values in worker_returns.items():
                returns.setdefault(name, []).extend(values)
            lengths.extend(worker_lengths)
            for name, values in worker_stats.items():
                stats.setdefault(name, []).extend(values)
        self.episodes = []
        return returns, lengths, stats

    def metrics(self) -> dict[str, float]:
        """Workers, replacements and dropped stale fragments so far; the last collection's
        broadcast time and its slowest worker's time stepping its env copies."""
        return {
            "backend/workers": float(self.workers),
            "backend/worker_restarts": float(self.restarts),
            "backend/stale_fragments": float(self.stale_fragments),
            **{f"backend/{name}": value for name, value in self.timings.items()},
        }

    # ------------------------------------------------------------------------- resume
    def state_dict(self) -> dict[str, Any]:
        """The workers' resume data joined along the env axis, plus their random streams."""
        if any(record.resume is None for record in self.records):
            state = {key: value for key, value in self.started_from.items() if key != "worker_streams"}
        else:
            state = merge_collector_states([record.resume for record in self.records])
        state["worker_streams"] = [None] + [record.streams for record in self.records[1:]]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restart every worker from ``state`` (split along the env axis)."""
        self._restore(state)

    def close(self) -> None:
        """Stop the workers."""
        self.pool.close()


class SubprocessBackend(RemoteBackend):
    """Workers in local subprocesses: uses several cores of one machine."""

    name = "subprocess"

    def __init__(self, workers: int, start_method: str = "spawn") -> None:
        super().__init__(SubprocessWorkerPool(start_method), workers)
