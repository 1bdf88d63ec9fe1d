"""Record episodes, render them to video or an interactive viewer, and measure behaviour.

Public API:

* :func:`record_episodes` - play episodes with a policy (or random actions) and write files;
* :func:`load_episode` / :func:`save_episode` - the versioned ``.npz`` episode file;
* :func:`render_episode` - MP4 (or GIF) of an episode, top-down 2D or 3D;
* :class:`ReplayViewer` - interactive pygame viewer (imported lazily: it opens a window);
* :func:`episode_statistics` - behaviour statistics (floats plus an ``events`` list).
"""

import os as _os

# Without a display, render off-screen: MuJoCo through EGL (read when mujoco is first imported)
# and pygame through its dummy driver. Explicit settings of the user are kept.
if not (_os.environ.get("DISPLAY") or _os.environ.get("WAYLAND_DISPLAY")):
    _os.environ.setdefault("MUJOCO_GL", "egl")
    _os.environ.setdefault("PYOPENGL_PLATFORM", _os.environ["MUJOCO_GL"])
    _os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from replays.environment import NotReplayableError  # noqa: E402
from replays.episode import Episode  # noqa: E402
from replays.file_format import FORMAT_VERSION, ReplayFormatError, load_episode, save_episode
from replays.recording import RandomPolicy, record_episode, record_episodes
from replays.statistics import episode_statistics, format_statistics, numeric_statistics

__all__ = [
    "Episode",
    "FORMAT_VERSION",
    "NotReplayableError",
    "RandomPolicy",
    "ReplayFormatError",
    "episode_statistics",
    "format_statistics",
    "load_episode",
    "numeric_statistics",
    "record_episode",
    "record_episodes",
    "save_episode",
    "render_episode",
    "ReplayViewer",
    "EpisodePlayer",
]


def __getattr__(name: str):
    """Import the rendering parts (pygame, imageio, MuJoCo) only when they are used."""
    if name == "render_episode":
        from replays.video import render_episode

        return render_episode
    if name == "ReplayViewer":
        from replays.viewer import ReplayViewer

        return ReplayViewer
    if name == "EpisodePlayer":
        from replays.playback import EpisodePlayer

        return EpisodePlayer
    raise AttributeError(f"module 'replays' has no attribute {name!r}")
