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

from agents.backends.env_axis import (
    derived_streams,
    env_bounds,
    merge_collector_states,
    merge_running_statistics,
    split_collector_state,
)
from agents.backends.interface import BackendSetup, Episodes, InProcessBackend, RolloutBackend
from agents.backends.pools import LocalWorkerPool, SubprocessWorkerPool, WorkerPool
from agents.backends.remote import MAX_RETRIES_PER_COLLECTION, RemoteBackend, SubprocessBackend, WorkerRecord
from agents.backends.worker import (
    FRAGMENT_FIELDS,
    CollectRequest,
    EnvIdFactory,
    Fragment,
    PolicyPayload,
    RolloutWorker,
    WorkerFailed,
    WorkerLost,
    WorkerSpec,
)

__all__ = [
    "BackendSetup",
    "CollectRequest",
    "EnvIdFactory",
    "Episodes",
    "FRAGMENT_FIELDS",
    "Fragment",
    "InProcessBackend",
    "LocalWorkerPool",
    "MAX_RETRIES_PER_COLLECTION",
    "PolicyPayload",
    "RemoteBackend",
    "RolloutBackend",
    "RolloutWorker",
    "SubprocessBackend",
    "SubprocessWorkerPool",
    "WorkerFailed",
    "WorkerLost",
    "WorkerPool",
    "WorkerRecord",
    "WorkerSpec",
    "derived_streams",
    "env_bounds",
    "merge_collector_states",
    "merge_running_statistics",
    "split_collector_state",
]
