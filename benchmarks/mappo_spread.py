"""MAPPO on mpe2 simple_spread_v3 (3 agents, 25-step episodes) with the MAPPO paper's MPE
settings (``preset="mpe"``: 128 env copies, lr 7e-4, 10 epochs, one minibatch, recurrent).

In one run it measures the environment alone (uniformly random actions, one process, the
same number of env copies stepped in turn) and training, both in environment steps per
second (wall clock and the process's CPU time, which is steadier when other jobs share the
cores), and prints the ratios (aim: training >= 0.6 x environment alone). For each seed it
prints the mean per-agent episode return against environment steps and wall-clock time.
The official MAPPO code reports about -120 on its own metric after 20M steps.

    python benchmarks/mappo_spread.py --steps 2000000 --seeds 0 1 2 --plot spread.png

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

from benchmarks_common import machine


def environment_alone(n_envs: int, steps: int, seed: int) -> tuple[float, float]:
    """Steps per wall-clock second and per CPU second of ``n_envs`` copies stepped in turn with
    uniformly random actions (nothing else in the timed loop)."""
    import mpe2.simple_spread_v3 as spread

    envs = [spread.parallel_env() for _ in range(n_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=seed + i)
    rng = np.random.default_rng(seed)
    done = 0
    start, cpu = time.perf_counter(), time.process_time()
    while done < steps:
        for env in envs:
            if not env.agents:
                env.reset()
            env.step({agent: int(rng.integers(5)) for agent in env.agents})
            done += 1
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


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
    seed: int, steps: int, n_envs: int, report_every: int
) -> tuple[float, float, list[tuple[float, float, float]]]:
    """Train MAPPO; return steps per wall-clock and per CPU second and (steps, seconds, return) points."""
    from agents import MAPPO

    algo = MAPPO("mpe2.simple_spread_v3", seed=seed, preset="mpe", n_envs=n_envs)
    points: list[tuple[float, float, float]] = []
    start, cpu = time.perf_counter(), time.process_time()

    def record(metrics: dict[str, float]) -> None:
        if "episode_return" in metrics and int(metrics["updates"]) % report_every == 0:
            points.append((metrics["steps"], time.perf_counter() - start, metrics["episode_return"]))
            print(
                f"  seed {seed} steps {metrics['steps']:>10.0f} time {points[-1][1]:>8.1f}s "
                f"return {metrics['episode_return']:>8.2f}",
                flush=True,
            )

    algo.learn(steps, callback=record)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return algo.steps / wall, algo.steps / cpu, points


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
    parser.add_argument("--env-steps", type=int, default=20_000, help="steps for the environment-alone measurement")
    parser.add_argument("--random-episodes", type=int, default=1000, help="episodes for the random policy's return")
    parser.add_argument("--report-every", type=int, default=10, help="print every this many updates")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plot", metavar="FILE", help="draw return against steps and wall-clock time (.png, .svg)")
    parser.add_argument("--replot", metavar="LOG", help="with --plot: draw from the output of an earlier run, train nothing")
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
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    alone, alone_cpu = environment_alone(args.n_envs, args.env_steps, 0)
    random_return = random_policy_return(args.random_episodes, 0)
    print(
        f"environment alone: {alone:.0f} steps/s, {alone_cpu:.0f} per CPU second "
        f"({args.n_envs} copies, random actions, one process)"
    )
    print(f"random policy: mean episode return per agent {random_return:.2f} ({args.random_episodes} episodes)")
    curves = {}
    for seed in args.seeds:
        speed, speed_cpu, points = train(seed, args.steps, args.n_envs, args.report_every)
        curves[seed] = points
        final = points[-1][2] if points else float("nan")
        print(
            f"seed {seed}: training {speed:.0f} steps/s = {speed / alone:.2f} x environment alone; "
            f"per CPU second {speed_cpu:.0f} = {speed_cpu / alone_cpu:.2f} x; "
            f"last reported return {final:.2f}",
            flush=True,
        )
    if args.plot:
        plot(curves, args.plot, random_return)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
