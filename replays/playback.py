"""Put an environment into the recorded frames of an episode and draw them (2D or 3D).

Rendering replays the recorded poses through ``restore_replay_frame``; no policy runs and the
environment is never stepped, so a picture always matches its file.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from replays.cameras import CameraRenderer
from replays.environment import check_count_settings, find_replayable, make_environment
from replays.episode import Episode
from replays.render2d import SceneRenderer

RENDERERS = ("2d", "3d")
_STEP_IN_CAPTION = re.compile(r"\bstep\s+\d+(\s*/\s*\d+)?\s*[|,]?\s*")


def frame_caption(episode: Episode, index: int) -> str:
    """``step t/T`` plus the preparation phase and hidden flags when the frame records them."""
    parts = [f"step {index}/{episode.num_steps}"]
    frames = episode.frames
    if "prep" in frames and bool(np.asarray(frames["prep"][index]).any()):
        parts.append("preparation")
    if "hidden" in frames:
        parts.append("hidden" if bool(np.asarray(frames["hidden"][index]).all()) else "seen")
    return "  ".join(parts)


def _accepts_render_mode(factory: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "render_mode" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _shape_problem(replayable: Any, episode: Episode, source: str) -> str | None:
    """The first array the environment records that the episode lacks or holds in another shape."""
    for kind, expected, recorded in (
        ("static", replayable.replay_static(), episode.static),
        ("frame", replayable.replay_frame(), episode.frame(0)),
    ):
        for key, value in expected.items():
            if key not in recorded:
                return f"{source} has no {kind} array {key!r}, which its environment records; the file is incomplete"
            if np.shape(recorded[key]) != np.shape(value):
                return (
                    f"{source}: {kind} array {key!r} has shape {np.shape(recorded[key])} but its environment "
                    f"records {np.shape(value)}"
                )
    return None


def check_episode_fits(env: Any, replayable: Any, episode: Episode) -> None:
    """Refuse an episode whose agents or arrays differ from what the rebuilt environment records
    (ValueError naming the file and the first difference), before any frame is drawn.

    The environment restores the first frame before the arrays are compared, so its own
    explanation of a file it cannot replay (another version of it, say) comes first.
    """
    source = episode.source or "the episode"
    agents = getattr(env, "possible_agents", None)
    if agents is not None and list(agents) != list(episode.agents):
        raise ValueError(f"{source} records agents {episode.agents[:6]} but its environment has {list(agents)[:6]}")
    problem = _shape_problem(replayable, episode, source)
    try:
        replayable.restore_replay_frame(episode.static, episode.frame(0))
    except ValueError as error:
        raise ValueError(problem if problem and not str(error) else f"{source}: {str(error).splitlines()[0]}") from None
    except Exception as error:  # arrays of the wrong shape fail in many ways; the comparison says which
        reason = f"{source}: cannot restore its first frame ({type(error).__name__}: {str(error)[:120]})"
        raise ValueError(problem or reason) from None
    if problem is not None:
        raise ValueError(problem)


class EpisodePlayer:
    """Draws any frame of ``episode`` with a 2D scene renderer or the environment's 3D renderer.

    ``env_fn`` builds the environment (default: rebuild it from the episode's id and kwargs;
    for 3D with ``render_mode="rgb_array"``).
    """

    def __init__(
        self,
        episode: Episode,
        renderer: str = "2d",
        width: int = 640,
        height: int = 480,
        overlays: Any = None,
        camera: str | None = None,
        env_fn: Callable[..., Any] | None = None,
    ) -> None:
        if renderer not in RENDERERS:
            raise ValueError(f"renderer must be one of {', '.join(RENDERERS)}, got {renderer!r}")
        if camera is not None and renderer != "3d":
            raise ValueError("a camera applies to the 3d renderer; use renderer '3d' or drop the camera")
        self.scene_renderer = SceneRenderer(width, height, overlays)  # checks the size and overlays
        self.episode = episode
        self.renderer = renderer
        self.width = width
        self.height = height
        self.env = self._build_env(env_fn, renderer)
        self.replayable = find_replayable(self.env)
        self.env.reset(seed=episode.seed)  # the recorded layout; every frame is restored over it
        check_episode_fits(self.env, self.replayable, episode)
        self.camera_renderer: CameraRenderer | None = None
        self.camera: str | None = None
        if renderer == "3d":
            self.camera_renderer = CameraRenderer(self.env, self.replayable, width, height)
            self.camera = self.camera_renderer.check_camera(camera)
        self._restored: int | None = None

    def _build_env(self, env_fn: Callable[..., Any] | None, renderer: str) -> Any:
        extra = {"render_mode": "rgb_array"} if renderer == "3d" else {}
        if env_fn is not None:
            return env_fn(**extra) if extra and _accepts_render_mode(env_fn) else env_fn()
        episode = self.episode
        source = episode.source or "the episode"
        if not episode.env_id:
            raise ValueError(f"{source} does not name its environment; pass env_fn to rebuild it")
        check_count_settings(episode.env_kwargs, episode.agents, episode.static, episode.frames, source)
        return make_environment(
            episode.env_id, episode.env_kwargs, trust_code=episode.code_trusted, source=source, **extra
        )

    @property
    def cameras(self) -> tuple[str, ...]:
        """The 3D cameras offered (empty for the 2D renderer)."""
        return self.camera_renderer.cameras if self.camera_renderer else ()

    def restore(self, index: int) -> None:
        """Put the environment into frame ``index``."""
        if self._restored != index:
            self.replayable.restore_replay_frame(self.episode.static, self.episode.frame(index))
            self._restored = index

    def frame_2d(self, index: int) -> np.ndarray:
        """Top-down picture of frame ``index``."""
        self.restore(index)
        scene = self.replayable.scene()
        caption = frame_caption(self.episode, index)
        # the recorded step number replaces the environment's own (a restored world has no step
        # count), and parts of the environment's caption that repeat ours are dropped
        parts = _STEP_IN_CAPTION.sub("", scene.caption).split("|")
        scene.caption = " | ".join(part.strip() for part in parts if part.strip() and part.strip() not in caption)
        return self.scene_renderer.render(scene, caption, self.agent_labels(index))

    def agent_labels(self, index: int) -> list[tuple[tuple[float, float], str]]:
        """Agent names at their recorded positions (agents present in the episode only)."""
        positions = self.episode.frames.get("agent_pos")
        if positions is None:
            return []
        points = np.asarray(positions[index], dtype=np.float64).reshape(len(positions[index]), -1)[:, :2]
        present = np.asarray(self.episode.static.get("agent_exists", np.ones(len(points), bool))).astype(bool)
        return [
            ((float(x), float(y)), name) for (x, y), name, shown in zip(points, self.episode.agents, present) if shown
        ]

    def frame_3d(self, index: int, camera: str | None = None) -> np.ndarray:
        """3D picture of frame ``index`` from ``camera`` (default: the player's camera)."""
        if self.camera_renderer is None:
            self.camera_renderer = CameraRenderer(self.env, self.replayable, self.width, self.height)
        self.restore(index)
        return self.camera_renderer.render(camera or self.camera)

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` drawn by the chosen renderer."""
        return self.frame_3d(index) if self.renderer == "3d" else self.frame_2d(index)

    def frames(self) -> Iterator[np.ndarray]:
        """All frames of the episode in order."""
        for index in range(self.episode.num_frames):
            yield self.frame(index)

    def close(self) -> None:
        """Release the renderer and the environment."""
        if self.camera_renderer is not None:
            self.camera_renderer.close()
        close = getattr(self.env, "close", None)
        if callable(close):
            close()
