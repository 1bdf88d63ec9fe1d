"""``marl report``: final returns over seeds with bootstrap intervals, curves and a performance profile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marl.errors import UsageError
from marl.run_folder import check_creatable

EXAMPLES = """examples:
  marl report runs/cartpole-seeds                 # runs/cartpole-seeds/report/
  marl report runs/ppo-seeds runs/trpo-seeds --out comparison --last 5
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl report``."""
    from marl.reporting import DEFAULT_LAST_EVALUATIONS

    parser = subparsers.add_parser(
        "report",
        help="final returns over seeds: mean, median and IQM with 95%% bootstrap intervals",
        description="Find runs (recursively) under each folder, group them by environment and algorithm, and "
        "print per team the final return's mean, median and interquartile mean with 95% stratified "
        "bootstrap confidence intervals. A run's final return is the mean of its last --last evaluation "
        "returns. Writes report.json, report.csv, learning_curves.png (IQM with 95% band) and "
        "performance_profile.png.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="RUN_OR_FOLDER", help="run folders or folders of runs")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where the report's files go (default: report/ inside the first folder given)",
    )
    parser.add_argument(
        "--last",
        type=int,
        default=DEFAULT_LAST_EVALUATIONS,
        metavar="K",
        help=f"evaluation points averaged into a run's final return (default {DEFAULT_LAST_EVALUATIONS})",
    )
    parser.add_argument(
        "--resamples", type=int, default=10_000, metavar="N", help="bootstrap resamples per interval (default 10000)"
    )


def run(args: argparse.Namespace) -> int:
    """Print the report and write its files."""
    from marl.reporting import (
        collect_runs,
        differing_settings,
        format_table,
        group_rows,
        plot_performance_profile,
        plot_report_curves,
        write_report_files,
    )

    if args.resamples < 100:
        raise UsageError(f"--resamples must be >= 100 for a 95% interval, got {args.resamples}")
    runs = collect_runs(args.paths)
    out = args.out or args.paths[0] / "report"
    check_creatable(out, "report folder")
    rows = group_rows(runs, last=args.last, resamples=args.resamples)
    if not rows:
        raise UsageError(
            f"none of the {len(runs)} runs found has an evaluation return yet; "
            "evaluations are logged every eval_interval steps and at the end of training"
        )
    for row in rows:
        differing = differing_settings(row.runs)
        if differing:
            shown = ", ".join(differing[:5]) + (f" and {len(differing) - 5} more" if len(differing) > 5 else "")
            print(
                f"marl report: the {len(row.runs)} runs of {row.label} ({row.team}) differ in {shown}; "
                "they are reported as one group",
                file=sys.stderr,
            )
    files = write_report_files(rows, args.last, out)
    files.append(plot_report_curves(rows, out / "learning_curves.png"))
    files.append(plot_performance_profile(rows, out / "performance_profile.png"))
    print(
        f"final return: mean of each run's last {args.last} evaluation returns; "
        "95% stratified bootstrap intervals over runs"
    )
    print(format_table(rows))
    print("files: " + ", ".join(str(path) for path in files))
    return 0
