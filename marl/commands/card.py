"""``marl card``: write a run's model card, RUN/CARD.md, with an evaluation against random teams."""

from __future__ import annotations

import argparse
from pathlib import Path

from marl.errors import UsageError
from marl.trust import add_trust_flag

EXAMPLES = """examples:
  marl card runs/quadrant                    # 10 episodes per scenario
  marl card runs/quadrant --episodes 50 --checkpoint best
  marl export runs/quadrant quadrant.zip     # the archive carries CARD.md
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl card``."""
    parser = subparsers.add_parser(
        "card",
        help="write a run's model card (CARD.md)",
        description="Write RUN_DIR/CARD.md: the environment and preset, the algorithm, steps and wall time, an "
        "evaluation of each team against random teams with the episode statistics, the command that trains the "
        "run again, and its curves and video when present.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    parser.add_argument("--episodes", type=int, default=10, metavar="N", help="episodes per scenario (default 10)")
    parser.add_argument(
        "--checkpoint", default="latest", choices=("latest", "best"), help="which checkpoint plays (default latest)"
    )
    add_trust_flag(parser)


def run(args: argparse.Namespace) -> int:
    """Evaluate the run and write its card."""
    from marl.card import write_card
    from marl.loading import open_run

    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    loaded = open_run(args.run_dir, args.checkpoint, trust_code=args.trust_code)
    path = write_card(loaded, args.episodes, f"{args.checkpoint}.pt")
    print(f"card: {path}")
    return 0
