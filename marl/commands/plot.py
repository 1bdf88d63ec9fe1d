"""``marl plot``: learning curves of one or several runs (seeds of one setting drawn with spread)."""

from __future__ import annotations

import argparse
from pathlib import Path

from marl.errors import UsageError
from marl.run_folder import RunFolder, check_creatable

EXAMPLES = """examples:
  marl plot runs/CartPole-v1-ppo-20250101-120000
  marl plot runs/seed0 runs/seed1 runs/seed2 --out cartpole_seeds.png
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl plot``."""
    parser = subparsers.add_parser(
        "plot",
        help="draw learning curves",
        description="Draw each team's episode return against environment steps, and the environment's "
        "episode statistics in a second figure. Runs with the same environment and algorithm are one curve: "
        "the mean, with a band from the lowest to the highest run. For one run of a two-team game, a third "
        "figure draws both teams' return in one panel with the stages of emergence (stage/* flags) shaded.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run folders")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE.png",
        help="where to write the figure; the statistics go to FILE_statistics.png (default: "
        "RUN_DIR/plots/learning_curves.png and episode_statistics.png for one run, "
        "plots/comparison.png and comparison_statistics.png in each run for several; one run of a "
        "two-team game also gets FILE_emergence.png or plots/emergence.png)",
    )
    parser.add_argument(
        "--smooth",
        type=int,
        default=5,
        metavar="N",
        help="moving average over N logged points of training returns (default 5; 1 = none)",
    )
    parser.add_argument("--title", help="figure title")


def figure_paths(out: Path | None, folders: list[RunFolder]) -> list[tuple[Path, Path]]:
    """(learning curves, episode statistics) paths for every place the figures go.

    ``--out X.png``: X.png and X_statistics.png; one run: its plots/learning_curves.png and
    plots/episode_statistics.png; several runs: plots/comparison.png and
    plots/comparison_statistics.png in each of them.
    """
    if out is not None:
        return [(out, out.with_name(f"{out.stem}_statistics.png"))]
    if len(folders) == 1:
        return [(folders[0].plots / "learning_curves.png", folders[0].plots / "episode_statistics.png")]
    return [(folder.plots / "comparison.png", folder.plots / "comparison_statistics.png") for folder in folders]


def run(args: argparse.Namespace) -> int:
    """Draw the figure and print where it went."""
    from marl.files import atomic_write_with
    from marl.plotting import load_curves, plot_emergence, plot_episode_statistics, plot_learning_curves

    if args.smooth < 1:
        raise UsageError(f"--smooth must be >= 1, got {args.smooth}")
    if args.out is not None and args.out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, got {args.out}")
    if args.out is not None:
        check_creatable(args.out.parent, "folder for --out")
    folders = [RunFolder.open(path) for path in args.run_dirs]
    curves = [load_curves(folder) for folder in folders]
    destinations = figure_paths(args.out, folders)
    curves_path, statistics_path = destinations[0]
    try:
        figures = [plot_learning_curves(curves, curves_path, smooth=args.smooth, title=args.title)]
    except ValueError as error:
        raise UsageError(str(error)) from None
    statistics = plot_episode_statistics(curves, statistics_path, smooth=args.smooth, title=args.title)
    if statistics is not None:
        figures.append(statistics)
    if len(curves) == 1:
        emergence_path = (
            args.out.with_name(f"{args.out.stem}_emergence.png")
            if args.out is not None
            else folders[0].plots / "emergence.png"
        )
        emergence = plot_emergence(curves[0], emergence_path, smooth=args.smooth, title=args.title)
        if emergence is not None:
            figures.append(emergence)
    written = list(figures)
    for destination in destinations[1:]:
        for figure, copy in zip(figures, destination):
            picture = figure.read_bytes()
            atomic_write_with(copy, lambda handle, picture=picture: handle.write(picture))
            written.append(copy)
    for path in written:
        print(path)
    return 0
