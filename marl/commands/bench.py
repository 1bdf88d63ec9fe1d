"""``marl bench``: environment steps per second alone and while training, measured in one run."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from marl.algorithms import build_algorithm
from marl.commands.request_flags import add_request_flags
from marl.errors import check_counts
from marl.trust import add_trust_flag

if TYPE_CHECKING:
    from marl.environments import EnvFactory


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl bench``."""
    parser = subparsers.add_parser(
        "bench",
        help="measure environment and training throughput",
        description="Measure, in one process and one run, the environment alone (uniformly random actions, "
        "one copy) and training with the chosen algorithm, both in environment steps per second. "
        "Hyperparameters come from the preset, --config and --set exactly as for marl train.",
    )
    add_request_flags(parser)
    parser.add_argument(
        "--env-steps",
        type=int,
        default=5_000,
        metavar="N",
        help="steps of the environment-only measurement (default 5000)",
    )
    parser.add_argument(
        "--train-steps",
        type=int,
        default=10_000,
        metavar="N",
        help="environment steps of the training measurement (default 10000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    add_trust_flag(parser)


def environment_throughput(factory: EnvFactory, steps: int, seed: int) -> tuple[float, int]:
    """Steps per second of one environment copy with uniformly random actions; and episodes run."""
    from marl.environments import as_parallel

    env = as_parallel(factory())
    try:
        for agent in env.possible_agents:
            env.action_space(agent).seed(seed)
        env.reset(seed=seed)
        episodes, done_steps = 0, 0
        started = time.perf_counter()
        while done_steps < steps:
            if not env.agents:
                episodes += 1
                env.reset(seed=seed + episodes)
            env.step({agent: env.action_space(agent).sample() for agent in env.agents})
            done_steps += 1
        return done_steps / (time.perf_counter() - started), episodes
    finally:
        env.close()


def training_throughput(learner: Any, steps: int) -> dict[str, float]:
    """Environment steps per second of ``learner.learn`` over ``steps`` steps, and where time went."""
    totals = {"collection_seconds": 0.0, "update_seconds": 0.0}

    def callback(metrics: dict[str, float]) -> None:
        for key in totals:
            totals[key] += float(metrics.get(key, 0.0))

    first = learner.steps
    started = time.perf_counter()
    learner.learn(steps, callback=callback)
    elapsed = time.perf_counter() - started
    done = learner.steps - first
    return {"steps": done, "seconds": elapsed, "steps_per_second": done / elapsed, **totals}


def run(args: argparse.Namespace) -> int:
    """Measure and print both figures and their ratio."""
    from marl.environments import inspect_environment, make_env_factory
    from marl.memory import check_rollout_memory
    from marl.resolution import resolve_run_config, train_request

    check_counts({"--env-steps": args.env_steps, "--train-steps": args.train_steps, "--envs": args.n_envs})
    request = train_request(args, steps=None, seed=args.seed)
    config = resolve_run_config(request)
    factory = make_env_factory(config.env, config.env_kwargs)
    check_rollout_memory(config, inspect_environment(factory))
    learner = build_algorithm(config.algo, factory, config.seed, config.algo_config)
    alone, episodes = environment_throughput(factory, args.env_steps, config.seed)
    training = training_throughput(learner, args.train_steps)
    busy = training["collection_seconds"] + training["update_seconds"]
    print(f"{config.env}, {config.algo}, {config.algo_config.n_envs} env copies while training")
    print(
        f"environment alone (random actions, one copy): {alone:10.0f} steps/s   ({args.env_steps} steps, "
        f"{episodes} episodes)"
    )
    print(
        f"training ({config.algo}):                         {training['steps_per_second']:10.0f} steps/s   "
        f"({training['steps']} steps in {training['seconds']:.1f} s)"
    )
    print(f"training / environment alone: {training['steps_per_second'] / alone:.2f}")
    if busy > 0:
        print(
            f"time spent collecting {100 * training['collection_seconds'] / busy:.0f}%, "
            f"updating {100 * training['update_seconds'] / busy:.0f}%"
        )
    return 0
