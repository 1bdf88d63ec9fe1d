"""MAPPO on mpe2 simple_spread_v3 (3 agents, 25-step episodes) with the MAPPO paper's MPE
settings (``preset="mpe"``: 128 env copies, lr 7e-4, 10 epochs, one minibatch, recurrent).

In one run it measures the environment alone (uniformly random actions, one process, the
same number of env copies stepped in turn) and training, both in environment steps per
second, and prints the ratio (aim: training >= 0.6 x environment alone). For each seed it
prints the mean per-agent episode return against environment steps and wall-clock time.
The official MAPPO code reports about -120 on its own metric after 20M steps.

    python benchmarks/mappo_spread.py --steps 2000000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from benchmarks_common import machine


def environment_alone(n_envs: int, steps: int, seed: int) -> float:
    """Steps per second of ``n_envs`` copies stepped in turn with uniformly random actions."""
    import mpe2.simple_spread_v3 as spread

    envs = [spread.parallel_env() for _ in range(n_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=seed + i)
    rng = np.random.default_rng(seed)
    done = 0
    start = time.perf_counter()
    while done < steps:
        for env in envs:
            if not env.agents:
                env.reset()
            env.step({agent: int(rng.integers(5)) for agent in env.agents})
            done += 1
    return done / (time.perf_counter() - start)


def train(seed: int, steps: int, n_envs: int, report_every: int) -> tuple[float, list[tuple[float, float, float]]]:
    """Train MAPPO; return steps per second and (steps, seconds, return) points."""
    from agents import MAPPO

    algo = MAPPO("mpe2.simple_spread_v3", seed=seed, preset="mpe", n_envs=n_envs)
    points: list[tuple[float, float, float]] = []
    start = time.perf_counter()

    def record(metrics: dict[str, float]) -> None:
        if "episode_return" in metrics and int(metrics["updates"]) % report_every == 0:
            points.append((metrics["steps"], time.perf_counter() - start, metrics["episode_return"]))
            print(
                f"  seed {seed} steps {metrics['steps']:>10.0f} time {points[-1][1]:>8.1f}s "
                f"return {metrics['episode_return']:>8.2f}",
                flush=True,
            )

    algo.learn(steps, callback=record)
    return algo.steps / (time.perf_counter() - start), points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2_000_000, help="training environment steps per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-envs", type=int, default=128)
    parser.add_argument("--env-steps", type=int, default=20_000, help="steps for the environment-alone measurement")
    parser.add_argument("--report-every", type=int, default=10, help="print every this many updates")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    alone = environment_alone(args.n_envs, args.env_steps, 0)
    print(f"environment alone: {alone:.0f} steps/s ({args.n_envs} copies, random actions, one process)")
    for seed in args.seeds:
        speed, points = train(seed, args.steps, args.n_envs, args.report_every)
        final = points[-1][2] if points else float("nan")
        print(
            f"seed {seed}: training {speed:.0f} steps/s = {speed / alone:.2f} x environment alone; "
            f"last reported return {final:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
