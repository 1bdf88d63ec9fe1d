"""Record episodes, render them to video or an interactive viewer, and measure behaviour.

Public API:

* :func:`record_episodes` - play episodes with a policy (or random actions) and write files;
* :func:`load_episode` / :func:`save_episode` - the versioned ``.npz`` episode file;
* :func:`render_episode` - MP4 (or GIF) of an episode, top-down 2D or 3D;
* :class:`ReplayViewer` - interactive pygame viewer (imported lazily: it opens a window);
* :func:`episode_statistics` - behaviour statistics (floats plus an ``events`` list).
"""

from replays.episode import Episode
from replays.file_format import FORMAT_VERSION, ReplayFormatError, load_episode, save_episode
from replays.recording import RandomPolicy, record_episode, record_episodes
from replays.statistics import episode_statistics, format_statistics, numeric_statistics

__all__ = [
    "Episode",
    "FORMAT_VERSION",
    "RandomPolicy",
    "ReplayFormatError",
    "episode_statistics",
    "format_statistics",
    "load_episode",
    "numeric_statistics",
    "record_episode",
    "record_episodes",
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
