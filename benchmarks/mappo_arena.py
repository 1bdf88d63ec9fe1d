"""MAPPO self-play on the arena's quadrant game: training throughput against the environment
alone with the same number of env copies (aim: training >= 0.6 x environment alone).

Training runs MAPPO (hiders and seekers as two policy groups, each on its own reward) and
prints both teams' returns. The environment alone steps ``--n-envs`` copies in turn with
uniformly random actions, in this process. The two are timed in alternation: after each
update the environment alone steps as many steps as the update collected, so both see the same
load from other jobs; the medians over the updates after the first are reported, in steps per
wall-clock second and per CPU second of this process.

    python benchmarks/mappo_arena.py --preset --n-envs 8 --n-steps 160 --epochs 4 --updates 6

``--workers N`` collects with N subprocess workers (their CPU time is not this process's, so
only the wall-clock ratio is printed); ``--update-threads`` sets the learner's
``update_threads`` (default: the CPUs available).
"""

from __future__ import annotations

import argparse
import sys

import torch
from benchmarks_common import InterleavedThroughput, machine, ratio_line, step_in_turn


def quadrant_factory(horizon: int):
    """A picklable zero-argument factory of the quadrant game (subprocess workers receive it)."""
    import envs

    return envs.make_factory("hide_and_seek_v0", preset="quadrant", horizon=horizon)


class ArenaAlone:
    """``n_envs`` quadrant-game copies stepped in turn with uniformly random actions."""

    def __init__(self, n_envs: int, horizon: int) -> None:
        factory = quadrant_factory(horizon)
        self.copies = [factory() for _ in range(n_envs)]
        for i, env in enumerate(self.copies):
            env.reset(seed=i)
            for agent in env.possible_agents:
                env.action_space(agent).seed(i)

    def step(self, steps: int) -> None:
        """Step ``steps`` environment steps (summed over copies); nothing else."""
        step_in_turn(self.copies, lambda env: {agent: env.action_space(agent).sample() for agent in env.agents}, steps)


def train(args: argparse.Namespace, measure: InterleavedThroughput) -> None:
    """One MAPPO run, timed against the environment alone by ``measure``."""
    from agents import MAPPO
    from agents.backends import SubprocessBackend

    horizon = args.horizon
    hyperparameters = {"n_envs": args.n_envs, "n_steps": args.n_steps, "n_epochs": args.epochs}
    if args.preset:
        from marl.presets import ARENA_MAPPO

        hyperparameters = {**ARENA_MAPPO, **hyperparameters}
    if args.entity_embed_dim is not None:
        hyperparameters["entity_embed_dim"] = args.entity_embed_dim
    if args.attention_heads is not None:
        hyperparameters["attention_heads"] = args.attention_heads
    algo = MAPPO(
        quadrant_factory(horizon),
        seed=args.seed,
        torch_threads=args.threads,
        update_threads=args.update_threads,
        **hyperparameters,
    )
    if args.workers:
        algo.use_backend(SubprocessBackend(args.workers))

    def record(metrics: dict[str, float]) -> None:
        measure.after_update(metrics)
        returns = {k.split("/", 1)[1]: round(v, 2) for k, v in metrics.items() if k.startswith("episode_return/")}
        print(
            f"  update {metrics['updates']:.0f} steps {metrics['steps']:.0f} collection "
            f"{metrics['collection_seconds']:.2f}s update {metrics['update_seconds']:.2f}s returns {returns}",
            flush=True,
        )

    measure.start()
    try:
        algo.learn(args.updates * args.n_envs * args.n_steps, callback=record)
    finally:
        algo.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=80, help="steps per env copy between updates")
    parser.add_argument("--updates", type=int, default=6, help="updates; the first is left out of the medians")
    parser.add_argument("--horizon", type=int, default=240)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument(
        "--preset",
        action="store_true",
        help="start from the arena preset of marl/presets.py (what `marl train hide_and_seek_v0` "
        "uses) instead of MAPPO's defaults; --n-envs, --n-steps and --epochs still apply",
    )
    parser.add_argument(
        "--entity-embed-dim", type=int, default=None, help="width of the entity encoder (default: the learner's, 64)"
    )
    parser.add_argument(
        "--attention-heads", type=int, default=None, help="attention heads of the entity encoder (default 4)"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="subprocess rollout workers (0: collect in this process)"
    )
    parser.add_argument("--update-threads", type=int, default=None, help="the learner's update_threads (default: CPUs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.updates < 2:
        parser.error("--updates must be at least 2 (the first is left out of the medians)")
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    measure = InterleavedThroughput(ArenaAlone(args.n_envs, args.horizon).step)
    train(args, measure)
    print(ratio_line(measure.summary(), args.n_envs, args.workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
