"""``marl import``: check a run archive (a file or a Hugging Face model repository) and unpack it."""

from __future__ import annotations

import argparse
from pathlib import Path

from marl.archive_hub import check_repo_id, hub_client, pull_archive
from marl.errors import UsageError

EXAMPLES = """examples:
  marl import quadrant.zip                       # into runs/quadrant
  marl import quadrant.zip --out runs/theirs --overwrite
  marl import --hub alice/hide-and-seek-mappo --out runs/alice
  marl eval runs/quadrant --random hider         # an imported run is an ordinary run folder
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl import``."""
    parser = subparsers.add_parser(
        "import",
        help="check a run archive and unpack it into a run folder",
        description="Check an archive made by marl export (every member listed in its manifest, nothing else, "
        "safe names, bounded sizes, matching sha256 digests) before writing anything, then unpack it "
        "atomically into a run folder that marl eval and marl replay accept.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("archive", type=Path, nargs="?", metavar="FILE.zip", help="the archive to import")
    parser.add_argument(
        "--hub",
        metavar="USER/REPO",
        help="download the archive from this Hugging Face model repository instead "
        "(needs pip install 'marl-arena[hub]')",
    )
    parser.add_argument("--revision", metavar="REVISION", help="with --hub: a branch, tag or commit (default main)")
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="the run folder to create (default runs/<archive name>)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace DIR if it is a run folder marl created (as marl train --overwrite)",
    )


def run(args: argparse.Namespace) -> int:
    """Import the archive; a bad one is refused in one line before anything is written."""
    from marl.archive import default_import_path, import_archive

    if (args.archive is None) == (args.hub is None):
        raise UsageError("give either an archive (FILE.zip) or --hub USER/REPO")
    if args.hub is not None:
        check_repo_id(args.hub)
        archive = pull_archive(hub_client(), args.hub, args.revision)
        name = args.hub.split("/")[1]
    else:
        archive, name = args.archive, args.archive.stem
    out = args.out or default_import_path(name)
    folder = import_archive(archive, out, args.overwrite)
    print(f"imported {args.hub or archive} into {folder} (marl eval {folder})")
    return 0
