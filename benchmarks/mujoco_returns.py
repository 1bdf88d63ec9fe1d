"""Returns of PPO, TRPO and NPG on Gymnasium MuJoCo tasks at a fixed step budget.

For every (algorithm, task, seed) the learner trains with its published defaults for
``--steps`` environment steps; the script prints the mean return of the episodes finished
in the last 10 updates (training episodes, stochastic policy) and of 10 deterministic
evaluation episodes, with the command and the machine. Reference points at 1M steps:
PPO Hopper about 2,300, HalfCheetah about 1,400, InvertedPendulum about 950 (CleanRL);
sb3-contrib's tuned TRPO Hopper about 3,300.

    python benchmarks/mujoco_returns.py --algos ppo trpo npg --envs Hopper-v5 InvertedPendulum-v5 \
        --seeds 0 1 --steps 1000000

``--tuned`` starts from the hyperparameters ``marl train`` uses for the task (its preset:
CleanRL's PPO and rl-zoo's tuned TRPO, both normalising observations and rewards; NPG with
TRPO's collection settings and observation normalisation); ``--set`` overrides either.
"""

from __future__ import annotations

import argparse
import sys
import time

import gymnasium
import numpy as np
import torch
from benchmarks_common import machine

from agents.config import PPO_PAPER_HYPERPARAMETERS

#: The published defaults where the learner's own defaults differ from them (PPO's were chosen
#: on a panel of multi-agent environments; TRPO's and NPG's are sb3-contrib's).
PUBLISHED_DEFAULTS = {"ppo": PPO_PAPER_HYPERPARAMETERS}


def evaluate(algo, env_id: str, episodes: int, seed: int) -> float:
    """Mean return of deterministic episodes."""
    env = gymnasium.make(env_id)
    totals = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed * 1000 + episode)
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(algo.act(observation, deterministic=True))
            total += float(reward)
            done = terminated or truncated
        totals.append(total)
    return float(np.mean(totals))


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """``name=value`` pairs; values are read as Python literals when possible."""
    import ast

    overrides: dict[str, object] = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        try:
            overrides[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            overrides[name] = text
    return overrides


def tuned_hyperparameters(algorithm: str, env_id: str) -> dict[str, object]:
    """The hyperparameters of ``marl train``'s preset for ``env_id`` and ``algorithm``."""
    from marl.presets import default_run_preset

    preset = default_run_preset(env_id)
    if preset is None or not preset.tuned_for(algorithm):
        raise SystemExit(f"--tuned: marl has no preset with {algorithm} settings for {env_id}")
    return dict(preset.hyperparameters[algorithm])


def run(algorithm: str, env_id: str, seed: int, steps: int, settings: dict) -> dict[str, float]:
    """Train one learner with ``settings`` (on top of its defaults) and measure it."""
    from agents import ALGORITHMS

    algo = ALGORITHMS[algorithm](env_id, seed=seed, **settings)
    recent: list[list[float]] = []

    def record(metrics: dict[str, float]) -> None:
        recent.append([metrics["episode_return"]] if "episode_return" in metrics else [])
        del recent[:-10]

    start = time.perf_counter()
    algo.learn(steps, callback=record)
    elapsed = time.perf_counter() - start
    training = [r for update in recent for r in update]
    return {
        "train_return": float(np.mean(training)) if training else float("nan"),
        "eval_return": evaluate(algo, env_id, 10, seed),
        "steps_per_second": algo.steps / elapsed,
        "minutes": elapsed / 60,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["ppo", "trpo", "npg"])
    parser.add_argument("--envs", nargs="+", default=["Hopper-v5", "InvertedPendulum-v5"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument(
        "--n-envs", type=int, default=None, help="env copies (default: 1, or the preset's with --tuned)"
    )
    parser.add_argument(
        "--tuned", action="store_true", help="start from marl's preset for the task (see the docstring)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="hyperparameter overrides for every run, e.g. normalize_observations=True normalize_rewards=True",
    )
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    print(f"{'algo':<6} {'env':<24} {'seed':>4} {'train return':>13} {'eval return':>12} {'steps/s':>8} {'minutes':>8}")
    for env_id in args.envs:
        for algorithm in args.algos:
            for seed in args.seeds:
                published = PUBLISHED_DEFAULTS.get(algorithm, {})
                settings = {**(tuned_hyperparameters(algorithm, env_id) if args.tuned else published), **overrides}
                if args.n_envs is not None:
                    settings["n_envs"] = args.n_envs
                result = run(algorithm, env_id, seed, args.steps, settings)
                print(
                    f"{algorithm:<6} {env_id:<24} {seed:>4} {result['train_return']:>13.1f} "
                    f"{result['eval_return']:>12.1f} {result['steps_per_second']:>8.0f} {result['minutes']:>8.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
