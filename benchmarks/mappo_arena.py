"""MAPPO self-play on the arena's quadrant game: training throughput against the environment
alone with the same number of env copies (aim: training >= 0.6 x environment alone).

Both are measured in one run, one process, one torch thread: the environment alone steps
``--n-envs`` copies in turn with uniformly random actions; training runs MAPPO (hiders and
seekers as two policy groups, each on its own reward) and reports both teams' returns.

    python benchmarks/mappo_arena.py --n-envs 16 --updates 5
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmarks_common import machine


def environment_alone(n_envs: int, steps: int, horizon: int) -> float:
    """Steps per second of ``n_envs`` arena copies with random actions."""
    import envs.hide_and_seek_v0 as arena

    copies = [arena.parallel_env("quadrant", horizon=horizon) for _ in range(n_envs)]
    for i, env in enumerate(copies):
        env.reset(seed=i)
        for agent in env.possible_agents:
            env.action_space(agent).seed(i)
    done = 0
    start = time.perf_counter()
    while done < steps:
        for env in copies:
            if not env.agents:
                env.reset()
            env.step({agent: env.action_space(agent).sample() for agent in env.agents})
            done += 1
    return done / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=80, help="steps per env copy between updates")
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--horizon", type=int, default=240)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    alone = environment_alone(args.n_envs, args.n_envs * args.n_steps, args.horizon)
    print(f"environment alone: {alone:.0f} steps/s ({args.n_envs} copies, random actions)")

    import envs.hide_and_seek_v0 as arena
    from agents import MAPPO

    horizon = args.horizon
    algo = MAPPO(
        lambda: arena.parallel_env("quadrant", horizon=horizon), seed=args.seed, n_envs=args.n_envs,
        n_steps=args.n_steps, n_epochs=args.epochs, torch_threads=args.threads,
    )
    collection = update = 0.0

    def record(metrics: dict[str, float]) -> None:
        nonlocal collection, update
        collection += metrics["collection_seconds"]
        update += metrics["update_seconds"]
        returns = {k.split("/", 1)[1]: round(v, 2) for k, v in metrics.items() if k.startswith("episode_return/")}
        print(f"  update {metrics['updates']:.0f} steps {metrics['steps']:.0f} returns {returns}", flush=True)

    start = time.perf_counter()
    algo.learn(args.updates * args.n_envs * args.n_steps, callback=record)
    speed = algo.steps / (time.perf_counter() - start)
    print(
        f"training: {speed:.0f} steps/s = {speed / alone:.2f} x environment alone "
        f"(collection {collection:.1f}s, updates {update:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
