"""``marl export``: write a run's config, metrics, checkpoints and card as one checked zip archive."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from marl.archive_hub import check_repo_id, hub_client, push_run
from marl.errors import UsageError

EXAMPLES = """examples:
  marl export runs/quadrant quadrant.zip
  marl card runs/quadrant && marl export runs/quadrant --hub alice/hide-and-seek-mappo
  marl import quadrant.zip --out runs/quadrant-copy
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl export``."""
    parser = subparsers.add_parser(
        "export",
        help="write a run as a checked zip archive (or push it to the Hugging Face Hub)",
        description="Write RUN_DIR's config.yaml, metrics.csv, latest and best checkpoints and CARD.md into one "
        "zip archive with a manifest of every member's size and sha256; marl import checks and unpacks it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder to export")
    parser.add_argument("archive", type=Path, nargs="?", metavar="FILE.zip", help="the archive to write")
    parser.add_argument(
        "--hub",
        metavar="USER/REPO",
        help="also upload the archive and CARD.md (as README.md) to this Hugging Face model "
        "repository (needs pip install 'marl-arena[hub]' and a login)",
    )
    parser.add_argument(
        "--revision", metavar="BRANCH", help="with --hub: the branch to upload to, created if needed (default main)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace FILE.zip if it exists")


def run(args: argparse.Namespace) -> int:
    """Export the run to FILE.zip and/or the Hub; every check comes before any file is written."""
    from marl.archive import check_exportable, export_run

    if args.archive is None and args.hub is None:
        raise UsageError("give the archive to write (FILE.zip), --hub USER/REPO, or both")
    client = None
    if args.hub is not None:
        check_repo_id(args.hub)
        client = hub_client()
        card = check_exportable(args.run_dir).root / "CARD.md"
        if not card.is_file():
            raise UsageError(
                f"{args.run_dir} has no CARD.md for the model repository; write it with "
                f"marl card {args.run_dir}, then export again"
            )
    if args.archive is not None:
        manifest = export_run(args.run_dir, args.archive, args.overwrite)
        print(f"{args.archive}: {', '.join(manifest['members'])}")
        archive = args.archive
    if client is not None:
        with tempfile.TemporaryDirectory(prefix="marl-export-") as scratch:
            if args.archive is None:
                archive = Path(scratch) / "marl-run.zip"
                export_run(args.run_dir, archive)
            push_run(client, args.hub, archive, Path(args.run_dir) / "CARD.md", args.revision)
        print(f"pushed to https://huggingface.co/{args.hub} (marl import --hub {args.hub})")
    return 0
