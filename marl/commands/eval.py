"""``marl eval``: play a trained run's policy and report returns per team and episode statistics."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from marl.errors import UsageError, unknown_name_message
from marl.trust import add_trust_flag

EXAMPLES = """examples:
  marl eval runs/CartPole-v1-ppo-20250101-120000 --episodes 20 --deterministic
  marl eval runs/hide_and_seek_v0-mappo-A --against runs/hide_and_seek_v0-mappo-B
  marl eval runs/hide_and_seek_v0-mappo-A --random hider --json   # trained seekers against random hiders
  marl eval runs/hide_and_seek_v0-mappo-A --record --episodes 3
  marl eval runs/my-custom-run --trust-code   # its config.yaml names package.module:factory
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl eval``."""
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a trained run",
        description="Play episodes with a run's policy; print mean and spread of each team's return "
        "and the environment's episode statistics.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder to evaluate")
    parser.add_argument("--episodes", type=int, default=10, metavar="N", help="episodes to play (default 10)")
    parser.add_argument("--deterministic", action="store_true", help="take the most likely action instead of sampling")
    parser.add_argument(
        "--checkpoint", default="latest", metavar="latest|best|FILE", help="which checkpoint to load (default latest)"
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="OTHER_RUN",
        help="this run's first team (the hiders) plays against the other run's other teams (the seekers)",
    )
    parser.add_argument(
        "--random",
        metavar="TEAMS",
        type=parse_teams,
        default=[],
        help="comma-separated teams (e.g. hider,seeker) that act uniformly at random, within their "
        "action masks, instead of with the trained policy",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout (episodes, each team's return mean and std, the "
        "mean of every episode statistic); everything else goes to stderr",
    )
    parser.add_argument("--record", action="store_true", help="also record the episodes into RUN_DIR/replays/")
    parser.add_argument("--seed", type=int, help="seed of the first episode (default: the training evaluation's seeds)")
    add_trust_flag(parser)


def parse_teams(text: str) -> list[str]:
    """``hider,seeker`` -> ["hider", "seeker"] (blanks dropped, order kept, no repeats)."""
    teams: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if name and name not in teams:
            teams.append(name)
    if not teams:
        raise argparse.ArgumentTypeError(f"expected comma-separated team names, got {text!r}")
    return teams


def check_team_names(names: list[str], teams: list[str], flag: str) -> None:
    """Refuse a team the environment does not have, naming the closest ones."""
    for name in names:
        if name not in teams:
            raise UsageError(f"{flag}: " + unknown_name_message("team", name, teams))


def run(args: argparse.Namespace) -> int:
    """Evaluate a run (optionally against another run's opponents or random teams) and print the results."""
    from marl.evaluation import format_evaluation, learner_policy, random_policy, run_episodes, team_policy
    from marl.loading import check_opponent_spaces, open_run
    from marl.recording import check_recordable, episode_recorder, record_policy
    from marl.training import EVALUATION_SEED_OFFSET

    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    if args.record and episode_recorder() is None:
        raise UsageError("--record needs the replays package's record_episodes, which is not available")
    loaded = open_run(args.run_dir, args.checkpoint, trust_code=args.trust_code)
    check_team_names(args.random, loaded.env_info.teams, "--random")
    if args.record:
        check_recordable(loaded.env_factory, loaded.config.env)
    policy = learner_policy(loaded.learner, args.deterministic)
    heading = f"{loaded.folder.root} ({loaded.config.algo} on {loaded.config.env}, {loaded.steps} steps)"
    if args.against is not None:
        if loaded.env_info.single_agent or len(loaded.env_info.teams) < 2:
            raise UsageError(
                f"--against needs an environment with two teams; {loaded.config.env} has "
                f"{', '.join(loaded.env_info.teams)}"
            )
        opponent = open_run(
            args.against,
            args.checkpoint if args.checkpoint in ("latest", "best") else "latest",
            trust_code=args.trust_code,
        )
        check_opponent_spaces(loaded, opponent)
        opponent_policy = learner_policy(opponent.learner, args.deterministic)
        policy = team_policy({loaded.env_info.first_team: policy}, default=opponent_policy)
        others = ", ".join(team for team in loaded.env_info.teams if team != loaded.env_info.first_team)
        heading = (
            f"{loaded.env_info.first_team} from {loaded.folder.root} ({loaded.steps} steps) against "
            f"{others} from {opponent.folder.root} ({opponent.steps} steps)"
        )
    seed = args.seed if args.seed is not None else EVALUATION_SEED_OFFSET + loaded.config.seed
    if args.random:
        chance = random_policy(loaded.env_factory, seed)
        policy = team_policy(dict.fromkeys(args.random, chance), default=policy)
        heading += f"; acting at random: {', '.join(args.random)}"
    mode = "deterministic" if args.deterministic else "sampled actions"
    report = sys.stderr if args.json else sys.stdout
    print(f"{heading}\n{mode}, seeds {seed}..{seed + args.episodes - 1}", file=report)
    result = run_episodes(loaded.env_factory, policy, args.episodes, seed=seed)
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print(format_evaluation(result))
    if args.record:
        prefix = f"eval_{datetime.now():%Y%m%d-%H%M%S}_"
        try:
            paths = record_policy(
                policy,
                loaded.env_factory,
                args.episodes,
                loaded.folder.replays,
                seed=seed,
                env_id=loaded.config.env,
                env_kwargs=loaded.config.env_kwargs,
                prefix=prefix,
            )
        except TypeError as error:
            raise UsageError(f"cannot record {loaded.config.env}: {str(error).splitlines()[0]}") from None
        print(
            f"recorded {len(paths)} episodes: {paths[0]}" + (f" ... {paths[-1].name}" if len(paths) > 1 else ""),
            file=report,
        )
    return 0
