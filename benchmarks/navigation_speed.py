"""Environment steps per second: navigation_v0 next to mpe2's simple_spread_v3, in one run.

Both environments get the same number of agents, the same episode length (25 steps), the same
number of parallel steps and the same uniformly random discrete actions, drawn before timing.
Only ``step`` (and ``reset`` at episode ends) is timed. Rounds alternate between the two
environments so that load from other processes on a shared machine hits both alike; the best
round of each is reported.

    .venv/bin/python benchmarks/navigation_speed.py --steps 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def steps_per_second(make_env: Callable[[], object], actions: np.ndarray, seed: int) -> float:
    """Run ``len(actions)`` parallel steps with the given actions; return steps per second."""
    env = make_env()
    agents = list(env.possible_agents)
    action_dicts = [dict(zip(agents, row)) for row in actions.tolist()]
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in action_dicts:
        env.step(action)
        if not env.agents:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return len(action_dicts) / elapsed


def main() -> None:
    """Parse the arguments, time both environments and print the figures and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20000, help="parallel steps per round (default 20000)")
    parser.add_argument("--agents", type=int, default=3, help="agents (and landmarks) per environment (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in ("steps", "agents", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")

    from mpe2 import simple_spread_v3

    from envs import navigation_v0

    actions = np.random.default_rng(args.seed).integers(0, 5, size=(args.steps, args.agents))
    candidates = {
        "navigation_v0": lambda: navigation_v0.parallel_env(n_agents=args.agents, max_cycles=25),
        "mpe2.simple_spread_v3": lambda: simple_spread_v3.parallel_env(N=args.agents, max_cycles=25),
    }
    best = dict.fromkeys(candidates, 0.0)
    for _ in range(args.rounds):
        for name, make_env in candidates.items():
            best[name] = max(best[name], steps_per_second(make_env, actions, args.seed))

    print(f"machine: {cpu_name()}, {os.cpu_count()} logical cores, Python {platform.python_version()}")
    print(f"{args.agents} agents, {args.steps} steps per round, best of {args.rounds} rounds, random discrete actions")
    for name, rate in best.items():
        print(f"{name:>24}: {rate:10,.0f} steps/s")
    print(f"{'ratio':>24}: {best['navigation_v0'] / best['mpe2.simple_spread_v3']:10.1f}x")


if __name__ == "__main__":
    main()
