"""``marl crossplay``: the first team of each kept checkpoint against the other teams of each (this run or another)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from marl.errors import UsageError
from marl.run_folder import RunFolder, check_creatable
from marl.snapshots import list_snapshots
from marl.trust import add_trust_flag

if TYPE_CHECKING:
    from marl.loading import LoadedRun

EXAMPLES = """examples:
  marl train hide_and_seek_v0 --set snapshot_interval=25600 --out runs/quadrant
  marl crossplay runs/quadrant --episodes 20 --checkpoints 5
  marl crossplay runs/quadrant --out crossplay.png     # also crossplay.csv and crossplay.json
  marl crossplay runs/quadrant --against runs/quadrant-sacl --checkpoints 4   # hiders of one v seekers of the other
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl crossplay``."""
    parser = subparsers.add_parser(
        "crossplay",
        help="play a run's checkpoints against each other",
        description="Evaluate the first team (the hiders) of each of a run's kept checkpoints "
        "(checkpoints/step_<steps>.pt, written every snapshot_interval steps, and latest.pt) against the other "
        "teams (the seekers) of each one; draw the matrix of the first team's return (and of the time hidden, "
        "when the game reports it) and write every cell's numbers as CSV and JSON. With --against, the seekers come "
        "from another run's checkpoints.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    parser.add_argument("--episodes", type=int, default=10, metavar="N", help="episodes per cell (default 10)")
    parser.add_argument(
        "--checkpoints",
        type=int,
        default=5,
        metavar="K",
        help="use K checkpoints spread evenly from the first to the last (default 5)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="OTHER_RUN",
        help="take the other teams (the seekers) from this run's checkpoints instead (their spaces must fit); "
        "the checkpoints are chosen among the steps both runs kept when there are two or more",
    )
    parser.add_argument("--deterministic", action="store_true", help="take the most likely action instead of sampling")
    parser.add_argument(
        "--seed", type=int, help="seed of every cell's first episode (default: the training evaluation's seeds)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE.png",
        help="where to draw the matrix; the numbers go beside it as FILE.csv and FILE.json "
        "(default RUN_DIR/plots/crossplay.png)",
    )
    add_trust_flag(parser)


def kept_checkpoints(run_dir: Path, trust_code: bool) -> tuple[LoadedRun, dict[int, Path | None]]:
    """A run's latest checkpoint, loaded, and every kept checkpoint by its steps (``None`` for the
    latest); refused in one line when the run kept no snapshot or its game has fewer than two teams."""
    from marl.loading import open_run

    folder = RunFolder.open(run_dir)
    latest = open_run(folder.root, "latest", trust_code=trust_code)
    if latest.env_info.single_agent or len(latest.env_info.teams) < 2:
        raise UsageError(
            f"cross-play needs an environment with two teams; {latest.config.env} has "
            f"{', '.join(latest.env_info.teams)}"
        )
    files: dict[int, Path | None] = {snapshot.steps: snapshot.path for snapshot in list_snapshots(folder)}
    files[latest.steps] = None
    if len(files) < 2:
        raise UsageError(
            f"{folder.root} keeps only checkpoints/latest.pt; cross-play needs snapshots from "
            "earlier in training: train with --set snapshot_interval=N (environment steps)"
        )
    return latest, files


def load_chosen(
    latest: LoadedRun, files: dict[int, Path | None], steps: list[int], trust_code: bool
) -> list[LoadedRun]:
    """The checkpoints at ``steps`` of a run whose files :func:`kept_checkpoints` listed."""
    from marl.loading import open_run

    return [
        latest if files[step] is None else open_run(latest.folder.root, str(files[step]), trust_code=trust_code)
        for step in steps
    ]


def run(args: argparse.Namespace) -> int:
    """Check the input, play every pair of checkpoints, write the figure and the numbers."""
    from marl.crossplay import choose_evenly, crossplay, draw_crossplay, write_csv, write_json
    from marl.loading import check_opponent_spaces
    from marl.training import EVALUATION_SEED_OFFSET

    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    if args.checkpoints < 2:
        raise UsageError(f"--checkpoints must be >= 2 (a matrix needs two points of training), got {args.checkpoints}")
    if args.out is not None and args.out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, got {args.out}")
    folder = RunFolder.open(args.run_dir)
    if args.against is not None:
        RunFolder.open(args.against)
    out = args.out or folder.plots / "crossplay.png"
    check_creatable(out.parent, "folder for --out")
    latest, files = kept_checkpoints(folder.root, args.trust_code)
    row_steps = column_steps = choose_evenly(sorted(files), args.checkpoints)
    other_latest, other_files = latest, files
    if args.against is not None:
        other_latest, other_files = kept_checkpoints(args.against, args.trust_code)
        check_opponent_spaces(latest, other_latest)  # as marl eval --against
        shared = sorted(set(files) & set(other_files))
        if len(shared) >= 2:  # both runs kept these steps: the diagonal compares them at equal samples
            row_steps = column_steps = choose_evenly(shared, args.checkpoints)
        else:
            column_steps = choose_evenly(sorted(other_files), args.checkpoints)
    rows = load_chosen(latest, files, row_steps, args.trust_code)
    columns = load_chosen(other_latest, other_files, column_steps, args.trust_code)
    seed = args.seed if args.seed is not None else EVALUATION_SEED_OFFSET + latest.config.seed
    described = [
        f"{len(steps)} checkpoints ({', '.join(map(str, steps))} steps)" for steps in (row_steps, column_steps)
    ]
    print(
        (described[0] if args.against is None else f"{described[0]} against {described[1]} of {args.against}")
        + f", {args.episodes} episodes per cell, seeds {seed}..{seed + args.episodes - 1}",
        file=sys.stderr,
    )
    result = crossplay(
        rows,
        args.episodes,
        seed,
        args.deterministic,
        progress=lambda message: print(f"  {message}", file=sys.stderr),
        column_runs=columns,
    )
    for path in (
        draw_crossplay(result, out),
        write_csv(result, out.with_suffix(".csv")),
        write_json(result, out.with_suffix(".json")),
    ):
        print(path)
    return 0
