"""What the benchmark scripts share: the machine line they print, and training throughput
measured against the environment alone in alternation."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def machine() -> str:
    """One line describing the machine and library versions."""
    return (
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.processor() or 'cpu'}, "
        f"python {platform.python_version()}, torch {torch.__version__}, torch threads {torch.get_num_threads()}"
    )


def step_in_turn(copies: list, random_actions: Callable[[Any], dict], steps: int) -> None:
    """Step parallel-environment ``copies`` in turn for ``steps`` steps in all, resetting a copy
    when its agents are gone; ``random_actions(env)`` gives the actions of its living agents."""
    done = 0
    while done < steps:
        for env in copies:
            if not env.agents:
                env.reset()
            env.step(random_actions(env))
            done += 1


class InterleavedThroughput:
    """Training against the environment alone, timed in alternation so that both see the same
    load from anything else on the machine.

    Pass :meth:`after_update` as (or call it from) the learner's callback. Each call closes the
    training interval that began when the previous call returned, then steps the environment
    alone for the same number of steps (``step_alone(steps)``) and times that. The first
    ``warmup`` intervals (worker start-up, first allocations) are left out of the medians.
    """

    def __init__(
        self,
        step_alone: Callable[[int], None],
        warmup: int = 1,
        clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.step_alone = step_alone
        self.warmup = warmup
        self.clock = clock
        self.cpu_clock = cpu_clock
        self.training: list[tuple[float, float, float]] = []  # (steps, wall seconds, CPU seconds)
        self.alone: list[tuple[float, float, float]] = []
        self.phases: list[tuple[float, float]] = []  # the learner's (collection, update) seconds
        self._last_steps = 0.0
        self.start()

    def start(self) -> None:
        """Begin a training interval now (call right before ``learn``)."""
        self._mark = (self.clock(), self.cpu_clock())

    def after_update(self, metrics: dict[str, float]) -> None:
        """Close the training interval, then time the environment alone for as many steps."""
        wall, cpu = self.clock() - self._mark[0], self.cpu_clock() - self._mark[1]
        steps = metrics["steps"] - self._last_steps
        self._last_steps = metrics["steps"]
        self.training.append((steps, wall, cpu))
        self.phases.append((metrics["collection_seconds"], metrics["update_seconds"]))
        started, started_cpu = self.clock(), self.cpu_clock()
        self.step_alone(int(steps))
        self.alone.append((steps, self.clock() - started, self.cpu_clock() - started_cpu))
        self.start()

    def summary(self) -> dict[str, float]:
        """Medians of steps per wall-clock and per CPU second for both, their ratios, and the
        median collection and update seconds per update."""
        if len(self.training) <= self.warmup:
            raise ValueError(f"need more than {self.warmup} updates to measure, got {len(self.training)}")

        def median_rate(samples: list[tuple[float, float, float]], column: int) -> float:
            return statistics.median(sample[0] / max(sample[column], 1e-12) for sample in samples)

        training, alone = self.training[self.warmup :], self.alone[self.warmup :]
        result = {
            "intervals": float(len(training)),
            "training": median_rate(training, 1),
            "training_cpu": median_rate(training, 2),
            "alone": median_rate(alone, 1),
            "alone_cpu": median_rate(alone, 2),
            "collection_seconds": statistics.median(phase[0] for phase in self.phases[self.warmup :]),
            "update_seconds": statistics.median(phase[1] for phase in self.phases[self.warmup :]),
        }
        result["ratio"] = result["training"] / result["alone"]
        result["ratio_cpu"] = result["training_cpu"] / result["alone_cpu"]
        return result


def ratio_line(summary: dict[str, float], n_envs: int, workers: int) -> str:
    """The printed comparison of training with the environment alone (per CPU second only when
    collection runs in this process: workers' CPU time is not the process's)."""
    collection = f"{workers} subprocess workers" if workers else "collection in this process"
    line = (
        f"medians of {summary['intervals']:.0f} alternating intervals: training {summary['training']:.0f} steps/s, "
        f"environment alone {summary['alone']:.0f} steps/s ({n_envs} copies, random actions, one process) "
        f"= {summary['ratio']:.2f} x [{collection}]"
    )
    if not workers:
        training, alone, ratio = summary["training_cpu"], summary["alone_cpu"], summary["ratio_cpu"]
        line += f"; per CPU second {training:.0f} vs {alone:.0f} = {ratio:.2f} x"
    line += (
        f"\nper update (medians): collection {summary['collection_seconds']:.2f}s, "
        f"update {summary['update_seconds']:.2f}s"
    )
    return line
