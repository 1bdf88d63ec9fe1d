"""Transports between the learner and its workers: in this process, or one subprocess each."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import pickle
import traceback
from abc import ABC, abstractmethod
from typing import Any

import torch

from agents.backends.worker import (
    CollectRequest,
    Fragment,
    PolicyPayload,
    RolloutWorker,
    WorkerFailed,
    WorkerLost,
    WorkerSpec,
)


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


def _send(connection: multiprocessing.connection.Connection, message: Any) -> None:
    """Send ``message`` with the standard pickler.

    ``Connection.send`` would use multiprocessing's pickler, for which torch registers
    shared-memory reductions: every tensor then goes through its own shared-memory file, passed
    by a round trip to the sender's descriptor-sharing thread. Standard pickling copies the bytes
    instead, several times faster for the arena's 102 weight tensors
    (``benchmarks/learner_parts.py``).
    """
    connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _receive_message(connection: multiprocessing.connection.Connection) -> Any:
    """The next message sent by :func:`_send` (from our own learner or worker process)."""
    return pickle.loads(connection.recv_bytes())


def _subprocess_worker(connection: multiprocessing.connection.Connection, spec: WorkerSpec, resume: Any) -> None:
    """A worker process: build the worker, then answer (payload, request) messages until None."""
    try:
        worker = RolloutWorker(spec, resume)
    except Exception:
        _send(connection, ("error", traceback.format_exc()))
        return
    _send(connection, ("ready", None))
    payload: PolicyPayload | None = None
    while True:
        message = _receive_message(connection)
        if message is None:
            worker.close()
            return
        sent_payload, request = message
        if sent_payload is not None:
            payload = sent_payload
        try:
            _send(connection, ("fragment", worker.collect(payload, request)))
        except Exception:
            _send(connection, ("error", traceback.format_exc()))


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
            message = _receive_message(self.connections[index])
            if message[0] == "ready":
                message = _receive_message(self.connections[index])
        except (EOFError, ConnectionResetError, OSError) as error:
            raise WorkerLost(
                f"worker {index} (pid {self.processes[index].pid}) is gone: {type(error).__name__}"
            ) from None
        return message

    def publish(self, payload: PolicyPayload) -> PolicyPayload:
        """Kept here and sent with each worker's first request of this version."""
        return payload

    def submit(self, index: int, handle: PolicyPayload, request: CollectRequest) -> None:
        """Send the request (and the payload if this worker has not seen its version)."""
        payload = handle if self.sent_version[index] != handle.version else None
        # A worker that is gone cannot take the request; wait() sees its closed connection
        # and reports it as lost, so the send error itself carries nothing more to act on.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
            _send(self.connections[index], (payload, request))
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
                _send(connection, None)
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
