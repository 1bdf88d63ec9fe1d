"""``marl plot``: learning curves of one or several runs (seeds of one setting drawn with spread)."""

from __future__ import annotations

import argparse
from pathlib import Path

from marl.errors import UsageError
from marl.plotting import load_curves, plot_learning_curves
from marl.run_folder import RunFolder

EXAMPLES = """examples:
  marl plot runs/CartPole-v1-ppo-20250101-120000
  marl plot runs/seed0 runs/seed1 runs/seed2 --out cartpole_seeds.png
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl plot``."""
    parser = subparsers.add_parser(
        "plot",
        help="draw learning curves",
        description="Draw each team's episode return against environment steps. Runs with the same "
        "environment and algorithm are one curve: the mean, with a band from the lowest to the highest run.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run folders")
    parser.add_argument("--out", type=Path, metavar="FILE.png",
                        help="where to write the figure (default: RUN_DIR/plots/learning_curves.png for one run, "
                        "RUN_DIR/plots/comparison.png in each run for several)")
    parser.add_argument("--smooth", type=int, default=5, metavar="N",
                        help="moving average over N logged points of training returns (default 5; 1 = none)")
    parser.add_argument("--title", help="figure title")


def run(args: argparse.Namespace) -> int:
    """Draw the figure and print where it went."""
    if args.smooth < 1:
        raise UsageError(f"--smooth must be >= 1, got {args.smooth}")
    if args.out is not None and args.out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, got {args.out}")
    folders = [RunFolder.open(path) for path in args.run_dirs]
    curves = [load_curves(folder) for folder in folders]
    if args.out is not None:
        targets = [args.out]
    elif len(folders) == 1:
        targets = [folders[0].plots / "learning_curves.png"]
    else:
        targets = [folder.plots / "comparison.png" for folder in folders]
    try:
        first = plot_learning_curves(curves, targets[0], smooth=args.smooth, title=args.title)
    except ValueError as error:
        raise UsageError(str(error)) from None
    written = [first]
    for target in targets[1:]:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(first.read_bytes())
        written.append(target)
    for path in written:
        print(path)
    return 0
