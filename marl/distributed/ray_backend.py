"""Rollout workers on Ray actors, on this machine or across a cluster.

Each actor is an :class:`agents.backends.RolloutWorker`: it builds its slice of the
environment copies from the (picklable) environment factory and keeps a copy of the policy.
Per update the learner puts the weights into Ray's object store once (``ray.put``); every
actor reads them from there, collects its fragment and returns it. An actor that dies
(``RayActorError``) is replaced by a new one restored from the resume data the learner keeps,
and its fragment is collected again (see :class:`agents.backends.RemoteBackend`).

Without an address a local Ray instance is started with a small object store and no
dashboard; ``address="auto"`` joins the cluster this machine belongs to (``ray start``),
``HOST:PORT`` a given head node.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from agents.backends import (
    CollectRequest,
    Fragment,
    PolicyPayload,
    RemoteBackend,
    RolloutWorker,
    WorkerFailed,
    WorkerLost,
    WorkerPool,
    WorkerSpec,
)
from marl.distributed.reachability import check_reachable

#: Object store of a local instance: a few copies of the weights and fragments in flight.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


def connect(address: str | None, workers: int, cpus_per_worker: float) -> bool:
    """Join or start Ray; returns True when this call started it (and should shut it down)."""
    if ray.is_initialized():
        return False
    if address is None:
        cpus = max(os.cpu_count() or 1, int(workers * cpus_per_worker + 0.999))
        ray.init(
            num_cpus=cpus,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    else:
        check_reachable(address)
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(
                f"cannot join the Ray cluster at {address!r} ({reason}); start one with 'ray start --head' "
                "(see docs/distributed.md) or leave out --address for a local instance"
            ) from None
    return True


class RayWorkerPool(WorkerPool):
    """One Ray actor per worker; weights are broadcast through the object store."""

    def __init__(self, cpus_per_worker: float = 1.0) -> None:
        self.cpus_per_worker = cpus_per_worker
        self.actor_class = ray.remote(RolloutWorker)
        self.actors: dict[int, Any] = {}
        self.pending: dict[Any, int] = {}

    def start(self, spec: WorkerSpec, resume: dict[str, Any] | None) -> None:
        """Create the actor (replacing a previous one with this index); it builds its envs asynchronously."""
        previous = self.actors.pop(spec.index, None)
        if previous is not None:
            ray.kill(previous, no_restart=True)
        self.pending = {ref: index for ref, index in self.pending.items() if index != spec.index}
        self.actors[spec.index] = self.actor_class.options(
            num_cpus=self.cpus_per_worker, max_restarts=0, max_task_retries=0
        ).remote(spec, resume)

    def publish(self, payload: PolicyPayload) -> Any:
        """``ray.put`` once per policy version; every actor reads the same object."""
        return ray.put(payload)

    def submit(self, index: int, handle: Any, request: CollectRequest) -> None:
        """Call the actor's ``collect``."""
        self.pending[self.actors[index].collect.remote(handle, request)] = index

    def wait(self) -> list[tuple[int, Fragment | WorkerLost]]:
        """The fragments (or losses) of the calls that finished first."""
        ready, _ = ray.wait(list(self.pending), num_returns=1)
        results: list[tuple[int, Fragment | WorkerLost]] = []
        for ref in ready:
            index = self.pending.pop(ref)
            try:
                results.append((index, ray.get(ref)))
            except RayActorError as error:
                if error.actor_init_failed:  # its environments could not be built: a failure, not a loss
                    raise WorkerFailed(f"worker {index} could not start:\n{error}") from None
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                results.append((index, WorkerLost(f"Ray actor of worker {index} died: {reason}")))
            except RayTaskError as error:
                raise WorkerFailed(f"worker {index} failed:\n{error}") from None
        return results

    def actor(self, index: int) -> Any:
        """The actor handle of worker ``index`` (to inspect or kill it)."""
        return self.actors[index]

    def close(self) -> None:
        """Kill every actor."""
        for actor in self.actors.values():
            ray.kill(actor, no_restart=True)
        self.actors = {}
        self.pending = {}


class RayBackend(RemoteBackend):
    """Collection on ``workers`` Ray actors (local instance, ``auto`` or ``HOST:PORT``)."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None, cpus_per_worker: float = 1.0) -> None:
        if not isinstance(cpus_per_worker, (int, float)) or cpus_per_worker <= 0:
            raise ValueError(f"cpus_per_worker must be a number > 0, got {cpus_per_worker!r}")
        super().__init__(RayWorkerPool(cpus_per_worker), workers)
        self.started_ray = connect(address, workers, cpus_per_worker)
        available = float(ray.cluster_resources().get("CPU", 0.0))
        if available < workers * cpus_per_worker:
            if self.started_ray:
                ray.shutdown()
            raise ValueError(
                f"the Ray cluster has {available:g} CPUs but {workers} workers need {workers * cpus_per_worker:g}; "
                "add machines (ray start --address=...) or lower workers"
            )

    def close(self) -> None:
        """Kill the actors, and stop Ray if this backend started it."""
        super().close()
        if self.started_ray and ray.is_initialized():
            ray.shutdown()
            self.started_ray = False


__all__ = ["LOCAL_OBJECT_STORE_BYTES", "RayBackend", "RayWorkerPool", "connect"]
