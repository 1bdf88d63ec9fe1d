"""Run the independent parts of an update at the same time, one CPU thread each.

An update has parts that share no parameters and no data that changes: the update of each
policy group, and within a group the policy's pass and the value function's pass. Torch
releases the GIL inside its kernels and, with one intra-op thread, runs each kernel on the
thread that calls it, so two parts on two threads use two cores.

Whether that pays depends on the size of the work: for large batches (a recurrent rollout of
thousands of rows) two threads nearly halve the time; for a minibatch of 64 rows the hand-off
and the GIL cost more than they save. :class:`UpdateThreads` therefore times both ways on the
first calls from each place and keeps the faster one. The numbers do not depend on the choice:
every part runs the same kernels on the same inputs either way, and whatever is random is drawn
before the parts start.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: Calls timed each way (serial, threaded) before a place settles on the faster.
TRIALS_PER_MODE = 3
#: Threads must beat serial by this factor to be chosen (timing noise must not flip the choice).
REQUIRED_SPEEDUP = 0.9


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class UpdateThreads:
    """Runs groups of independent tasks serially or on ``threads`` threads, whichever is faster."""

    def __init__(self, threads: int | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        if threads is None:
            threads = available_cpus()
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads must be an integer >= 1 or None, got {threads!r}")
        self.threads = threads
        self.clock = clock
        self._pool: ThreadPoolExecutor | None = None
        self._inside = threading.local()
        self._timings: dict[str, dict[bool, list[float]]] = {}
        self._choice: dict[str, bool] = {}

    def run(self, place: str, *tasks: Callable[[], Any], serially: Callable[[], list[Any]] | None = None) -> list[Any]:
        """Call every task and return their results in order.

        ``place`` names the call site: each settles on serial or threaded on its own. Tasks run
        serially when there is one thread or one task, or when called from inside tasks that
        run on threads (so nested parts never wait on a full pool). ``serially``, if given, does
        the work of all the tasks in one call when they would run one after another (the same
        results, cheaper: one backward pass instead of two, say). Every task finishes before the
        first error, if any, is raised.
        """

        def one_after_another() -> list[Any]:
            if serially is not None:
                return serially()
            return _results([_outcome(task) for task in tasks])

        if self.threads == 1 or len(tasks) < 2 or getattr(self._inside, "active", False):
            return one_after_another()
        threaded = self._mode(place)
        started = self.clock()
        results = self._run_threaded(tasks) if threaded else one_after_another()
        if place not in self._choice:
            self._record(place, threaded, self.clock() - started)
        return results

    def chosen(self, place: str) -> bool | None:
        """Whether ``place`` settled on threads (None: still timing, or never called)."""
        return self._choice.get(place)

    def close(self) -> None:
        """Stop the pool's threads (a later :meth:`run` starts them again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ------------------------------------------------------------------ internals
    def _mode(self, place: str) -> bool:
        if place in self._choice:
            return self._choice[place]
        timings = self._timings.setdefault(place, {False: [], True: []})
        # Alternate serial and threaded until both have their trials.
        return len(timings[True]) < len(timings[False])

    def _record(self, place: str, threaded: bool, seconds: float) -> None:
        timings = self._timings[place]
        timings[threaded].append(seconds)
        if len(timings[False]) >= TRIALS_PER_MODE and len(timings[True]) >= TRIALS_PER_MODE:
            serial, parallel = statistics.median(timings[False]), statistics.median(timings[True])
            self._choice[place] = parallel < REQUIRED_SPEEDUP * serial

    def _run_threaded(self, tasks: tuple[Callable[[], Any], ...]) -> list[Any]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads - 1, thread_name_prefix="update")
        futures: list[Future] = [self._pool.submit(self._marked, task) for task in tasks[1:]]
        self._inside.active = True
        try:
            outcomes = [_outcome(tasks[0])]
        finally:
            self._inside.active = False
        outcomes.extend(_outcome(future.result) for future in futures)
        return _results(outcomes)

    def _marked(self, task: Callable[[], Any]) -> Any:
        self._inside.active = True
        try:
            return task()
        finally:
            self._inside.active = False


def _outcome(task: Callable[[], Any]) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, the exception)``: every task runs even if one fails."""
    try:
        return True, task()
    except BaseException as error:  # handed to _results, which raises it
        return False, error


def _results(outcomes: list[tuple[bool, Any]]) -> list[Any]:
    """The results in order, or the first task's error."""
    for succeeded, value in outcomes:
        if not succeeded:
            raise value
    return [value for _, value in outcomes]
