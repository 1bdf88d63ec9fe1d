"""Drawing the arena: 2D scenes for replays and 3D frames through ``mujoco.Renderer``.

The 3D renderer works off-screen (EGL or OSMesa, chosen by ``MUJOCO_GL``) with a fixed
overhead camera or a camera tracking one agent; lidar rays, vision-cone edges and lines of
sight can be drawn into the frame. ``human`` mode shows the frames in a pygame window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mujoco
import numpy as np

from envs.scene import Circle, Polygon, Scene, Segment, Wedge

from . import world as W

if TYPE_CHECKING:
    from .environment import HideAndSeekEnv

TEAM_COLORS = ((66, 133, 244), (219, 68, 55))
BOX_COLOR = (204, 166, 102)
RAMP_COLOR = (115, 179, 102)
WALL_COLOR = (90, 90, 96)
FLOOR_COLOR = (245, 243, 235)
LIDAR_COLOR = (150, 150, 150)
SITE_COLOR = (140, 90, 190)
CYLINDER_COLOR = (242, 204, 51)
VISION_RADIUS = 1.5


def _rectangle(center: np.ndarray, half: np.ndarray, yaw: float) -> tuple[tuple[float, float], ...]:
    c, s = np.cos(yaw), np.sin(yaw)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half[:2]
    x = center[0] + c * corners[:, 0] - s * corners[:, 1]
    y = center[1] + s * corners[:, 0] + c * corners[:, 1]
    return tuple((float(a), float(b)) for a, b in zip(x, y))


def _tint(color: tuple[int, int, int], toward: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(int(round(a + (b - a) * amount)) for a, b in zip(color, toward))  # type: ignore[return-value]


def arena_scene(env: HideAndSeekEnv) -> Scene:
    """Describe the environment's current state as 2D shapes, back to front."""
    A, B = env.n_agent_slots, env.n_box_slots
    pose = env.data.qpos.reshape(env.n_entities, 4)
    floor = env.config.floor_size
    shapes: list = [Polygon(((0.0, 0.0), (floor, 0.0), (floor, floor), (0.0, floor)), FLOOR_COLOR)]
    walls = env._layout.walls if env._layout is not None else np.zeros((0, 5))
    for x0, y0, x1, y1, height in walls:
        length = float(np.hypot(x1 - x0, y1 - y0))
        yaw = float(np.arctan2(y1 - y0, x1 - x0))
        half = np.array([length / 2, W.WALL_HALF_THICKNESS])  # walls run end to end (layouts.Layout)
        color = WALL_COLOR if height < 1.0 else _tint(WALL_COLOR, (0, 0, 0), 0.4)
        shapes.append(Polygon(_rectangle(np.array([(x0 + x1) / 2, (y0 + y1) / 2]), half, yaw), color))
    for geom in env.index.site_geom:
        if env.model.geom_group[geom] != W.GROUP_PARKED:
            center = env.model.geom_pos[geom]
            square = _rectangle(center, np.array([W.BOX_HALF, W.BOX_HALF]), 0.0)
            shapes.append(Polygon(square, SITE_COLOR, filled=False))
    if env.index.cylinder_geom >= 0:
        center = env.data.geom_xpos[env.index.cylinder_geom]
        radius = float(env.model.geom_size[env.index.cylinder_geom, 0])
        shapes.append(Circle((float(center[0]), float(center[1])), radius, CYLINDER_COLOR))
    lock_team = env.rules.lock_team
    for o in np.flatnonzero(env.object_present):
        p = pose[A + o]
        half = env._object_half[o]
        base = BOX_COLOR if o < B else RAMP_COLOR
        team = int(lock_team[o])
        color = base if team < 0 else _tint(base, TEAM_COLORS[team], 0.5)
        corners = _rectangle(p, half, float(p[3]))
        shapes.append(Polygon(corners, color))
        if o >= B:  # the high edge of a ramp (local +x side)
            shapes.append(Segment(corners[1], corners[2], _tint(color, (0, 0, 0), 0.5), width=3.0))
        if team >= 0:
            shapes.append(Polygon(corners, TEAM_COLORS[team], layer="lock", filled=False))
    present_agents = np.flatnonzero(env.agent_present)
    half_cone = float(np.radians(env.config.vision_cone_degrees) / 2)
    for i in present_agents:
        p = pose[i]
        color = TEAM_COLORS[int(env.team[i])]
        shapes.append(Wedge((float(p[0]), float(p[1])), VISION_RADIUS, float(p[3]), half_cone,
                            _tint(color, (255, 255, 255), 0.6)))
    rays = env.senses.lidar_directions
    for i in present_agents:
        origin = pose[i, :2]
        ends = origin[None] + rays[:, :2] * env.lidar[i][:, None]
        for end in ends:
            shapes.append(Segment((float(origin[0]), float(origin[1])), (float(end[0]), float(end[1])),
                                  LIDAR_COLOR, layer="lidar"))
    seen = env.in_sight[:, :A]
    for i, j in zip(*np.nonzero(seen)):
        shapes.append(Segment((float(pose[i, 0]), float(pose[i, 1])), (float(pose[j, 0]), float(pose[j, 1])),
                              TEAM_COLORS[int(env.team[i])], layer="sight", width=2.0))
    for i in np.flatnonzero(env.rules.grabbed >= 0):
        target = pose[A + env.rules.grabbed[i]]
        shapes.append(Segment((float(pose[i, 0]), float(pose[i, 1])), (float(target[0]), float(target[1])),
                              (30, 30, 30), layer="grab", width=3.0))
    for i in present_agents:
        p = pose[i]
        shapes.append(Circle((float(p[0]), float(p[1])), W.AGENT_RADIUS, TEAM_COLORS[int(env.team[i])],
                             heading=float(p[3])))
    points = pose[np.concatenate([env.agent_present, env.object_present]), :2]
    low = np.minimum(points.min(0) - 0.5, -0.5) if points.size else np.array([-0.5, -0.5])
    high = np.maximum(points.max(0) + 0.5, floor + 0.5) if points.size else np.array([floor + 0.5] * 2)
    prep = env.step_count < env._prep_steps
    caption = f"step {env.step_count}" + (" | preparation" if prep else (" | hidden" if env._hidden else " | seen"))
    return Scene((float(low[0]), float(low[1]), float(high[0]), float(high[1])), shapes, caption=caption)


#: the cameras ``render()`` offers: fixed overhead, fixed oblique view of the whole floor, and
#: one following an agent slot
CAMERAS = ("overhead", "oblique", "track")


class ArenaRenderer:
    """Off-screen 3D frames of the arena from an overhead, an oblique or an agent-tracking camera."""

    def __init__(self, model: mujoco.MjModel, height: int, width: int, human: bool = False) -> None:
        self.renderer = mujoco.Renderer(model, height=height, width=width)
        self.option = mujoco.MjvOption()
        # every geom group is drawn (the floor and decorations live in groups 3 and 4, which
        # MuJoCo hides by default) except the parked entities' group
        self.option.geomgroup[:] = 1
        self.option.geomgroup[W.GROUP_PARKED] = 0
        self.tracking = mujoco.MjvCamera()
        self.tracking.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        self.tracking.distance = 4.0
        self.tracking.elevation = -50.0
        self.oblique = mujoco.MjvCamera()
        self.oblique.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.oblique.elevation = -50.0
        self.oblique.azimuth = 90.0
        self.human = human
        self._window = None
        self._size = (width, height)

    def render(self, env: HideAndSeekEnv, overlays: bool = False, camera: str = "overhead",
               track_agent: int = 0) -> np.ndarray:
        """One RGB frame ``[height, width, 3]`` of the current state."""
        if camera == "overhead":
            self.renderer.update_scene(env.data, camera="overhead", scene_option=self.option)
        elif camera == "oblique":
            floor = env.config.floor_size
            self.oblique.lookat[:] = (floor / 2, floor / 2, 0.0)
            self.oblique.distance = 1.9 * floor
            self.renderer.update_scene(env.data, camera=self.oblique, scene_option=self.option)
        elif camera == "track":
            self.tracking.trackbodyid = int(env.index.agent_body[track_agent])
            self.renderer.update_scene(env.data, camera=self.tracking, scene_option=self.option)
        else:
            raise ValueError(f"camera must be one of {', '.join(CAMERAS)}, got {camera!r}")
        if overlays:
            self._draw_overlays(env)
        frame = self.renderer.render()
        if self.human:
            self._show(frame)
        return frame

    def _draw_overlays(self, env: HideAndSeekEnv) -> None:
        scene = self.renderer.scene
        pose = env.data.qpos.reshape(env.n_entities, 4)
        A = env.n_agent_slots
        lines: list[tuple[np.ndarray, np.ndarray, tuple[float, ...]]] = []
        rays = env.senses.lidar_directions
        half_cone = np.radians(env.config.vision_cone_degrees) / 2
        for i in np.flatnonzero(env.agent_present):
            origin = pose[i, :3]
            for direction, distance in zip(rays, env.lidar[i]):
                lines.append((origin, origin + direction * distance, (0.6, 0.6, 0.6, 0.6)))
            color = W.HIDER_RGBA if env.team[i] == 0 else W.SEEKER_RGBA
            for side in (-1.0, 1.0):
                yaw = pose[i, 3] + side * half_cone
                end = origin + VISION_RADIUS * np.array([np.cos(yaw), np.sin(yaw), 0.0])
                lines.append((origin, end, color))
        for i, j in zip(*np.nonzero(env.in_sight[:, :A])):
            lines.append((pose[i, :3], pose[j, :3], (1.0, 0.9, 0.1, 1.0)))
        for start, end, rgba in lines:
            if scene.ngeom >= scene.maxgeom:
                break
            geom = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(geom, mujoco.mjtGeom.mjGEOM_LINE, np.zeros(3), np.zeros(3), np.eye(3).ravel(),
                                np.asarray(rgba, dtype=np.float32))
            mujoco.mjv_connector(geom, mujoco.mjtGeom.mjGEOM_LINE, 2.0, np.asarray(start, float),
                                 np.asarray(end, float))
            scene.ngeom += 1

    def _show(self, frame: np.ndarray) -> None:
        import pygame

        if self._window is None:
            pygame.init()
            self._window = pygame.display.set_mode(self._size)
            pygame.display.set_caption("hide and seek")
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
        self._window.blit(surface, (0, 0))
        pygame.event.pump()
        pygame.display.flip()

    def close(self) -> None:
        """Free the GL context and close the window."""
        self.renderer.close()
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None
