"""Draw an :class:`envs.scene.Scene` top-down with pygame, to an array or a window."""

from __future__ import annotations

import math
import os

import numpy as np

from envs.scene import Circle, Polygon, Scene, Segment, Wedge

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (the prompt variable must be set before the import)


class SceneRenderer:
    """Rasterises scenes onto a square-pixel canvas that fits the scene's bounds."""

    def __init__(self, width: int = 600, height: int = 600, margin: int = 10) -> None:
        if width < 16 or height < 16:
            raise ValueError(f"width and height must be at least 16 pixels, got {width}x{height}")
        pygame.font.init()
        self.width = width
        self.height = height
        self.margin = margin
        self.surface = pygame.Surface((width, height))
        self._font = pygame.font.Font(None, 20)
        self._window: pygame.Surface | None = None
        self._clock: pygame.time.Clock | None = None

    def draw(self, scene: Scene) -> pygame.Surface:
        """Draw ``scene`` onto the renderer's surface and return it."""
        x_min, y_min, x_max, y_max = scene.bounds
        usable_w = self.width - 2 * self.margin
        usable_h = self.height - 2 * self.margin
        scale = min(usable_w / (x_max - x_min), usable_h / (y_max - y_min))
        offset_x = self.margin + (usable_w - scale * (x_max - x_min)) / 2
        offset_y = self.margin + (usable_h - scale * (y_max - y_min)) / 2

        def to_pixels(point: tuple[float, float]) -> tuple[float, float]:
            # World y points up; screen y points down.
            return offset_x + (point[0] - x_min) * scale, offset_y + (y_max - point[1]) * scale

        self.surface.fill((255, 255, 255))
        corner = to_pixels((x_min, y_max))
        pygame.draw.rect(self.surface, scene.background,
                         pygame.Rect(corner, (scale * (x_max - x_min), scale * (y_max - y_min))))
        for shape in scene.shapes:
            if isinstance(shape, Circle):
                centre = to_pixels(shape.center)
                radius = max(1.0, shape.radius * scale)
                pygame.draw.circle(self.surface, shape.color, centre, radius, 0 if shape.filled else 1)
                if shape.filled:
                    pygame.draw.circle(self.surface, (20, 20, 20), centre, radius, 1)
                if shape.heading is not None:
                    tip = (shape.center[0] + shape.radius * math.cos(shape.heading),
                           shape.center[1] + shape.radius * math.sin(shape.heading))
                    pygame.draw.line(self.surface, (20, 20, 20), centre, to_pixels(tip), 2)
            elif isinstance(shape, Polygon):
                points = [to_pixels(p) for p in shape.points]
                pygame.draw.polygon(self.surface, shape.color, points, 0 if shape.filled else 1)
            elif isinstance(shape, Segment):
                pygame.draw.line(self.surface, shape.color, to_pixels(shape.start), to_pixels(shape.end),
                                 max(1, int(shape.width)))
            elif isinstance(shape, Wedge):
                angles = np.linspace(shape.heading - shape.half_angle, shape.heading + shape.half_angle, 16)
                arc = [(shape.center[0] + shape.radius * math.cos(a), shape.center[1] + shape.radius * math.sin(a))
                       for a in angles]
                pygame.draw.polygon(self.surface, shape.color, [to_pixels(p) for p in [shape.center, *arc]], 1)
        if scene.caption:
            self.surface.blit(self._font.render(scene.caption, True, (20, 20, 20)), (self.margin, self.margin))
        return self.surface

    def to_array(self, scene: Scene) -> np.ndarray:
        """The scene as an ``[height, width, 3]`` uint8 RGB image."""
        surface = self.draw(scene)
        return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)).copy()

    def show(self, scene: Scene, fps: int) -> None:
        """Draw the scene in a window (opened on first use), at most ``fps`` frames per second."""
        if self._window is None or self._clock is None:
            pygame.display.init()
            self._window = pygame.display.set_mode((self.width, self.height))
            pygame.display.set_caption("navigation_v0")
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
