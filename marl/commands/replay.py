"""marl replay: render recorded episodes to video, print their statistics, or watch them.

FILE_OR_RUN is an episode file (.npz), a folder of episode files, or a run folder (its
replays/ folder is used). Without --stats or --view a video is written for each selected
episode (next to the episode file unless --out is given). In the viewer (--view): space
play/pause, left/right step, home/end, +/- speed, c camera, 1-6 overlays, n/p episode, q quit.
An episode whose environment id is package.module:factory is rendered only with --trust-code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from marl.errors import UsageError
from marl.run_folder import check_creatable
from marl.trust import add_trust_flag

RENDERERS = ("2d", "3d")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``marl replay`` on ``subparsers``."""
    parser = subparsers.add_parser(
        "replay",
        help="render recorded episodes to video, print behaviour statistics, or open a viewer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="FILE_OR_RUN", help="episode file, folder of episodes, or run folder")
    parser.add_argument(
        "--out",
        help="video file (.mp4 or .gif); with several episodes a folder or a name "
        "that gets the episode's name appended",
    )
    parser.add_argument("--renderer", choices=RENDERERS, default="2d", help="top-down 2D or the environment's 3D view")
    parser.add_argument("--camera", help="3D camera: one the environment lists (the arena: overhead, oblique, track)")
    parser.add_argument(
        "--episodes",
        default="all",
        help="which episodes of a folder, by position in recording order: 'all', '0', '0,2', '1-3', '-1' (the newest)",
    )
    parser.add_argument(
        "--overlays",
        default="all",
        help="2D overlays: all, none, or a comma list of lidar, vision, sight, grab, lock, label",
    )
    parser.add_argument("--stats", action="store_true", help="print behaviour statistics instead of rendering")
    parser.add_argument("--json", action="store_true", help="with --stats: print JSON")
    parser.add_argument("--view", action="store_true", help="open the interactive viewer")
    parser.add_argument("--width", type=int, default=640, help="picture width in pixels (even)")
    parser.add_argument("--height", type=int, default=480, help="picture height in pixels (even)")
    parser.add_argument("--fps", type=float, default=None, help="video frame rate (default: the environment's)")
    parser.add_argument("--format", choices=("mp4", "gif"), default=None, help="video format (default: from --out)")
    parser.add_argument("--max-frames", type=int, default=None, help=argparse.SUPPRESS)
    add_trust_flag(parser)
    parser.set_defaults(handler=run)
    return parser


def episode_files(source: str | os.PathLike) -> list[Path]:
    """The episode files named by ``source`` (a file, a folder of files, or a run folder)."""
    path = Path(source)
    if path.is_file():
        return [path]
    if not path.exists():
        raise UsageError(f"{path} does not exist; give an episode file (.npz), a folder of them, or a run folder")
    folder = path / "replays" if (path / "replays").is_dir() else path
    files = sorted(folder.glob("*.npz"), key=recording_order)
    if not files:
        raise UsageError(f"no episode files (*.npz) in {folder}; record some with 'marl eval --record' or training")
    return files


_RECORDED_NAME = re.compile(r"^(step|final)_(\d+)_")


def recording_order(path: Path) -> tuple:
    """Sort key: training's ``step_<steps>_*`` and ``final_<steps>_*`` files by steps (the final
    recording after a periodic one at the same step), after any other files by name."""
    match = _RECORDED_NAME.match(path.name)
    if match is None:
        return (0, 0, 0, path.name)
    return (1, int(match.group(2)), match.group(1) == "final", path.name)


def select_episodes(files: list[Path], spec: str) -> list[Path]:
    """Pick files by position: 'all', indices and ranges ('0,2,4-6'), negatives from the end."""
    if spec.strip() == "all":
        return files
    chosen: list[Path] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                low, high = (int(value) for value in part.split("-", 1) if value != "")
                indices = range(low, high + 1)
            else:
                indices = [int(part)]
        except ValueError:
            raise UsageError(
                f"--episodes {spec!r}: {part!r} is not an index or range; use e.g. 'all', '0', '0,2', '1-3'"
            ) from None
        for index in indices:
            if not -len(files) <= index < len(files):
                raise UsageError(
                    f"--episodes {spec!r}: index {index} is out of range; there are {len(files)} episodes "
                    f"(0 to {len(files) - 1})"
                )
            chosen.append(files[index])
    return chosen


def video_path(out: str | None, episode_file: Path, several: bool, video_format: str | None) -> Path:
    """Where to write the video of ``episode_file``."""
    suffix = "." + (video_format or "mp4")
    if out is None:
        return episode_file.with_suffix(suffix)
    target = Path(out)
    if target.suffix == "" or target.is_dir():
        return target / (episode_file.stem + suffix)
    if several:
        return target.with_name(f"{target.stem}_{episode_file.stem}{target.suffix}")
    return target


def load_episodes(files: list[Path], trust_code: bool, notes: list[str]) -> list[Any]:
    """Load (and check) every selected episode before any is used. An old file without a digest
    is used, and a line saying so is added to ``notes`` (printed once the command has succeeded,
    so that a refusal stays one line)."""
    from replays.file_format import UncheckedReplayWarning, load_episode

    episodes = []
    for path in files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UncheckedReplayWarning)
            episodes.append(load_episode(path, trust_code=trust_code))
        notes.extend(
            f"marl replay: warning: {str(warning.message).splitlines()[0]}"
            for warning in caught
            if issubclass(warning.category, UncheckedReplayWarning)
        )
    return episodes


#: What drawing or measuring a validated file can still raise when its values are out of the range its
#: environment gives them (a team index of 127, a position of 1e30): a fault of the file, not of marl.
VALUE_FAULTS = (IndexError, KeyError, TypeError, OverflowError, ArithmeticError)


@contextmanager
def file_values_checked(path: Path) -> Iterator[None]:
    """Report a file whose recorded values its environment cannot draw or measure, in one line."""
    from replays import NotReplayableError

    try:
        yield
    except NotReplayableError:
        raise
    except VALUE_FAULTS as error:
        reason = (str(error).splitlines() or [""])[0][:160]
        raise UsageError(
            f"{path}: its recorded values are out of the range its environment gives them "
            f"({type(error).__name__}: {reason}); record the episode again"
        ) from None


def _print_statistics(files: list[Path], as_json: bool, notes: list[str]) -> None:
    from replays import episode_statistics, format_statistics, numeric_statistics

    everything = {}
    for path, episode in zip(files, load_episodes(files, False, notes)):
        with file_values_checked(path):
            stats = episode_statistics(episode)
        everything[str(path)] = stats
        if not as_json:
            print(f"{path}:")
            print(format_statistics(stats))
    if len(files) > 1:
        numeric = [numeric_statistics(stats) for stats in everything.values()]
        shared = [key for key in numeric[0] if all(key in item for item in numeric)]
        means = {key: sum(item[key] for item in numeric) / len(numeric) for key in shared}
        if as_json:
            everything["mean"] = means
        else:
            print(f"mean over {len(files)} episodes:")
            print("\n".join(f"  {key:<34} {value:.4g}" for key, value in means.items()))
    if as_json:
        print(json.dumps(everything, indent=2))


def _render(args: argparse.Namespace, files: list[Path], notes: list[str]) -> None:
    from replays.video import render_episode

    episodes = load_episodes(files, args.trust_code, notes)
    for path, episode in zip(files, episodes):
        target = video_path(args.out, path, len(files) > 1, args.format)
        with file_values_checked(path):
            written = render_episode(
                episode,
                target,
                renderer=args.renderer,
                camera=args.camera,
                overlays=args.overlays,
                width=args.width,
                height=args.height,
                fps=args.fps,
                video_format=args.format,
            )
        print(f"wrote {written}")


def _view(args: argparse.Namespace, files: list[Path], notes: list[str]) -> None:
    from replays.viewer import ReplayViewer

    if os.environ.get("SDL_VIDEODRIVER") == "dummy" and args.max_frames is None:
        raise UsageError(
            "--view needs a display (DISPLAY is not set or SDL_VIDEODRIVER=dummy); "
            "write a video instead with --out clip.mp4"
        )

    viewer = ReplayViewer(
        load_episodes(files, args.trust_code, notes), args.width, args.height, args.overlays, args.renderer, args.camera
    )
    try:
        with file_values_checked(files[0] if len(files) == 1 else Path(args.source)):
            viewer.run(max_frames=args.max_frames)
    finally:
        viewer.close()


def run(args: argparse.Namespace) -> int:
    """Carry out ``marl replay``; returns the exit code (bad input raises ``UsageError``)."""
    from replays import NotReplayableError, ReplayFormatError
    from replays.render2d import parse_overlays, validate_size

    try:
        validate_size(args.width, args.height)
        parse_overlays(args.overlays)
        if args.fps is not None and not args.fps > 0:
            raise ValueError(f"--fps must be > 0, got {args.fps}")
        if args.camera is not None and args.renderer != "3d":
            raise ValueError("--camera applies to the 3d renderer; add --renderer 3d")
        if args.view and args.stats:
            raise ValueError("choose one of --view and --stats")
        files = select_episodes(episode_files(args.source), args.episodes)
        if args.out is not None and not (args.stats or args.view):
            out = Path(args.out)
            check_creatable(out if out.suffix == "" or out.is_dir() else out.parent, "folder for --out")
        notes: list[str] = []
        if args.stats:
            _print_statistics(files, args.json, notes)
        elif args.view:
            _view(args, files, notes)
        else:
            _render(args, files, notes)
    except (ValueError, ReplayFormatError, FileNotFoundError, NotReplayableError, OverflowError) as error:
        raise UsageError(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
    for note in notes:
        print(note, file=sys.stderr)
    return 0
