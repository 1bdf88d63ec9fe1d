"""The default hyperparameters on a public panel of PettingZoo environments nobody tuned for.

For every environment x algorithm (MAPPO, IPPO, PPO: PPO is one shared policy with PPO's
defaults) x seed, the learner is built with its DEFAULT config (``MAPPO(env)``) and trained for
a fixed budget of seconds (``--budget-s``, wall clock, or the process's CPU time with
``--clock cpu``); then it is evaluated with its greedy policy:

- parallel environments: the mean episode return per agent over ``--episodes`` seeded episodes
  (the environment's own episode length), against a uniformly random policy on the same seeds.
  Where teams are opposed (``simple_tag``, ``simple_world_comm``) each team is scored on its
  own: the trained team plays against uniformly random opponents;
- turn-based games (tic-tac-toe, connect four): the win rate against a uniformly random legal
  player, alternating seats (draws and losses count against), next to a random player's.

Where ``marl`` has a tuned run preset for the environment and algorithm (``marl/presets.py``),
the same seeds are also trained with the preset's hyperparameters for the same budget. The
results go to a JSON file (``--output``) and a Markdown table is printed: per environment and
algorithm the median over seeds with the min-max range, the random policy's score, and the
tuned preset's median.

    python benchmarks/default_panel.py --budget-s 20 --seeds 0 1 2
    python benchmarks/default_panel.py --envs simple_spread tictactoe --algos mappo --seeds 0 --budget-s 10

``--set NAME=VALUE ...`` trains with those hyperparameters on top of the defaults (to compare
candidate defaults); ``--table FILE.json ...`` prints the table of earlier runs again (several files: one table).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import machine  # noqa: E402
from mujoco_returns import parse_overrides  # noqa: E402

ALGOS = ("mappo", "ippo", "ppo")
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


@dataclass(frozen=True)
class PanelEnv:
    """One environment of the panel: its id, keyword arguments, and how it is scored."""

    env_id: str
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Two-player turn-based game, scored by its win rate against a random legal player.
    game: bool = False
    #: The teams (agent names without their number) play against each other and are scored apart.
    opposed_teams: bool = False
    #: Evaluation episodes, when an episode is too long for the script's ``--episodes``.
    episodes: int | None = None


PANEL: dict[str, PanelEnv] = {
    "simple_spread": PanelEnv("mpe2.simple_spread_v3", "3 agents cover 3 landmarks, shared reward"),
    "simple_tag": PanelEnv("mpe2.simple_tag_v3", "3 slow adversaries chase 1 fast agent", opposed_teams=True),
    "simple_reference": PanelEnv("mpe2.simple_reference_v3", "2 agents speak and move (50 actions)"),
    "simple_world_comm": PanelEnv(
        "mpe2.simple_world_comm_v3", "a leader and 3 adversaries chase 2 agents, forests, food", opposed_teams=True
    ),
    "multiwalker": PanelEnv("pettingzoo.sisl.multiwalker_v9", "3 walkers carry a package (continuous actions)"),
    "pursuit": PanelEnv("pettingzoo.sisl.pursuit_v5", "8 pursuers, 30 evaders, 500 steps", episodes=3),
    "knights_archers_zombies": PanelEnv(
        "pettingzoo.butterfly.knights_archers_zombies_v11", "2 archers and 2 knights, agents that die"
    ),
    # render_ratio 8 (the default is 2) draws the screen at 120 x 70 pixels: the learner stores
    # observations as float32, and 480 x 280 images would take gigabytes per rollout.
    "cooperative_pong": PanelEnv(
        "pettingzoo.butterfly.cooperative_pong_v6",
        "2 paddles keep a ball in play, image observations",
        kwargs={"render_ratio": 8},
    ),
    "tictactoe": PanelEnv("pettingzoo.classic.tictactoe_v3", "self-play, win rate against random", game=True),
    "connect_four": PanelEnv("pettingzoo.classic.connect_four_v3", "self-play, win rate against random", game=True),
    "navigation": PanelEnv("navigation_v0", "the suite's cooperative navigation (3 agents, 25 steps)"),
}


def env_factory(panel_env: PanelEnv) -> Callable[[], Any]:
    """A zero-argument factory of the environment with the panel's keyword arguments."""
    from marl.environments import make_env_factory

    return make_env_factory(panel_env.env_id, dict(panel_env.kwargs))


def tuned_settings(panel_env: PanelEnv, algo: str) -> dict[str, Any] | None:
    """The hyperparameters of ``marl``'s run preset for the environment and algorithm, if any."""
    from marl.presets import default_run_preset

    preset = default_run_preset(panel_env.env_id)
    if preset is None or not preset.tuned_for(algo):
        return None
    return dict(preset.hyperparameters[algo])


def train_for(learner: Any, budget_s: float, clock: Callable[[], float]) -> dict[str, float]:
    """Train until ``budget_s`` seconds of ``clock`` have passed (checked after each update); also
    the largest approximate KL of an update and how many collapse warnings were raised."""
    started, wall, cpu = clock(), time.perf_counter(), time.process_time()
    largest_kl, collapse_warnings = 0.0, 0

    def watch(metrics: dict[str, float]) -> bool:
        nonlocal largest_kl, collapse_warnings
        for key, value in metrics.items():
            if key.endswith("/approx_kl") and value == value:
                largest_kl = max(largest_kl, value)
            collapse_warnings += key.endswith("/collapse_warning")
        return clock() - started < budget_s

    learner.learn(10**12, callback=watch)
    return {
        "steps": float(learner.steps),
        "updates": float(learner.updates),
        "train_wall_s": time.perf_counter() - wall,
        "train_cpu_s": time.process_time() - cpu,
        "largest_approx_kl": largest_kl,
        "collapse_warnings": collapse_warnings,
    }


class RandomPlayer:
    """A uniformly random legal player with the learner's acting interface (for games)."""

    def __init__(self, factory: Callable[[], Any], seed: int) -> None:
        from marl.evaluation import random_policy

        self.policy = random_policy(factory, seed)

    def reset_act_state(self) -> None:
        """Nothing to forget between games."""

    def act(self, observations: dict[str, Any], deterministic: bool = True) -> dict[str, Any]:
        """A random legal action for each agent."""
        return self.policy(observations)


def score(player: Any, panel_env: PanelEnv, episodes: int, seed: int) -> dict[str, float]:
    """The panel's scores of ``player`` (a trained learner, or None for uniformly random play).

    Games: ``{"win_rate": ...}``. Parallel environments: ``{"all": mean return per agent}``, and
    with opposed teams one entry per team, that team playing ``player`` against random opponents.
    """
    from marl.evaluation import learner_policy, random_policy, run_episodes, team_policy

    factory = env_factory(panel_env)
    if panel_env.game:
        from agents.turn_based_evaluation import play_against_random

        total, _ = play_against_random(player or RandomPlayer(factory, seed), factory, episodes, seed=seed)
        return {"win_rate": total.win_rate}
    random_play = random_policy(factory, seed)
    trained = learner_policy(player) if player is not None else random_play
    result = run_episodes(factory, trained, episodes, seed=seed)
    sizes = team_sizes(factory)
    scores = {"all": sum(result.mean_return(team) * size for team, size in sizes.items()) / sum(sizes.values())}
    if panel_env.opposed_teams:
        for team in sizes:
            against_random = run_episodes(factory, team_policy({team: trained}, random_play), episodes, seed=seed)
            scores[team] = against_random.mean_return(team)
    return scores


def team_sizes(factory: Callable[[], Any]) -> dict[str, int]:
    """How many agents each team (agent name without its number) has."""
    from agents.groups import team_of
    from marl.environments import as_parallel

    env = as_parallel(factory())
    sizes: dict[str, int] = {}
    for agent in env.possible_agents:
        sizes[team_of(agent)] = sizes.get(team_of(agent), 0) + 1
    env.close()
    return sizes


def run_one(name: str, algo: str, seed: int, settings: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Train one learner with ``settings`` on top of its defaults for the budget and score it."""
    from agents import ALGORITHMS

    panel_env = PANEL[name]
    learner = ALGORITHMS[algo](env_factory(panel_env), seed=seed, **settings)
    try:
        record = train_for(learner, args.budget_s, CLOCKS[args.clock])
        record["scores"] = score(learner, panel_env, episodes_of(panel_env, args), 10_000 + seed)
    finally:
        learner.close()
    return record


def episodes_of(panel_env: PanelEnv, args: argparse.Namespace) -> int:
    """Evaluation episodes (games for a game) of an environment."""
    if panel_env.game:
        return args.games
    return min(args.episodes, panel_env.episodes or args.episodes)


def main_score(panel_env: PanelEnv, scores: dict[str, float]) -> dict[str, float]:
    """The figures the table shows: the win rate, the teams' scores, or the mean per agent."""
    if panel_env.game:
        return {"win rate": scores["win_rate"]}
    if panel_env.opposed_teams:
        return {f"{team} vs random": value for team, value in scores.items() if team != "all"}
    return {"return per agent": scores["all"]}


def summary(values: list[float]) -> str:
    """Median with the min-max range of a list of per-seed figures."""
    if not values:
        return "not run"
    text = f"{statistics.median(values):.3g}"
    return text + (f" ({min(values):.3g} to {max(values):.3g})" if len(values) > 1 else "")


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per environment, algorithm and scored figure."""
    lines = [
        "| environment | algorithm | score | default: median (min to max) | random | tuned preset | steps (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in results["envs"]:
        panel_env = PANEL[name]
        random_scores = main_score(panel_env, results["random"].get(name, {})) if name in results["random"] else {}
        for algo in results["algos"]:
            runs = [r for r in results["runs"] if r["env"] == name and r["algo"] == algo]
            default = [r for r in runs if r["settings"] == "default"]
            tuned = [r for r in runs if r["settings"] == "tuned"]
            labels = list(random_scores) or (list(main_score(panel_env, default[0]["scores"])) if default else [])
            for label in labels:
                values = [main_score(panel_env, r["scores"])[label] for r in default]
                tuned_values = [main_score(panel_env, r["scores"])[label] for r in tuned]
                random_value = f"{random_scores[label]:.3g}" if label in random_scores else "not run"
                steps = f"{statistics.median(r['steps'] for r in default):,.0f}" if default else "not run"
                lines.append(
                    f"| {name} | {algo} | {label} | {summary(values)} | {random_value} | "
                    f"{summary(tuned_values) if tuned_values else '-'} | {steps} |"
                )
    return "\n".join(lines)


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The results of several runs of the script (say one per algorithm) as one."""
    names = {name for part in parts for name in part["envs"]}
    algos = {algo for part in parts for algo in part["algos"]}
    return {
        "envs": [name for name in PANEL if name in names],
        "algos": [algo for algo in ALGOS if algo in algos],
        "random": {name: scores for part in parts for name, scores in part["random"].items()},
        "runs": [run for part in parts for run in part["runs"]],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", choices=sorted(PANEL), default=list(PANEL))
    parser.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget-s", type=float, default=30.0, help="training seconds per run")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="what the budget counts")
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per score")
    parser.add_argument("--games", type=int, default=200, help="games against the random player")
    parser.add_argument("--no-tuned", action="store_true", help="skip the runs with the tuned presets")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="NAME=VALUE", help="train with these instead of defaults"
    )
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).resolve().parent / "results" / "default_panel.json"
    )
    parser.add_argument(
        "--table",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="print the table of earlier runs' JSON files, train nothing",
    )
    args = parser.parse_args(argv)
    if args.budget_s <= 0:
        parser.error(f"--budget-s must be > 0, got {args.budget_s}")
    if args.episodes < 1 or args.games < 1:
        parser.error("--episodes and --games must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.table:
        print(table(merge([json.loads(path.read_text(encoding="utf-8")) for path in args.table])))
        return 0
    overrides = parse_overrides(args.set)
    command = " ".join(["python", "benchmarks/default_panel.py", *(argv if argv is not None else sys.argv[1:])])
    results: dict[str, Any] = {
        "command": command,
        "machine": machine(),
        "budget_s": args.budget_s,
        "clock": args.clock,
        "overrides": overrides,
        "envs": args.envs,
        "algos": args.algos,
        "seeds": args.seeds,
        "random": {},
        "runs": [],
    }
    print("command:", command)
    print("machine:", results["machine"], flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Seeds outermost: a run cut short still has every environment with its first seeds.
    for seed in args.seeds:
        for name in args.envs:
            panel_env = PANEL[name]
            if name not in results["random"]:
                results["random"][name] = score(None, panel_env, episodes_of(panel_env, args), 10_000)
                print(f"{name}: random {results['random'][name]}", flush=True)
            for algo in args.algos:
                tuned = None if args.no_tuned or overrides else tuned_settings(panel_env, algo)
                variants = [("default", overrides)] + ([("tuned", tuned)] if tuned is not None else [])
                for label, settings in variants:
                    record = run_one(name, algo, seed, settings, args)
                    record.update(env=name, algo=algo, seed=seed, settings=label)
                    results["runs"].append(record)
                    print(
                        f"  {name} {algo} seed {seed} {label}: {record['steps']:.0f} steps, {record['updates']:.0f} "
                        f"updates in {record['train_wall_s']:.0f} s ({record['train_cpu_s']:.0f} s CPU): "
                        f"{record['scores']}",
                        flush=True,
                    )
                    write_json(args.output, results)
    write_json(args.output, results)
    print(table(results))
    print(f"results: {args.output}")
    return 0


def write_json(path: Path, results: dict[str, Any]) -> None:
    """Write the results so far (the file is complete after every run)."""
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(results, indent=1), encoding="utf-8")
    temporary.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
