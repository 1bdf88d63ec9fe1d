"""Write rendered episodes to MP4 (imageio + ffmpeg) or GIF (when ffmpeg is missing or asked)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np

from replays.episode import Episode
from replays.file_format import atomic_path, load_episode
from replays.playback import EpisodePlayer

VIDEO_FORMATS = ("mp4", "gif")


def ffmpeg_available() -> bool:
    """Whether imageio can find an ffmpeg executable."""
    try:
        import imageio_ffmpeg

        return bool(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:
        return False


def choose_output(path: str | os.PathLike, video_format: str | None = None) -> tuple[Path, str]:
    """The file and format to write: ``path``'s suffix or ``video_format``, GIF when ffmpeg is missing."""
    path = Path(path)
    fmt = video_format or path.suffix.lstrip(".").lower() or "mp4"
    if fmt not in VIDEO_FORMATS:
        raise ValueError(f"video format must be one of {', '.join(VIDEO_FORMATS)}, got {fmt!r} (from {str(path)!r})")
    if fmt == "mp4" and not ffmpeg_available():
        warnings.warn("ffmpeg is not available; writing a GIF instead of an MP4", RuntimeWarning, stacklevel=2)
        fmt = "gif"
    return path.with_suffix("." + fmt), fmt


def write_video(
    frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float, video_format: str | None = None
) -> Path:
    """Encode ``frames`` (``[H, W, 3]`` uint8) to ``path`` atomically; returns the file written."""
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps!r}")
    target, fmt = choose_output(path, video_format)
    count = 0
    with atomic_path(target, suffix=f".{fmt}") as temporary:
        if fmt == "mp4":
            writer = imageio.get_writer(
                str(temporary),
                format="FFMPEG",
                fps=fps,
                codec="libx264",
                quality=7,
                macro_block_size=1,
                pixelformat="yuv420p",
                ffmpeg_params=["-preset", "veryfast"],
            )
        else:
            writer = imageio.get_writer(str(temporary), format="GIF", mode="I", duration=1000.0 / fps, loop=0)
        with writer:
            for frame in frames:
                writer.append_data(np.asarray(frame, dtype=np.uint8))
                count += 1
        if count == 0:
            raise ValueError("no frames to write")
    return target


def render_episode(
    episode: Episode | str | os.PathLike,
    out: str | os.PathLike,
    renderer: str = "2d",
    camera: str | None = None,
    overlays: Any = None,
    width: int = 640,
    height: int = 480,
    fps: float | None = None,
    video_format: str | None = None,
    env_fn: Callable[..., Any] | None = None,
) -> Path:
    """Render a recorded episode (object or file) to a video of one picture per recorded frame."""
    if not isinstance(episode, Episode):
        episode = load_episode(episode)
    player = EpisodePlayer(episode, renderer, width, height, overlays, camera, env_fn)
    try:
        return write_video(player.frames(), out, fps or episode.fps, video_format)
    finally:
        player.close()
