"""An interactive pygame viewer for recorded episodes.

Keys: space play/pause; left/right step one frame (and pause); home/end first/last frame;
+/- double/halve the speed; c switch view (top-down 2D, then each 3D camera the environment
offers); 1-6 toggle overlays (lidar, vision, sight, grab, lock, label); page up/down or n/p
next/previous episode; q or escape quit. Click or drag on the slider to scrub.

All logic lives in :meth:`ReplayViewer.handle_event` and :meth:`ReplayViewer.advance`, so the
viewer runs headless (``SDL_VIDEODRIVER=dummy``) with scripted events and a frame limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import numpy as np  # noqa: E402
import pygame  # noqa: E402

from replays.episode import Episode  # noqa: E402
from replays.playback import EpisodePlayer  # noqa: E402
from replays.render2d import TOGGLEABLE_LAYERS, parse_overlays  # noqa: E402

BAR_HEIGHT = 30
MIN_SPEED = 1 / 16
MAX_SPEED = 16.0
_SPEED_UP_KEYS = {pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS}
_SLOW_DOWN_KEYS = {pygame.K_MINUS, pygame.K_KP_MINUS}
_QUIT_KEYS = {pygame.K_q, pygame.K_ESCAPE}
_OVERLAY_KEYS = {pygame.K_1 + index: layer for index, layer in enumerate(TOGGLEABLE_LAYERS)}


class ReplayViewer:
    """Plays a list of episodes in a pygame window; see the module docstring for the keys."""

    def __init__(
        self,
        episodes: Sequence[Episode],
        width: int = 640,
        height: int = 480,
        overlays: Any = None,
        renderer: str = "2d",
        camera: str | None = None,
        display_fps: float = 30.0,
        env_fn: Callable[..., Any] | None = None,
    ) -> None:
        if not episodes:
            raise ValueError("the viewer needs at least one episode")
        if not display_fps > 0:
            raise ValueError(f"display_fps must be > 0, got {display_fps!r}")
        self.episodes = list(episodes)
        self.width = width
        self.height = height
        self.overlays = set(parse_overlays(overlays))
        self.display_fps = display_fps
        self.env_fn = env_fn
        self.episode_index = 0
        self.position = 0.0
        self.playing = True
        self.speed = 1.0
        self.running = True
        self.message = ""
        self._dragging = False
        self._players: dict[tuple[int, str], EpisodePlayer] = {}
        self.views: list[str] = ["2d"]
        self._cameras_known = False
        if renderer == "3d":
            self._discover_cameras()
            if camera is not None and camera not in self.views:
                raise ValueError(f"unknown camera {camera!r}; offered: {', '.join(self.views[1:])}")
            self.view = camera or (self.views[1] if len(self.views) > 1 else "2d")
        elif renderer == "2d":
            if camera is not None:
                raise ValueError("a camera applies to the 3d renderer; use renderer '3d' or drop the camera")
            self.view = "2d"
        else:
            raise ValueError(f"renderer must be 2d or 3d, got {renderer!r}")
        if not pygame.display.get_init():
            pygame.display.init()
        if not pygame.font.get_init():
            pygame.font.init()
        self.window = pygame.display.set_mode((width, height + BAR_HEIGHT))
        self._font = pygame.font.Font(None, 18)
        self._update_title()

    @property
    def episode(self) -> Episode:
        """The episode on screen."""
        return self.episodes[self.episode_index]

    @property
    def frame_index(self) -> int:
        """The frame on screen."""
        return int(self.position)

    def _player(self, kind: str) -> EpisodePlayer:
        key = (self.episode_index, kind)
        if key not in self._players:
            for old in [k for k in self._players if k[0] != self.episode_index]:
                self._players.pop(old).close()
            self._players[key] = EpisodePlayer(
                self.episode, kind, self.width, self.height, self.overlays, env_fn=self.env_fn
            )
        return self._players[key]

    def _discover_cameras(self) -> None:
        if self._cameras_known:
            return
        self._cameras_known = True
        try:
            self.views = ["2d", *self._player("3d").cameras]
        except Exception as error:  # the environment cannot render in 3D: keep the 2D view
            self.message = f"3D unavailable: {error}"

    def _update_title(self) -> None:
        pygame.display.set_caption(f"marl replay: {self.episode.describe()}")

    # -- logic -------------------------------------------------------------------------------
    def seek(self, index: float) -> None:
        """Jump to frame ``index`` (clamped to the episode)."""
        self.position = float(min(max(index, 0), self.episode.num_frames - 1))

    def step(self, delta: int) -> None:
        """Pause and move ``delta`` frames."""
        self.playing = False
        self.seek(self.frame_index + delta)

    def set_speed(self, factor: float) -> None:
        """Multiply the playback speed by ``factor`` (within 1/16 and 16)."""
        self.speed = float(min(max(self.speed * factor, MIN_SPEED), MAX_SPEED))

    def next_view(self) -> None:
        """Switch to the next view: 2D, then each 3D camera."""
        self._discover_cameras()
        self.view = self.views[(self.views.index(self.view) + 1) % len(self.views)]

    def toggle_overlay(self, layer: str) -> None:
        """Switch an overlay layer on or off in every view."""
        if layer in self.overlays:
            self.overlays.discard(layer)
        else:
            self.overlays.add(layer)
        for player in self._players.values():
            player.scene_renderer.overlays = set(self.overlays)

    def switch_episode(self, delta: int) -> None:
        """Show the next (``delta`` = 1) or previous (-1) episode from its first frame."""
        self.episode_index = (self.episode_index + delta) % len(self.episodes)
        self.position = 0.0
        self._update_title()

    def _slider_fraction(self, x: int) -> float:
        left, right = 10, self.width - 10
        return min(max((x - left) / max(right - left, 1), 0.0), 1.0)

    def handle_event(self, event: pygame.event.Event) -> None:
        """Apply one pygame event (keys, slider mouse events, window close)."""
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            key = event.key
            if key in _QUIT_KEYS:
                self.running = False
            elif key == pygame.K_SPACE:
                self.playing = not self.playing
                if self.playing and self.frame_index >= self.episode.num_frames - 1:
                    self.seek(0)
            elif key == pygame.K_RIGHT:
                self.step(1)
            elif key == pygame.K_LEFT:
                self.step(-1)
            elif key == pygame.K_HOME:
                self.seek(0)
            elif key == pygame.K_END:
                self.seek(self.episode.num_frames - 1)
            elif key in _SPEED_UP_KEYS:
                self.set_speed(2.0)
            elif key in _SLOW_DOWN_KEYS:
                self.set_speed(0.5)
            elif key == pygame.K_c:
                self.next_view()
            elif key in _OVERLAY_KEYS:
                self.toggle_overlay(_OVERLAY_KEYS[key])
            elif key in (pygame.K_PAGEDOWN, pygame.K_n):
                self.switch_episode(1)
            elif key in (pygame.K_PAGEUP, pygame.K_p):
                self.switch_episode(-1)
        elif event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
            if event.pos[1] >= self.height:
                self._dragging = True
                self.playing = False
                self.seek(round(self._slider_fraction(event.pos[0]) * (self.episode.num_frames - 1)))
        elif event.type == pygame.MOUSEMOTION and self._dragging:
            self.seek(round(self._slider_fraction(event.pos[0]) * (self.episode.num_frames - 1)))
        elif event.type == pygame.MOUSEBUTTONUP:
            self._dragging = False

    def advance(self, seconds: float) -> None:
        """Move playback on by ``seconds`` of wall time at the current speed; pause at the end."""
        if not self.playing:
            return
        self.position += self.speed * self.episode.fps * seconds
        last = self.episode.num_frames - 1
        if self.position >= last:
            self.position = float(last)
            self.playing = False

    # -- drawing -----------------------------------------------------------------------------
    def current_picture(self) -> np.ndarray:
        """The picture of the current frame in the current view."""
        if self.view == "2d":
            return self._player("2d").frame_2d(self.frame_index)
        return self._player("3d").frame_3d(self.frame_index, self.view)

    def draw(self) -> None:
        """Draw the current frame, the slider and the status line."""
        picture = self.current_picture()
        surface = pygame.image.frombuffer(picture.tobytes(), (picture.shape[1], picture.shape[0]), "RGB")
        self.window.blit(surface, (0, 0))
        bar_top = self.height
        pygame.draw.rect(self.window, (40, 40, 40), (0, bar_top, self.width, BAR_HEIGHT))
        pygame.draw.line(self.window, (150, 150, 150), (10, bar_top + 8), (self.width - 10, bar_top + 8), 3)
        fraction = self.frame_index / max(self.episode.num_frames - 1, 1)
        knob = 10 + fraction * (self.width - 20)
        pygame.draw.circle(self.window, (240, 200, 60), (round(knob), bar_top + 8), 6)
        status = (
            f"{'play' if self.playing else 'pause'} x{self.speed:g}  frame {self.frame_index}/"
            f"{self.episode.num_frames - 1}  episode {self.episode_index + 1}/{len(self.episodes)}  "
            f"view {self.view}  overlays {','.join(sorted(self.overlays)) or 'none'}  {self.message}"
        )
        self.window.blit(self._font.render(status, True, (230, 230, 230)), (10, bar_top + 15))
        pygame.display.flip()

    def run(
        self,
        max_frames: int | None = None,
        realtime: bool = True,
        on_frame: Callable[[ReplayViewer, int], None] | None = None,
    ) -> int:
        """Show frames until quit (or ``max_frames``); returns the number of frames shown.

        ``realtime=False`` advances by exactly ``1 / display_fps`` per frame (for tests);
        ``on_frame(viewer, n)`` is called before each frame (a hook to post scripted events).
        """
        clock = pygame.time.Clock()
        shown = 0
        while self.running and (max_frames is None or shown < max_frames):
            if on_frame is not None:
                on_frame(self, shown)
            for event in pygame.event.get():
                self.handle_event(event)
            if not self.running:
                break
            seconds = clock.tick(self.display_fps) / 1000.0 if realtime else 1.0 / self.display_fps
            self.advance(seconds)
            self.draw()
            shown += 1
        return shown

    def close(self) -> None:
        """Release the renderers and the window."""
        for player in self._players.values():
            player.close()
        self._players.clear()
        pygame.display.quit()
