"""Rollout backends: where the environment copies live while the learner collects.

Every backend fills the learner's rollout storage ``[T, E, A, ...]`` for one policy version
and reports the finished episodes; the learner cannot tell them apart.

- :class:`InProcessBackend` (the default) steps the learner's own environment copies with
  the learner's own :class:`~agents.collection.Collector`, exactly as the learner always has.
- :class:`RemoteBackend` splits the ``n_envs`` copies along the env axis over ``workers``
  workers. Each worker holds its slice of the environment copies and its own copy of the
  policy; per update the learner publishes the weights once, every worker collects a
  *fragment* of ``n_steps`` steps of its slice, and the fragments are written into the
  storage side by side. Workers run in subprocesses (:class:`SubprocessBackend`), on Ray
  actors (``marl.distributed``) or, for tests, one after another in this process
  (:class:`LocalWorkerPool`).

On-policy correctness: a fragment carries the policy version it was collected with; one from
another version is dropped (never written into the storage) and its worker collects again.

Faults: after every fragment the learner keeps the worker's resume data (reset seed and
actions since the reset of each env copy, running returns, hidden states, its random
streams). A worker that dies is replaced by a new one restored from that data, which
re-collects the same fragment; for deterministic environments the result is identical to
what the lost worker would have returned, so training goes on as if nothing had happened.

Random streams: stream 0 (worker 0) is the learner's own generator and torch random state,
handed to the worker and taken back, so one worker reproduces the in-process backend bit for
bit. Workers 1.. have their own streams derived from the seed, kept by the learner.
"""

from __future__ import annotations

import copy
import multiprocessing
import multiprocessing.connection
import pickle
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.collection import Collector, RewardScaler
from agents.core.normalization import RunningMeanStd
from agents.environments import EnvSource, _factory_from_id, notice, to_parallel
from agents.groups import PolicyGroup
from agents.models import ObservationLayout
from agents.rollout import RolloutStorage

#: Storage arrays a fragment carries (advantages and returns are computed by the learner).
FRAGMENT_FIELDS = (
    "observations", "critic_observations", "actions", "log_probs", "value_outputs", "rewards", "terminated",
    "truncated", "alive", "bootstrap_values", "action_masks", "actor_hidden", "critic_hidden", "episode_starts",
    "final_value_outputs",
)
#: Collector-state entries laid out along the env axis (see :meth:`Collector.state_dict`).
PER_ENV_GROUP_ENTRIES = ("episode_starts", "discounted_returns")
PER_SLOT_GROUP_ENTRIES = ("actor_hidden", "critic_hidden")
#: How often one worker may fail (die or answer with a stale version) within one collection.
MAX_RETRIES_PER_COLLECTION = 3

Episodes = tuple[dict[str, list[float]], list[int], dict[str, list[float]]]


# ------------------------------------------------------------------------------ interface
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


# ------------------------------------------------------------------------ the worker side
@dataclass(frozen=True)
class EnvIdFactory:
    """A picklable factory of an environment given by id (Gymnasium id or module path)."""

    env_id: str

    def __call__(self) -> Any:
        """A new copy of the environment."""
        return _factory_from_id(self.env_id)()


def worker_env_factory(learner: Any) -> Any:
    """The factory workers build their env copies with (by id when the learner has one)."""
    return EnvIdFactory(learner.env_id) if learner.env_id is not None else learner.source.factory


@dataclass
class WorkerSpec:
    """Everything a worker needs to build its slice of the collection (picklable)."""

    index: int
    env_factory: Any
    single_agent: bool
    n_envs: int
    n_steps: int
    groups: list[PolicyGroup]
    layouts: list[ObservationLayout]
    critic_layouts: list[ObservationLayout | None]
    critic_mode: str
    agent_id_one_hot: bool
    hidden_size: int
    gamma: float
    normalize_rewards: bool
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
        source = EnvSource(spec.env_factory, None, spec.single_agent)
        self.envs = [to_parallel(spec.env_factory()) for _ in range(spec.n_envs)]
        self.models = copy.deepcopy(spec.models)
        self.version: int | None = None
        self.generator = torch.Generator()
        self.reward_statistics = RunningMeanStd((1,)) if spec.normalize_rewards else None
        scaler = None
        if self.reward_statistics is not None:
            shapes = [(spec.n_envs, group.size) for group in spec.groups]
            scaler = RewardScaler(self.reward_statistics, shapes, spec.gamma)
        self.collector = Collector(
            source, self.envs, spec.groups, spec.layouts, spec.critic_layouts, spec.critic_mode,
            spec.agent_id_one_hot, spec.hidden_size, self.generator, scaler,
        )
        self.storages = [
            RolloutStorage(
                spec.n_steps, spec.n_envs, group.size, layout.dim,
                critic_layout.dim if critic_layout is not None else None,
                slots.codec.action_dim, slots.codec.mask_dim, spec.hidden_size,
            )
            for group, layout, critic_layout, slots in zip(spec.groups, spec.layouts, spec.critic_layouts, self.collector.slots)
        ]
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
                if self.reward_statistics is not None else None
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


# --------------------------------------------------------------------------- worker pools
class WorkerPool(ABC):
    """Transport between the learner and its workers: start, broadcast, submit, gather."""

    @abstractmethod
    def start(self, spec: WorkerSpec, resume: dict[str, Any] | None) -> None:
        """Start worker ``spec.index`` (replacing a previous one with that index)."""

    @abstractmethod
    def publish(self, payload: PolicyPayload) -> Any:
        """Make the payload available to every worker once; returns a handle for :meth:`submit`."""

    @abstractmethod
    def submit(self, index: int, handle: Any, request: CollectRequest) -> None:
        """Ask worker ``index`` for a fragment (one outstanding request per worker)."""

    @abstractmethod
    def wait(self) -> list[tuple[int, Fragment | WorkerLost]]:
        """Block until at least one outstanding request finished; its fragments or losses."""

    @abstractmethod
    def close(self) -> None:
        """Stop every worker."""


class LocalWorkerPool(WorkerPool):
    """Workers in this process, run one after another when results are awaited.

    The protocol without any transport: useful to test and debug the remote backends.
    The learner's torch random state is saved and restored around each worker.
    """

    def __init__(self) -> None:
        self.workers: dict[int, RolloutWorker] = {}
        self.queue: list[tuple[int, PolicyPayload, CollectRequest]] = []

    def start(self, spec: WorkerSpec, resume: dict[str, Any] | None) -> None:
        """Build the worker here."""
        self.workers[spec.index] = RolloutWorker(spec, resume)

    def publish(self, payload: PolicyPayload) -> PolicyPayload:
        """The payload itself is the handle."""
        return payload

    def submit(self, index: int, handle: PolicyPayload, request: CollectRequest) -> None:
        """Queue the request."""
        self.queue.append((index, handle, request))

    def wait(self) -> list[tuple[int, Fragment | WorkerLost]]:
        """Run every queued request."""
        results = []
        saved = torch.get_rng_state()
        try:
            while self.queue:
                index, payload, request = self.queue.pop(0)
                results.append((index, self.workers[index].collect(payload, request)))
        finally:
            torch.set_rng_state(saved)
        return results

    def close(self) -> None:
        """Close the workers' environments."""
        for worker in self.workers.values():
            worker.close()
        self.workers = {}


def _subprocess_worker(connection: multiprocessing.connection.Connection, spec: WorkerSpec, resume: Any) -> None:
    """A worker process: build the worker, then answer (payload, request) messages until None."""
    try:
        worker = RolloutWorker(spec, resume)
    except Exception:
        connection.send(("error", traceback.format_exc()))
        return
    connection.send(("ready", None))
    payload: PolicyPayload | None = None
    while True:
        message = connection.recv()
        if message is None:
            worker.close()
            return
        sent_payload, request = message
        if sent_payload is not None:
            payload = sent_payload
        try:
            connection.send(("fragment", worker.collect(payload, request)))
        except Exception:
            connection.send(("error", traceback.format_exc()))


class SubprocessWorkerPool(WorkerPool):
    """One process per worker (the ``spawn`` start method), talking over pipes.

    The weights are sent to a worker once per policy version.
    """

    def __init__(self, start_method: str = "spawn") -> None:
        self.context = multiprocessing.get_context(start_method)
        self.processes: dict[int, Any] = {}
        self.connections: dict[int, multiprocessing.connection.Connection] = {}
        self.sent_version: dict[int, int | None] = {}
        self.outstanding: set[int] = set()

    def start(self, spec: WorkerSpec, resume: dict[str, Any] | None) -> None:
        """Spawn the worker process (it builds its environments while the others start)."""
        self._stop(spec.index)
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_subprocess_worker, args=(child, spec, resume), daemon=True)
        try:
            process.start()
        except (AttributeError, TypeError, pickle.PicklingError) as error:
            parent.close()
            child.close()
            raise ValueError(
                f"the environment factory cannot be sent to a worker process ({error}); pass an environment id, "
                "envs.make_factory(...), or a factory defined at module level instead of a lambda or closure"
            ) from None
        child.close()
        self.processes[spec.index], self.connections[spec.index] = process, parent
        self.sent_version[spec.index] = None

    def _receive(self, index: int) -> tuple[str, Any]:
        """The worker's next message after its start-up notice (workers build their envs in parallel)."""
        try:
            message = self.connections[index].recv()
            if message[0] == "ready":
                message = self.connections[index].recv()
        except (EOFError, ConnectionResetError, OSError) as error:
            raise WorkerLost(f"worker {index} (pid {self.processes[index].pid}) is gone: {type(error).__name__}") from None
        return message

    def publish(self, payload: PolicyPayload) -> PolicyPayload:
        """Kept here and sent with each worker's first request of this version."""
        return payload

    def submit(self, index: int, handle: PolicyPayload, request: CollectRequest) -> None:
        """Send the request (and the payload if this worker has not seen its version)."""
        payload = handle if self.sent_version[index] != handle.version else None
        try:
            self.connections[index].send((payload, request))
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the loss is reported by wait()
        self.sent_version[index] = handle.version
        self.outstanding.add(index)

    def wait(self) -> list[tuple[int, Fragment | WorkerLost]]:
        """Fragments of the workers that answered, or their loss."""
        by_connection = {self.connections[index]: index for index in self.outstanding}
        ready = multiprocessing.connection.wait(list(by_connection))
        results: list[tuple[int, Fragment | WorkerLost]] = []
        for connection in ready:
            index = by_connection[connection]
            self.outstanding.discard(index)
            try:
                kind, detail = self._receive(index)
            except WorkerLost as lost:
                results.append((index, lost))
                continue
            if kind == "error":
                raise WorkerFailed(f"worker {index} failed:\n{detail}")
            results.append((index, detail))
        return results

    def pid(self, index: int) -> int:
        """Process id of worker ``index``."""
        return self.processes[index].pid

    def _stop(self, index: int) -> None:
        process = self.processes.pop(index, None)
        connection = self.connections.pop(index, None)
        self.outstanding.discard(index)
        if connection is not None:
            try:
                connection.send(None)
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass
            connection.close()
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()

    def close(self) -> None:
        """Stop every worker process."""
        for index in list(self.processes):
            self._stop(index)


# ------------------------------------------------------------------ state along the env axis
def env_bounds(n_envs: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous env ranges ``[start, stop)`` per worker, as even as possible."""
    sizes = [n_envs // workers + (1 if w < n_envs % workers else 0) for w in range(workers)]
    starts = np.cumsum([0] + sizes)
    return [(int(starts[w]), int(starts[w + 1])) for w in range(workers)]


def split_collector_state(state: dict[str, Any], bounds: list[tuple[int, int]], group_sizes: list[int]) -> list[dict[str, Any]]:
    """Cut a :meth:`Collector.state_dict` into per-worker states along the env axis."""
    parts = []
    for start, stop in bounds:
        part: dict[str, Any] = {
            "started": state["started"],
            "reset_seeds": state["reset_seeds"][start:stop].clone(),
            "histories": state["histories"][start:stop],
            "returns": state["returns"][start:stop].clone(),
            "lengths": state["lengths"][start:stop].clone(),
        }
        for name in PER_SLOT_GROUP_ENTRIES:
            part[name] = [
                None if x is None else x[start * size : stop * size].clone() for x, size in zip(state[name], group_sizes)
            ]
        for name in PER_ENV_GROUP_ENTRIES:
            part[name] = None if state.get(name) is None else [x[start:stop].clone() for x in state[name]]
        parts.append(part)
    return parts


def merge_collector_states(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join per-worker collector states (in env order) into one."""
    merged: dict[str, Any] = {
        "started": all(part["started"] for part in parts),
        "reset_seeds": torch.cat([part["reset_seeds"] for part in parts]),
        "histories": [history for part in parts for history in part["histories"]],
        "returns": torch.cat([part["returns"] for part in parts]),
        "lengths": torch.cat([part["lengths"] for part in parts]),
    }
    for name in PER_SLOT_GROUP_ENTRIES + PER_ENV_GROUP_ENTRIES:
        columns = [part[name] for part in parts]
        if columns[0] is None:
            merged[name] = None
            continue
        merged[name] = [None if group[0] is None else torch.cat(group) for group in zip(*columns)]
    return merged


def merge_running_statistics(start: dict[str, torch.Tensor], finals: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Combine statistics that each started from ``start`` and merged their own samples.

    Each worker's own samples are recovered from its final statistics (inverting the
    parallel-variance merge) and all of them are merged into ``start``.
    """
    if len(finals) == 1:
        return {k: v.clone() for k, v in finals[0].items()}
    count0, mean0, var0 = start["count"], start["mean"], start["var"]
    count, mean, m2 = count0.clone(), mean0.clone(), var0 * count0
    for final in finals:
        n = final["count"] - count0
        if float(n) <= 0:
            continue
        batch_mean = (final["count"] * final["mean"] - count0 * mean0) / n
        delta0 = batch_mean - mean0
        batch_m2 = final["count"] * final["var"] - count0 * var0 - delta0**2 * count0 * n / final["count"]
        total = count + n
        delta = batch_mean - mean
        mean = mean + delta * (n / total)
        m2 = m2 + batch_m2 + delta**2 * count * n / total
        count = total
    return {"mean": mean, "var": m2 / count if float(count) > 0 else var0.clone(), "count": count}


def derived_streams(seed: int, worker: int) -> dict[str, torch.Tensor]:
    """Random streams of worker ``worker`` >= 1, derived from the learner's seed."""
    derived = int(np.random.SeedSequence([seed, worker]).generate_state(1, dtype=np.uint64)[0] % (2**63 - 1))
    state = torch.Generator().manual_seed(derived).get_state()
    return {"generator": state, "torch": state.clone()}


@dataclass
class WorkerRecord:
    """What the learner keeps per worker to replace it: its spec, resume data and random streams."""

    spec: WorkerSpec
    resume: dict[str, Any] | None
    streams: dict[str, torch.Tensor] | None
    retries: int = 0


# ------------------------------------------------------------------------ remote backends
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
        self.learner: Any = None
        self.episodes: list[Episodes] = []
        self.restarts = 0
        self.stale_fragments = 0
        self.last_versions: list[int] = []
        self.timings = {"broadcast_seconds": 0.0, "worker_collect_seconds": 0.0}

    # ------------------------------------------------------------------------- setup
    def bind(self, learner: Any) -> None:
        """Split the learner's env copies over the workers and start them from its current state."""
        config = learner.config
        if self.workers > config.n_envs:
            raise ValueError(
                f"workers ({self.workers}) must be <= n_envs ({config.n_envs}): each worker holds at least one "
                "environment copy; raise n_envs or lower workers"
            )
        self.learner = learner
        self.bounds = env_bounds(config.n_envs, self.workers)
        state = learner.backend.state_dict()
        self.records = []
        for w, (start, stop) in enumerate(self.bounds):
            spec = WorkerSpec(
                index=w,
                env_factory=worker_env_factory(learner),
                single_agent=learner.single_agent,
                n_envs=stop - start,
                n_steps=config.n_steps,
                groups=learner.policy_groups,
                layouts=learner.layouts,
                critic_layouts=learner.critic_layouts,
                critic_mode=learner.critic_mode,
                agent_id_one_hot=config.agent_id_one_hot,
                hidden_size=config.recurrent_hidden_size if config.recurrent else 0,
                gamma=config.gamma,
                normalize_rewards=config.normalize_rewards,
                models=learner.models,
            )
            self.records.append(WorkerRecord(spec, None, None))
        self._restore(state)

    def _restore(self, state: dict[str, Any]) -> None:
        """Start every worker from a merged collector state (and saved streams if any)."""
        group_sizes = [group.size for group in self.learner.policy_groups]
        parts = split_collector_state(state, self.bounds, group_sizes) if state["started"] else [None] * self.workers
        saved_streams = state.get("worker_streams")
        for w, (record, part) in enumerate(zip(self.records, parts)):
            record.resume = part
            if w > 0:
                usable = saved_streams is not None and len(saved_streams) == self.workers
                record.streams = saved_streams[w] if usable else derived_streams(self.learner.seed, w)
            self.pool.start(record.spec, record.resume)

    # ---------------------------------------------------------------------- collection
    def _streams(self, w: int) -> dict[str, torch.Tensor]:
        if w == 0:
            return {"generator": self.learner.generator.get_state(), "torch": torch.get_rng_state()}
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
        self.learner.generator.set_state(accepted[0].streams["generator"])
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
            state = self.learner.collector.state_dict()
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


__all__ = [
    "CollectRequest", "Fragment", "InProcessBackend", "LocalWorkerPool", "PolicyPayload", "RemoteBackend",
    "RolloutBackend", "RolloutWorker", "SubprocessBackend", "SubprocessWorkerPool", "WorkerFailed", "WorkerLost",
    "WorkerPool", "WorkerSpec", "env_bounds", "merge_collector_states", "merge_running_statistics",
    "split_collector_state",
]
