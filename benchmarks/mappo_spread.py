"""MAPPO on mpe2 simple_spread_v3 (3 agents, 25-step episodes) with the MAPPO paper's MPE
settings (``preset="mpe"``: 128 env copies, lr 7e-4, 10 epochs, one minibatch, recurrent,
the critic on all agents' observations joined).

It measures training against the environment alone (uniformly random actions, one process,
the same number of env copies stepped in turn), both in environment steps per second (wall
clock, and the process's CPU time), and prints the ratios (aim: training >= 0.6 x environment
alone). The two are timed in alternation during the first ``--ratio-updates`` updates of the
first seed: after each update the environment alone steps as many steps as the update
collected, so both see the same load from other jobs; medians are reported. For each seed it
prints the mean per-agent episode return against environment steps and wall-clock time. The
official MAPPO code reports about -120 on its own metric after 20M steps.

    python benchmarks/mappo_spread.py --steps 2000000 --seeds 0 1 2 --plot spread.png

``--workers N`` collects with N subprocess workers (``SubprocessBackend``); their CPU time is
not the process's, so the per-CPU-second ratio is then left out. ``--update-threads`` sets
the learner's ``update_threads`` (default: the CPUs available).

``--plot FILE`` draws return against steps and against wall-clock time, one line per seed;
``--replot LOG --plot FILE`` draws the same figure from the output of earlier runs (several
outputs joined in one file are fine: ``--seeds`` with no seed measures only the environment
alone and the random policy's return).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterable

import numpy as np
import torch
from benchmarks_common import InterleavedThroughput, machine, ratio_line, step_in_turn


class SpreadAlone:
    """``n_envs`` copies of simple_spread stepped in turn with uniformly random actions."""

    def __init__(self, n_envs: int, seed: int) -> None:
        import mpe2.simple_spread_v3 as spread

        self.envs = [spread.parallel_env() for _ in range(n_envs)]
        for i, env in enumerate(self.envs):
            env.reset(seed=seed + i)
        self.rng = np.random.default_rng(seed)

    def step(self, steps: int) -> None:
        """Step ``steps`` environment steps (summed over copies); nothing else."""
        step_in_turn(self.envs, lambda env: {agent: int(self.rng.integers(5)) for agent in env.agents}, steps)


def environment_alone(n_envs: int, steps: int, seed: int) -> tuple[float, float]:
    """Steps per wall-clock second and per CPU second of ``n_envs`` copies stepped in turn with
    uniformly random actions (nothing else in the timed loop)."""
    alone = SpreadAlone(n_envs, seed)
    start, cpu = time.perf_counter(), time.process_time()
    alone.step(steps)
    return steps / (time.perf_counter() - start), steps / (time.process_time() - cpu)


def random_policy_return(episodes: int, seed: int) -> float:
    """Mean per-agent episode return of uniformly random actions over ``episodes`` episodes."""
    import mpe2.simple_spread_v3 as spread

    env = spread.parallel_env()
    rng = np.random.default_rng(seed)
    totals = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        total = 0.0
        while env.agents:
            _, rewards, _, _, _ = env.step({agent: int(rng.integers(5)) for agent in env.agents})
            total += sum(rewards.values()) / len(rewards)
        totals.append(total)
    return float(np.mean(totals))


def train(
    seed: int, args: argparse.Namespace, measure: InterleavedThroughput | None
) -> tuple[float, list[tuple[float, float, float]]]:
    """Train MAPPO; return training steps per wall-clock second (time spent stepping the
    environment alone for ``measure`` left out) and the (steps, seconds, return) points."""
    from agents import MAPPO
    from agents.backends import SubprocessBackend

    algo = MAPPO(
        "mpe2.simple_spread_v3", seed=seed, preset="mpe", n_envs=args.n_envs, update_threads=args.update_threads
    )
    if args.workers:
        algo.use_backend(SubprocessBackend(args.workers))
    points: list[tuple[float, float, float]] = []
    start = time.perf_counter()

    def measured_seconds() -> float:
        return sum(sample[1] for sample in measure.alone) if measure is not None else 0.0

    def record(metrics: dict[str, float]) -> None:
        if measure is not None and metrics["updates"] <= args.ratio_updates:
            measure.after_update(metrics)
        if "episode_return" in metrics and int(metrics["updates"]) % args.report_every == 0:
            points.append(
                (metrics["steps"], time.perf_counter() - start - measured_seconds(), metrics["episode_return"])
            )
            print(
                f"  seed {seed} steps {metrics['steps']:>10.0f} time {points[-1][1]:>8.1f}s "
                f"return {metrics['episode_return']:>8.2f}",
                flush=True,
            )

    if measure is not None:
        measure.start()
    try:
        algo.learn(args.steps, callback=record)
    finally:
        algo.close()
    wall = time.perf_counter() - start - measured_seconds()
    return algo.steps / wall, points


RANDOM_LINE = re.compile(r"^random policy: mean episode return per agent (-?[\d.]+)")
POINT_LINE = re.compile(r"^\s*seed (\d+) steps\s+(\d+) time\s+([\d.]+)s return\s+(-?[\d.]+)")


def points_from_log(lines: Iterable[str]) -> tuple[dict[int, list[tuple[float, float, float]]], float | None]:
    """The (steps, seconds, return) points per seed in the printed output of runs, and the
    random policy's return if printed."""
    curves: dict[int, list[tuple[float, float, float]]] = {}
    random_return = None
    for line in lines:
        random_match = RANDOM_LINE.match(line)
        if random_match:
            random_return = float(random_match.group(1))
        match = POINT_LINE.match(line)
        if match:
            seed, steps, seconds, value = match.groups()
            curves.setdefault(int(seed), []).append((float(steps), float(seconds), float(value)))
    return curves, random_return


def plot(curves: dict[int, list[tuple[float, float, float]]], path: str, random_return: float | None) -> None:
    """Return against environment steps and against wall-clock minutes, one line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_steps, by_time) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for seed, points in sorted(curves.items()):
        steps, seconds, values = zip(*points)
        by_steps.plot([s / 1e6 for s in steps], values, label=f"seed {seed}")
        by_time.plot([s / 60 for s in seconds], values, label=f"seed {seed}")
    if random_return is not None:
        for axes in (by_steps, by_time):
            axes.axhline(random_return, color="grey", linestyle="--", label="random policy")
    by_steps.set_xlabel("environment steps (millions)")
    by_time.set_xlabel("wall-clock minutes")
    by_steps.set_ylabel("mean episode return per agent")
    by_steps.legend()
    for axes in (by_steps, by_time):
        axes.grid(alpha=0.3)
    figure.suptitle("MAPPO on mpe2 simple_spread_v3 (3 agents, 25 steps)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    print(f"figure: {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2_000_000, help="training environment steps per seed")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="none: measure the environment alone")
    parser.add_argument("--n-envs", type=int, default=128)
    parser.add_argument(
        "--ratio-updates",
        type=int,
        default=20,
        help="updates of the first seed timed in alternation with the environment alone (0: none)",
    )
    parser.add_argument(
        "--env-steps", type=int, default=20_000, help="with no --seeds: steps of the environment-alone measurement"
    )
    parser.add_argument("--random-episodes", type=int, default=1000, help="episodes for the random policy's return")
    parser.add_argument("--report-every", type=int, default=10, help="print every this many updates")
    parser.add_argument(
        "--workers", type=int, default=0, help="subprocess rollout workers (0: collect in this process)"
    )
    parser.add_argument("--update-threads", type=int, default=None, help="the learner's update_threads (default: CPUs)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--plot", metavar="FILE", help="draw return against steps and wall-clock time (.png, .svg)")
    parser.add_argument(
        "--replot", metavar="LOG", help="with --plot: draw from the output of an earlier run, train nothing"
    )
    args = parser.parse_args(argv)
    if args.replot:
        if not args.plot:
            parser.error("--replot needs --plot FILE")
        with open(args.replot, encoding="utf-8") as log:
            curves, random_return = points_from_log(log)
        if not curves:
            parser.error(f"{args.replot} has no 'seed N steps S time Ts return R' lines")
        plot(curves, args.plot, random_return)
        return 0
    from agents.config import MAPPO_MPE_HYPERPARAMETERS

    measured_steps = args.ratio_updates * args.n_envs * MAPPO_MPE_HYPERPARAMETERS["n_steps"]
    if args.seeds and measured_steps > args.steps:
        parser.error(f"--ratio-updates {args.ratio_updates} needs --steps >= {measured_steps}")
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    random_return = random_policy_return(args.random_episodes, 0)
    print(f"random policy: mean episode return per agent {random_return:.2f} ({args.random_episodes} episodes)")
    if not args.seeds:
        alone, alone_cpu = environment_alone(args.n_envs, args.env_steps, 0)
        print(
            f"environment alone: {alone:.0f} steps/s, {alone_cpu:.0f} per CPU second "
            f"({args.n_envs} copies, random actions, one process)"
        )
    curves = {}
    for index, seed in enumerate(args.seeds):
        measure = None
        if index == 0 and args.ratio_updates > 0:
            measure = InterleavedThroughput(SpreadAlone(args.n_envs, 0).step)
        speed, points = train(seed, args, measure)
        curves[seed] = points
        final = points[-1][2] if points else float("nan")
        print(f"seed {seed}: training {speed:.0f} steps/s, last reported return {final:.2f}", flush=True)
        if measure is not None:
            print(ratio_line(measure.summary(), args.n_envs, args.workers), flush=True)
    if args.plot:
        plot(curves, args.plot, random_return)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
