"""MAPPO self-play on the arena's quadrant game: training throughput against the environment
alone with the same number of env copies (aim: training >= 0.6 x environment alone).

Both are measured in one run, one process, one torch thread: the environment alone steps
``--n-envs`` copies in turn with uniformly random actions; training runs MAPPO (hiders and
seekers as two policy groups, each on its own reward) and reports both teams' returns.

    python benchmarks/mappo_arena.py --n-envs 16 --updates 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from benchmarks_common import machine


def environment_alone(n_envs: int, steps: int, horizon: int) -> tuple[float, float]:
    """Steps per wall-clock second and per CPU second of ``n_envs`` arena copies with random actions."""
    import envs.hide_and_seek_v0 as arena

    copies = [arena.parallel_env("quadrant", horizon=horizon) for _ in range(n_envs)]
    for i, env in enumerate(copies):
        env.reset(seed=i)
        for agent in env.possible_agents:
            env.action_space(agent).seed(i)
    done = 0
    start, cpu = time.perf_counter(), time.process_time()
    while done < steps:
        for env in copies:
            if not env.agents:
                env.reset()
            env.step({agent: env.action_space(agent).sample() for agent in env.agents})
            done += 1
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def train(args: argparse.Namespace) -> tuple[float, float, float, float]:
    """One MAPPO run: steps per wall-clock second, per CPU second, collection and update seconds."""
    import envs.hide_and_seek_v0 as arena
    from agents import MAPPO

    horizon = args.horizon
    hyperparameters = {"n_envs": args.n_envs, "n_steps": args.n_steps, "n_epochs": args.epochs}
    if args.preset:
        from marl.presets import ARENA_MAPPO

        hyperparameters = {**ARENA_MAPPO, **hyperparameters}
    algo = MAPPO(
        lambda: arena.parallel_env("quadrant", horizon=horizon), seed=args.seed, torch_threads=args.threads,
        **hyperparameters,
    )
    collection = update = 0.0

    def record(metrics: dict[str, float]) -> None:
        nonlocal collection, update
        collection += metrics["collection_seconds"]
        update += metrics["update_seconds"]
        returns = {k.split("/", 1)[1]: round(v, 2) for k, v in metrics.items() if k.startswith("episode_return/")}
        print(f"  update {metrics['updates']:.0f} steps {metrics['steps']:.0f} returns {returns}", flush=True)

    start, cpu = time.perf_counter(), time.process_time()
    algo.learn(args.updates * args.n_envs * args.n_steps, callback=record)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return algo.steps / elapsed, algo.steps / cpu, collection, update


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=80, help="steps per env copy between updates")
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--horizon", type=int, default=240)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--preset", action="store_true",
                        help="start from the arena preset of marl/presets.py (what `marl train hide_and_seek_v0` "
                             "uses) instead of MAPPO's defaults; --n-envs, --n-steps and --epochs still apply")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved repetitions; medians are reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    alone, alone_cpu, trained, trained_cpu, collections, updates = [], [], [], [], [], []
    for _ in range(args.repeats):  # interleaved, so both see the same load from other jobs
        speed, speed_cpu = environment_alone(args.n_envs, args.n_envs * args.n_steps, args.horizon)
        alone.append(speed)
        alone_cpu.append(speed_cpu)
        print(f"environment alone: {speed:.0f} steps/s ({args.n_envs} copies, random actions)", flush=True)
        wall, cpu_speed, collection, update = train(args)
        trained.append(wall)
        trained_cpu.append(cpu_speed)
        collections.append(collection)
        updates.append(update)
        print(f"training: {wall:.0f} steps/s (collection {collection:.1f}s, updates {update:.1f}s)", flush=True)
    median = statistics.median
    print(
        f"median of {args.repeats}: environment alone {median(alone):.0f} steps/s, training {median(trained):.0f} "
        f"steps/s = {median(trained) / median(alone):.2f} x environment alone; per CPU second "
        f"{median(alone_cpu):.0f} vs {median(trained_cpu):.0f} = {median(trained_cpu) / median(alone_cpu):.2f} x "
        f"(collection {median(collections):.1f}s, updates {median(updates):.1f}s per run)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
