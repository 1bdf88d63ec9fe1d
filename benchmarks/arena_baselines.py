"""Random-policy baselines of the arena: what its statistics look like before any learning.

For the quadrant game and the full game this plays ``--episodes`` episodes with uniformly
random actions (every movement bin, grab and lock equally likely, for every agent) and
reports, as means with their standard errors over episodes, the statistics the paper used to
see the stages (``TrackStatWrapper``): the largest box and ramp displacement at the end of the
preparation phase and at the end of the episode, the number of boxes and ramps locked at
those two instants, and the fraction of scored steps in which the hiders were hidden; also
how often the hiders were hidden at the first scored step and the hiders' mean return. For
the four transfer tasks it reports the random policy's mean return. Seeds are the episode
numbers, so a run is reproducible on any machine.

Usage: ``python benchmarks/arena_baselines.py [--episodes 100] [--task-episodes 40]``
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

import numpy as np
from benchmarks_common import machine

STAT_KEYS = (
    "hidden_fraction",
    "max_box_move_prep",
    "max_box_move",
    "max_ramp_move_prep",
    "max_ramp_move",
    "num_box_lock_prep",
    "num_box_lock",
    "num_ramp_lock_prep",
    "num_ramp_lock",
)
TASKS = ("lock_and_return_v0", "sequential_lock_v0", "blueprint_construction_v0", "shelter_construction_v0")


def random_action(rng: np.random.Generator) -> dict:
    """One uniformly random Dict action."""
    return {"movement": rng.integers(0, 11, 3), "grab": int(rng.integers(2)), "lock": int(rng.integers(2))}


def play(env, seed: int) -> tuple[dict[str, float], dict[str, float], bool]:
    """One random episode: its statistics, each agent's return, and whether the hiders were hidden
    at the first scored step."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    returns: dict[str, float] = {}
    hidden_first = False
    stats: dict[str, float] = {}
    prep_steps = env.game.prep_steps
    while env.agents:
        _, rewards, _, _, infos = env.step({agent: random_action(rng) for agent in env.agents})
        for agent, reward in rewards.items():
            returns[agent] = returns.get(agent, 0.0) + reward
        if env.step_count == prep_steps + 1:
            hidden_first = bool(env.replay_frame().get("hidden", False))  # tasks record no "hidden"
        for info in infos.values():
            stats = info.get("episode_stats", stats)
    return stats, returns, hidden_first


def mean_and_error(values: list[float]) -> str:
    """``mean ± standard error`` of ``values``."""
    array = np.asarray(values, dtype=np.float64)
    error = array.std(ddof=1) / np.sqrt(array.size) if array.size > 1 else 0.0
    return f"{array.mean():.3f} ± {error:.3f}"


def game_baselines(preset: str, episodes: int) -> None:
    """Print one preset's statistics under random play as a Markdown table."""
    from envs.hide_and_seek_v0 import parallel_env

    env = parallel_env(preset)
    table: dict[str, list[float]] = {key: [] for key in STAT_KEYS}
    hider_returns, hidden_first = [], []
    start = time.perf_counter()
    for episode in range(episodes):
        stats, returns, first = play(env, episode)
        for key in STAT_KEYS:
            table[key].append(stats[key])
        hider_returns.append(np.mean([r for agent, r in returns.items() if agent.startswith("hider")]))
        hidden_first.append(float(first))
    seconds = time.perf_counter() - start
    print(f"\n{preset}: {episodes} random episodes ({seconds:.0f} s)\n")
    print("| statistic | mean ± standard error |")
    print("|---|---|")
    for key in STAT_KEYS:
        print(f"| {key} | {mean_and_error(table[key])} |")
    print(f"| hidden at the first scored step | {mean_and_error(hidden_first)} |")
    print(f"| hiders' return | {mean_and_error(hider_returns)} |")


def task_baselines(episodes: int) -> None:
    """Print each transfer task's mean return under random play."""
    print(f"\ntransfer tasks: {episodes} random episodes each\n")
    print("| task | return, mean ± standard error |")
    print("|---|---|")
    for name in TASKS:
        env = importlib.import_module(f"envs.{name}").parallel_env()
        returns = [play(env, episode)[1]["agent_0"] for episode in range(episodes)]
        print(f"| {name} | {mean_and_error(returns)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="random episodes per preset")
    parser.add_argument("--task-episodes", type=int, default=40, help="random episodes per transfer task")
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    print("machine: " + machine())
    for preset in ("quadrant", "full_game"):
        game_baselines(preset, args.episodes)
    task_baselines(args.task_episodes)


if __name__ == "__main__":
    main()
