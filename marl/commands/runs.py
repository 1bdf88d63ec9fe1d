"""``marl runs``: list run folders with their progress and final figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from marl.errors import UsageError
from marl.run_folder import DEFAULT_ROOT


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl runs``."""
    parser = subparsers.add_parser(
        "runs",
        help="list runs and their final figures",
        description="List the run folders under DIR (default ./runs): environment, algorithm, seed, steps "
        "done of planned, training time, last training return and last evaluation return of each team.",
    )
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=DEFAULT_ROOT,
        metavar="DIR",
        help="folder holding runs (default runs)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the table of runs."""
    from marl.run_index import find_runs, format_runs, summarize_run

    if not args.directory.is_dir():
        raise UsageError(f"{args.directory} is not a folder; train a run first (marl train ...) or pass DIR")
    folders = find_runs(args.directory)
    if not folders:
        print(f"no runs under {args.directory}")
        return 0
    print(format_runs([summarize_run(folder) for folder in folders]))
    return 0
