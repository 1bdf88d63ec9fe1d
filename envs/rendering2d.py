"""Top-down 2D drawing of an :class:`envs.scene.Scene` with pygame, to arrays or a window.

The one 2D renderer of the toolkit: environments draw their ``human`` and ``rgb_array``
frames with it, and ``replays`` draws recorded episodes with it.

Shapes are drawn back to front; shapes of the ``body`` layer always, the others (vision cones,
lidar, sight lines, grabs, locks, labels) only when their layer is enabled. Translucent layers
(vision cones) go through one alpha surface per frame. The result is an ``[H, W, 3]`` uint8 array.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # drawing needs no display; a window only for show()
import pygame  # noqa: E402

from envs.scene import OVERLAY_LAYERS, Circle, Polygon, Scene, Segment, Wedge  # noqa: E402

#: The layers that can be switched off (``body`` is always drawn).
TOGGLEABLE_LAYERS = tuple(layer for layer in OVERLAY_LAYERS if layer != "body")
_TRANSLUCENT_ALPHA = 60
_CAPTION_HEIGHT = 22
_MARGIN = 8
_WEDGE_SEGMENTS = 16


def parse_overlays(names: Iterable[str] | str | None) -> frozenset[str]:
    """Validate overlay names ("all", "none" or layer names) and return the enabled set."""
    if names is None:
        return frozenset(TOGGLEABLE_LAYERS)
    if isinstance(names, str):
        names = [part for part in names.split(",") if part.strip()]
    enabled: set[str] = set()
    for raw in names:
        name = raw.strip()
        if name == "all":
            enabled.update(TOGGLEABLE_LAYERS)
        elif name == "none":
            continue
        elif name in TOGGLEABLE_LAYERS:
            enabled.add(name)
        else:
            close = difflib.get_close_matches(name, TOGGLEABLE_LAYERS + ("all", "none"), n=3)
            raise ValueError(
                f"unknown overlay {name!r}; valid overlays: {', '.join(TOGGLEABLE_LAYERS)}, all, none"
                + (f" (did you mean {', '.join(close)}?)" if close else "")
            )
    return frozenset(enabled)


def validate_size(width: int, height: int) -> None:
    """Video frames must be even-sized (H.264) and at least 32 pixels on each side."""
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or value < 32 or value % 2:
            raise ValueError(f"{name} must be an even integer >= 32, got {value!r}")


class SceneRenderer:
    """Draws scenes into a ``width`` x ``height`` pygame surface, as RGB arrays or in a window.

    The scene's bounds are fitted inside ``margin`` pixels (below the caption band when
    ``show_caption``), with square pixels.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        overlays: Iterable[str] | str | None = None,
        show_caption: bool = True,
        margin: int = _MARGIN,
    ) -> None:
        validate_size(width, height)
        if not pygame.font.get_init():  # drawing on surfaces needs only the font module
            pygame.font.init()
        self.width = width
        self.height = height
        self.overlays = set(parse_overlays(overlays))
        self.show_caption = show_caption
        self.margin = margin
        self.surface = pygame.Surface((width, height))
        self._translucent = pygame.Surface((width, height), pygame.SRCALPHA)
        self._font = pygame.font.Font(None, 20)
        self._label_font = pygame.font.Font(None, 16)
        self._scale = 1.0
        self._origin = (0.0, 0.0)
        self._drawers = {
            Circle: self._draw_circle,
            Polygon: self._draw_polygon,
            Segment: self._draw_segment,
            Wedge: self._draw_wedge,
        }
        self._window: pygame.Surface | None = None
        self._clock: pygame.time.Clock | None = None

    def toggle(self, layer: str) -> bool:
        """Switch ``layer`` on or off; returns whether it is now on."""
        parse_overlays([layer])
        if layer in self.overlays:
            self.overlays.discard(layer)
            return False
        self.overlays.add(layer)
        return True

    def _fit(self, bounds: tuple[float, float, float, float]) -> None:
        x_min, y_min, x_max, y_max = bounds
        top = _CAPTION_HEIGHT if self.show_caption else 0
        usable_width = self.width - 2 * self.margin
        usable_height = self.height - top - 2 * self.margin
        span_x = max(x_max - x_min, 1e-6)
        span_y = max(y_max - y_min, 1e-6)
        self._scale = min(usable_width / span_x, usable_height / span_y)
        offset_x = self.margin + (usable_width - span_x * self._scale) / 2
        offset_y = top + self.margin + (usable_height - span_y * self._scale) / 2
        self._origin = (offset_x - x_min * self._scale, offset_y + y_max * self._scale)

    def to_pixels(self, point: tuple[float, float]) -> tuple[float, float]:
        """World coordinates (metres, y up) to pixel coordinates (y down, sub-pixel floats)."""
        return (self._origin[0] + point[0] * self._scale, self._origin[1] - point[1] * self._scale)

    def _visible(self, layer: str) -> bool:
        return layer == "body" or layer in self.overlays

    def _draw_circle(self, shape: Circle, target: pygame.Surface, color) -> None:
        center = self.to_pixels(shape.center)
        pygame.draw.circle(target, color, center, max(1.0, shape.radius * self._scale), 0 if shape.filled else 1)
        if shape.heading is not None:
            tip = (
                shape.center[0] + shape.radius * math.cos(shape.heading),
                shape.center[1] + shape.radius * math.sin(shape.heading),
            )
            pygame.draw.line(target, (255, 255, 255), center, self.to_pixels(tip), 2)

    def _draw_polygon(self, shape: Polygon, target: pygame.Surface, color) -> None:
        if len(shape.points) >= 3:
            pygame.draw.polygon(
                target, color, [self.to_pixels(point) for point in shape.points], 0 if shape.filled else 1
            )

    def _draw_segment(self, shape: Segment, target: pygame.Surface, color) -> None:
        pygame.draw.line(
            target, color, self.to_pixels(shape.start), self.to_pixels(shape.end), max(1, round(shape.width))
        )

    def _draw_wedge(self, shape: Wedge, target: pygame.Surface, color) -> None:
        (x, y), radius = shape.center, shape.radius
        points = [self.to_pixels(shape.center)]
        for index in range(_WEDGE_SEGMENTS + 1):
            angle = shape.heading - shape.half_angle + 2 * shape.half_angle * index / _WEDGE_SEGMENTS
            points.append(self.to_pixels((x + radius * math.cos(angle), y + radius * math.sin(angle))))
        pygame.draw.polygon(target, color, points)

    def _draw_shape(self, shape, target: pygame.Surface, color) -> None:
        drawer = self._drawers.get(type(shape))
        if drawer is None:
            raise TypeError(f"cannot draw {type(shape).__name__}; scenes hold Circle, Polygon, Segment and Wedge")
        drawer(shape, target, color)

    def draw(
        self, scene: Scene, caption: str = "", labels: Iterable[tuple[tuple[float, float], str]] = ()
    ) -> pygame.Surface:
        """Draw ``scene`` (with ``caption`` on top, and ``labels``, text at world points, when the
        ``label`` layer is on) into the renderer's surface and return it."""
        self._fit(scene.bounds)
        self.surface.fill(scene.background)
        translucent_used = False
        for shape in scene.shapes:
            if not self._visible(shape.layer):
                continue
            if isinstance(shape, Wedge):
                if not translucent_used:
                    self._translucent.fill((0, 0, 0, 0))
                    translucent_used = True
                self._draw_shape(shape, self._translucent, (*shape.color, _TRANSLUCENT_ALPHA))
            else:
                if translucent_used:
                    self.surface.blit(self._translucent, (0, 0))
                    translucent_used = False
                self._draw_shape(shape, self.surface, shape.color)
        if translucent_used:
            self.surface.blit(self._translucent, (0, 0))
        if "label" in self.overlays:
            for point, label in labels:
                x, y = self.to_pixels(point)
                self.surface.blit(self._label_font.render(label, True, (20, 20, 20)), (round(x) + 6, round(y) + 6))
        text = " | ".join(part for part in (caption, scene.caption) if part)
        if self.show_caption and text:
            pygame.draw.rect(self.surface, (250, 250, 250), (0, 0, self.width, _CAPTION_HEIGHT))
            self.surface.blit(self._font.render(text, True, (10, 10, 10)), (6, 4))
        return self.surface

    def render(
        self, scene: Scene, caption: str = "", labels: Iterable[tuple[tuple[float, float], str]] = ()
    ) -> np.ndarray:
        """Draw ``scene`` and return the picture as an ``[H, W, 3]`` uint8 array."""
        surface = self.draw(scene, caption, labels)
        return np.frombuffer(pygame.image.tobytes(surface, "RGB"), dtype=np.uint8).reshape(self.height, self.width, 3)

    def show(self, scene: Scene, fps: int, title: str = "") -> None:
        """Draw ``scene`` in a window (opened on first use), at most ``fps`` frames per second."""
        if self._window is None or self._clock is None:
            pygame.display.init()
            self._window = pygame.display.set_mode((self.width, self.height))
            pygame.display.set_caption(title)
            self._clock = pygame.time.Clock()
        self._window.blit(self.draw(scene), (0, 0))
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(fps)

    def close(self) -> None:
        """Close the window, if one was opened."""
        if self._window is not None:
            pygame.display.quit()
            self._window = None
            self._clock = None
