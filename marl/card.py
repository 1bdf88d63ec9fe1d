"""Model cards: ``RUN/CARD.md`` says what a run is, how it plays against random teams, and how
to train it again.

The card is Markdown with Hugging Face's metadata header (``marl export --hub`` uploads it as
the model repository's README). Its evaluation plays the run's policy as ``marl eval`` does,
with the same seeds (the training evaluation's) and the ``--random`` machinery: each team
trained against random others, everyone trained, and everyone random as the floor. The layout
is fixed and holds no dates, so the same run and checkpoint always give the same card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from marl.evaluation import EvaluationResult, learner_policy, random_policy, run_episodes, team_policy
from marl.files import atomic_write_text
from marl.loading import LoadedRun
from marl.metrics import read_metrics
from marl.training import EVALUATION_SEED_OFFSET
from marl.trust import code_named_by

CARD_NAME = "CARD.md"
ALGORITHM_NAMES = {
    "ppo": "PPO",
    "ippo": "IPPO",
    "mappo": "MAPPO",
    "trpo": "TRPO",
    "npg": "NPG",
    "reinforce": "REINFORCE",
}


@dataclass
class Scenario:
    """One evaluation of the card: which teams act at random (the rest use the trained policy)."""

    label: str
    random_teams: list[str]
    result: EvaluationResult | None = None


def scenarios_for(teams: Sequence[str]) -> list[Scenario]:
    """Everyone trained, each team trained against random others (with two or more teams), everyone random."""
    if len(teams) == 1:
        return [Scenario("trained", []), Scenario("random", list(teams))]
    each = [Scenario(f"{team} trained", [other for other in teams if other != team]) for team in teams]
    return [Scenario("all trained", []), *each, Scenario("all random", list(teams))]


def evaluate_scenarios(loaded: LoadedRun, episodes: int, seed: int, deterministic: bool) -> list[Scenario]:
    """Play ``episodes`` episodes of every scenario with the seeds ``seed``, ``seed + 1``, ..."""
    trained = learner_policy(loaded.learner, deterministic)
    scenarios = scenarios_for(loaded.env_info.teams)
    for scenario in scenarios:
        policy = trained
        if scenario.random_teams:
            chance = random_policy(loaded.env_factory, seed)
            policy = team_policy(dict.fromkeys(scenario.random_teams, chance), default=trained)
        scenario.result = run_episodes(loaded.env_factory, policy, episodes, seed=seed)
    return scenarios


def format_duration(seconds: float) -> str:
    """``1 h 02 min``, ``3 min 09 s`` or ``41.3 s``."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{seconds:.1f} s"


def wall_time(metrics_path: Path) -> str:
    """The training wall time recorded in metrics.csv (its last ``wall_time``), or why there is none."""
    columns = read_metrics(metrics_path)
    times = columns.get("wall_time")
    if times is None or not np.isfinite(times).any():
        return "not recorded (no metrics.csv)"
    return f"{format_duration(float(np.nanmax(times)))} (metrics.csv)"


def code(text: object) -> str:
    """``text`` as inline code in a table cell (backticks and pipes cannot end it early)."""
    return "`" + str(text).replace("`", "'").replace("|", "/").replace("\n", " ") + "`"


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std`` with three decimals."""
    array = np.asarray(values, dtype=float)
    return f"{array.mean():.3f} ± {array.std():.3f}"


def evaluation_tables(scenarios: list[Scenario], teams: Sequence[str]) -> list[str]:
    """The returns table (one row per scenario) and the episode statistics table (one column per scenario)."""
    lines = [
        "| scenario | random | " + " | ".join(f"return {team}" for team in teams) + " | length |",
        "|---|---|" + "---|" * len(teams) + "---|",
    ]
    for scenario in scenarios:
        assert scenario.result is not None
        returns = [
            mean_std(scenario.result.returns[team]) if scenario.result.returns.get(team) else "-" for team in teams
        ]
        lines.append(
            f"| {scenario.label} | {', '.join(scenario.random_teams) or '-'} | "
            + " | ".join(returns)
            + f" | {np.mean(scenario.result.lengths):.1f} |"
        )
    names = sorted({name for scenario in scenarios if scenario.result for name in scenario.result.stats})
    if names:
        lines += [
            "",
            "Episode statistics (mean ± std over the episodes):",
            "",
            "| statistic | " + " | ".join(scenario.label for scenario in scenarios) + " |",
            "|---|" + "---|" * len(scenarios),
        ]
        for name in names:
            cells = [
                mean_std(scenario.result.stats[name]) if scenario.result and name in scenario.result.stats else "-"
                for scenario in scenarios
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def reproduce_command(loaded: LoadedRun) -> str:
    """The command that trains the run again from its config.yaml, up to the card's checkpoint
    (``--steps`` when the checkpoint stopped short of the config's budget)."""
    trust = " --trust-code" if code_named_by(loaded.config.env) is not None else ""
    steps = f" --steps {loaded.steps}" if 0 < loaded.steps < loaded.config.steps else ""
    return f"marl train --config config.yaml --out runs/{loaded.folder.root.name}-again{steps}{trust}"


def media_lines(folder: Path) -> list[str]:
    """References to the run's learning curves and its latest video or recorded episode, when present."""
    lines = []
    curves = folder / "plots" / "learning_curves.png"
    if curves.is_file():
        lines.append("![learning curves](plots/learning_curves.png)")
    videos = sorted((folder / "replays").glob("*.mp4"))
    episodes = sorted((folder / "replays").glob("*.npz"))
    if videos:
        lines.append(f"Video of the trained policy: [replays/{videos[-1].name}](replays/{videos[-1].name})")
    elif episodes:
        lines.append(
            f"Recorded episode: `replays/{episodes[-1].name}` (render it with "
            f"`marl replay replays/{episodes[-1].name}`)"
        )
    return lines


def build_card(
    loaded: LoadedRun, scenarios: list[Scenario], episodes: int, seed: int, deterministic: bool, checkpoint_name: str
) -> str:
    """The Markdown of the card, from the loaded run and its evaluated scenarios."""
    config = loaded.config
    algo = ALGORITHM_NAMES.get(config.algo, config.algo)
    teams = loaded.env_info.teams
    kwargs = (
        yaml.safe_dump(config.env_kwargs, default_flow_style=True, sort_keys=True).strip()
        if config.env_kwargs
        else "defaults"
    )
    tags = ["reinforcement-learning", "multi-agent-reinforcement-learning", "marl-arena", config.env, config.algo]
    lines = [
        "---",
        yaml.safe_dump({"tags": tags}, sort_keys=False).strip(),
        "---",
        "",
        f"# {loaded.folder.root.name}: {algo} on {config.env}",
        "",
        "| | |",
        "|---|---|",
        f"| environment | {code(config.env)} with {code(kwargs)} |",
        f"| preset | {code(config.preset) if config.preset else '-'} |",
        f"| algorithm | {algo} ({code(config.algo)}) |",
        f"| teams | {', '.join(teams)} |",
        f"| environment steps | {loaded.steps:,} ({checkpoint_name}; the config asks for {config.steps:,}) |",
        f"| wall time | {wall_time(loaded.folder.metrics)} |",
        f"| seed | {config.seed} |",
        "",
        "## Evaluation against random teams",
        "",
        f"{episodes} episodes per scenario, seeds {seed}..{seed + episodes - 1}, "
        f"{'most likely actions' if deterministic else 'sampled actions'}; random teams act uniformly within "
        f"their action masks (`marl eval --random`). Returns are each team's mean over its agents.",
        "",
        *evaluation_tables(scenarios, teams),
        "",
        "## Reproduce",
        "",
        "The run's `config.yaml` holds every setting (environment, algorithm, hyperparameters, seed, steps):",
        "",
        "```bash",
        reproduce_command(loaded),
        "```",
    ]
    media = media_lines(loaded.folder.root)
    if media:
        lines += ["", "## Media", "", *media]
    return "\n".join(lines) + "\n"


def write_card(loaded: LoadedRun, episodes: int, checkpoint_name: str) -> Path:
    """Evaluate the run and write ``RUN/CARD.md`` atomically; returns its path."""
    seed = EVALUATION_SEED_OFFSET + loaded.config.seed
    deterministic = loaded.config.eval_deterministic
    scenarios = evaluate_scenarios(loaded, episodes, seed, deterministic)
    text = build_card(loaded, scenarios, episodes, seed, deterministic, checkpoint_name)
    path = loaded.folder.root / CARD_NAME
    atomic_write_text(path, text)
    return path
