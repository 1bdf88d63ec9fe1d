"""Drawing the arena: 2D scenes for replays and 3D frames through ``mujoco.Renderer``.

The 3D renderer works off-screen (EGL or OSMesa, chosen by ``MUJOCO_GL``) with a fixed
overhead camera, an oblique camera or a camera tracking one agent; lidar rays, vision-cone
edges and lines of sight can be drawn into the frame. ``human`` mode shows the frames in a
pygame window.

Both renderers are drawn for reading: walls, boxes and ramps are matt (no highlight washes
out their tops in the overhead view) and outlined in a dark edge, and every ramp carries an
arrow pointing up its slope (in 2D its slope is also shaded, light at the foot, dark at the
top). Walls taller than ``max_wall_height`` can be drawn at that height (the 4 m outer walls
hide half the floor from the oblique camera); this changes the picture only, never the
model, so physics and ray casts are untouched.

Everything drawn comes from :class:`ArenaView`, a read-only view of the environment's state
(``env.view``): ``draw_scene(view)`` gives the 2D shapes, and the 3D renderer reads
the view for everything but MuJoCo's own scene.
"""

from __future__ import annotations

from dataclasses import dataclass
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
EDGE_COLOR = (40, 40, 44)
VISION_RADIUS = 1.5
#: shading of a ramp's slope in 2D, from its foot (first) to its top (last strip)
RAMP_STRIPS = 4
#: 3D outlines and slope arrows (RGBA in [0, 1])
EDGE_RGBA = (0.12, 0.12, 0.14, 1.0)
ARROW_RGBA = (0.97, 0.97, 0.92, 1.0)


@dataclass(frozen=True)
class ArenaView:
    """Everything the renderers draw, as read-only arrays (views of the live state) and values.

    A agent slots, O object slots (the first ``n_boxes`` boxes, then ramps), L lidar rays.
    """

    floor_size: float
    walls: np.ndarray  # [W, 5] x0, y0, x1, y1 (centre line), height
    wall_boxes: np.ndarray  # [W, 4] centre x, y and half extents x, y of each wall's box, as the model has it
    agent_pose: np.ndarray  # [A, 4] x, y, z, yaw
    object_pose: np.ndarray  # [O, 4]
    object_half: np.ndarray  # [O, 3] half extents
    n_boxes: int
    agent_present: np.ndarray  # [A] bool
    object_present: np.ndarray  # [O] bool
    team: np.ndarray  # [A] 0 hiders, 1 seekers
    lock_team: np.ndarray  # [O] -1 unlocked, else the locking team
    grabbed: np.ndarray  # [A] object held, -1 none
    lidar: np.ndarray  # [A, L] distances
    lidar_directions: np.ndarray  # [L, 3] world-frame unit rays
    seen: np.ndarray  # [A, A] agent i sees agent j
    vision_cone_degrees: float
    sites: np.ndarray  # [S, 2] centres of the marked construction sites in use
    cylinder: tuple[float, float, float] | None  # x, y, radius of a sheltered cylinder
    step: int
    in_preparation: bool
    wall_geom: np.ndarray  # geom ids of the walls in use (rows of ``walls``)
    box_geom: np.ndarray
    ramp_geom: np.ndarray
    cylinder_geom: int  # -1 without a cylinder
    agent_body: np.ndarray

    @property
    def hidden(self) -> bool:
        """Whether no seeker sees any hider."""
        return not self.seen[np.ix_(self.team == 1, self.team == 0)].any()

    @property
    def has_seekers(self) -> bool:
        """Whether a seeker slot exists (hidden and seen mean something only then)."""
        return bool((self.team == 1).any())

    @classmethod
    def of(cls, env: HideAndSeekEnv) -> ArenaView:
        """The view of ``env`` now (``env.view``), from its public attributes alone."""
        model, data, index = env.model, env.data, env.index
        walls = env.walls
        wall_geom = index.wall_geom[: walls.shape[0]]  # the layout's walls fill the first wall slots in order
        pose = data.qpos.reshape(env.n_entities, 4)
        sites = [geom for geom in index.site_geom if model.geom_group[geom] != W.GROUP_PARKED]
        cylinder = None
        if index.cylinder_geom >= 0:
            x, y = data.geom_xpos[index.cylinder_geom, :2]
            cylinder = (float(x), float(y), float(model.geom_size[index.cylinder_geom, 0]))
        A = env.n_agent_slots
        return cls(
            floor_size=float(env.config.floor_size),
            walls=_read_only(walls),
            wall_boxes=_read_only(
                np.concatenate([model.geom_pos[wall_geom, :2], model.geom_size[wall_geom, :2]], axis=1)
            ),
            agent_pose=_read_only(pose[:A]),
            object_pose=_read_only(pose[A:]),
            object_half=_read_only(env.object_half),
            n_boxes=env.n_box_slots,
            agent_present=_read_only(env.agent_present),
            object_present=_read_only(env.object_present),
            team=_read_only(env.team),
            lock_team=_read_only(env.rules.lock_team),
            grabbed=_read_only(env.rules.grabbed),
            lidar=_read_only(env.lidar),
            lidar_directions=_read_only(env.senses.lidar_directions),
            seen=_read_only(env.in_sight[:, :A]),
            vision_cone_degrees=float(env.config.vision_cone_degrees),
            sites=_read_only(model.geom_pos[sites, :2].reshape(-1, 2)),
            cylinder=cylinder,
            step=int(env.step_count),
            in_preparation=env.step_count < env.game.prep_steps,
            wall_geom=_read_only(wall_geom),
            box_geom=_read_only(index.box_geom),
            ramp_geom=_read_only(index.ramp_geom),
            cylinder_geom=int(index.cylinder_geom),
            agent_body=_read_only(index.agent_body),
        )


def _read_only(array: np.ndarray) -> np.ndarray:
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def tall_walls(walls: np.ndarray, max_height: float | None) -> np.ndarray:
    """Indices of the walls (rows of ``walls [W, 5]``) drawn lower than they are."""
    if max_height is None or walls.shape[0] == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(walls[:, 4] > max_height)


def _rectangle(center: np.ndarray, half: np.ndarray, yaw: float) -> tuple[tuple[float, float], ...]:
    c, s = np.cos(yaw), np.sin(yaw)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half[:2]
    x = center[0] + c * corners[:, 0] - s * corners[:, 1]
    y = center[1] + s * corners[:, 0] + c * corners[:, 1]
    return tuple((float(a), float(b)) for a, b in zip(x, y))


def _tint(color: tuple[int, int, int], toward: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(round(a + (b - a) * amount) for a, b in zip(color, toward))  # type: ignore[return-value]


def _ramp_shapes(pose: np.ndarray, half: np.ndarray, color: tuple[int, int, int]) -> list:
    """A ramp seen from above: strips shaded light (foot) to dark (top) and an arrow up the slope.

    The slope rises along the ramp's local +x (``world.py``'s wedge), so the strips run across
    x and the arrow points to +x.
    """
    shapes: list = []
    yaw = float(pose[3])
    c, s = np.cos(yaw), np.sin(yaw)
    axis = np.array([c, s])
    width = 2.0 * half[0] / RAMP_STRIPS
    for strip in range(RAMP_STRIPS):
        offset = -half[0] + (strip + 0.5) * width
        center = pose[:2] + offset * axis
        shade = _tint(_tint(color, (255, 255, 255), 0.35), (0, 0, 0), 0.55 * strip / max(RAMP_STRIPS - 1, 1))
        shapes.append(Polygon(_rectangle(center, np.array([width / 2, half[1]]), yaw), shade))
    corners = _rectangle(pose, half, yaw)
    shapes.append(Polygon(corners, EDGE_COLOR, filled=False))
    tail = pose[:2] - 0.7 * half[0] * axis
    tip = pose[:2] + 0.7 * half[0] * axis
    side = np.array([-s, c]) * 0.35 * half[1]
    back = tip - 0.35 * half[0] * axis
    shapes.append(
        Segment((float(tail[0]), float(tail[1])), (float(back[0]), float(back[1])), (255, 255, 255), width=3.0)
    )
    shapes.append(
        Polygon(
            (
                (float(tip[0]), float(tip[1])),
                (float(back[0] + side[0]), float(back[1] + side[1])),
                (float(back[0] - side[0]), float(back[1] - side[1])),
            ),
            (255, 255, 255),
        )
    )
    return shapes


def _point(xy: np.ndarray) -> tuple[float, float]:
    return float(xy[0]), float(xy[1])


def draw_scene(view: ArenaView) -> Scene:
    """The 2D shapes of an arena view, back to front."""
    floor = view.floor_size
    shapes: list = [Polygon(((0.0, 0.0), (floor, 0.0), (floor, floor), (0.0, floor)), FLOOR_COLOR)]
    for box, height in zip(view.wall_boxes, view.walls[:, 4]):  # the walls' boxes as physics has them
        color = WALL_COLOR if height < 1.0 else _tint(WALL_COLOR, (0, 0, 0), 0.4)
        shapes.append(Polygon(_rectangle(box[:2], box[2:], 0.0), color))
    for center in view.sites:
        shapes.append(Polygon(_rectangle(center, np.array([W.BOX_HALF, W.BOX_HALF]), 0.0), SITE_COLOR, filled=False))
    if view.cylinder is not None:
        x, y, radius = view.cylinder
        shapes.append(Circle((x, y), radius, CYLINDER_COLOR))
    for o in np.flatnonzero(view.object_present):
        p = view.object_pose[o]
        half = view.object_half[o]
        base = BOX_COLOR if o < view.n_boxes else RAMP_COLOR
        team = int(view.lock_team[o])
        color = base if team < 0 else _tint(base, TEAM_COLORS[team], 0.5)
        corners = _rectangle(p, half, float(p[3]))
        if o >= view.n_boxes:
            shapes.extend(_ramp_shapes(p, half, color))
        else:
            shapes.append(Polygon(corners, color))
            shapes.append(Polygon(corners, EDGE_COLOR, filled=False))
        if team >= 0:
            shapes.append(Polygon(corners, TEAM_COLORS[team], layer="lock", filled=False))
    agents = view.agent_pose
    present_agents = np.flatnonzero(view.agent_present)
    half_cone = float(np.radians(view.vision_cone_degrees) / 2)
    for i in present_agents:
        color = TEAM_COLORS[int(view.team[i])]
        shapes.append(
            Wedge(_point(agents[i]), VISION_RADIUS, float(agents[i, 3]), half_cone, _tint(color, (255, 255, 255), 0.6))
        )
    for i in present_agents:
        ends = agents[i, None, :2] + view.lidar_directions[:, :2] * view.lidar[i][:, None]
        shapes.extend(Segment(_point(agents[i]), _point(end), LIDAR_COLOR, layer="lidar") for end in ends)
    for i, j in zip(*np.nonzero(view.seen)):
        shapes.append(
            Segment(_point(agents[i]), _point(agents[j]), TEAM_COLORS[int(view.team[i])], layer="sight", width=2.0)
        )
    for i in np.flatnonzero(view.grabbed >= 0):
        shapes.append(
            Segment(_point(agents[i]), _point(view.object_pose[view.grabbed[i]]), (30, 30, 30), layer="grab", width=3.0)
        )
    for i in present_agents:
        shapes.append(
            Circle(_point(agents[i]), W.AGENT_RADIUS, TEAM_COLORS[int(view.team[i])], heading=float(agents[i, 3]))
        )
    points = np.concatenate([agents[view.agent_present, :2], view.object_pose[view.object_present, :2]])
    low = np.minimum(points.min(0) - 0.5, -0.5) if points.size else np.array([-0.5, -0.5])
    high = np.maximum(points.max(0) + 0.5, floor + 0.5) if points.size else np.array([floor + 0.5] * 2)
    caption = f"step {view.step}"
    if view.in_preparation:
        caption += " | preparation"
    elif view.has_seekers:
        caption += " | hidden" if view.hidden else " | seen"
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
        # the floor, its mark and the walls: the world body's geoms
        self._world_geoms = set(np.flatnonzero(model.geom_bodyid == 0).tolist())

    def render(
        self,
        env: HideAndSeekEnv,
        overlays: bool = False,
        camera: str = "overhead",
        track_agent: int = 0,
        max_wall_height: float | None = None,
    ) -> np.ndarray:
        """One RGB frame ``[height, width, 3]`` of the current state.

        ``max_wall_height`` (metres): walls taller than this are drawn at this height (the
        picture only; the model, physics and rays keep the real walls).
        """
        if max_wall_height is not None and not max_wall_height > 0:
            raise ValueError(f"max_wall_height must be a positive number of metres or None, got {max_wall_height!r}")
        view = env.view
        if camera == "overhead":
            self.renderer.update_scene(env.data, camera="overhead", scene_option=self.option)
        elif camera == "oblique":
            floor = view.floor_size
            self.oblique.lookat[:] = (floor / 2, floor / 2, 0.0)
            self.oblique.distance = 1.9 * floor
            self.renderer.update_scene(env.data, camera=self.oblique, scene_option=self.option)
        elif camera == "track":
            self.tracking.trackbodyid = int(view.agent_body[track_agent])
            self.renderer.update_scene(env.data, camera=self.tracking, scene_option=self.option)
        else:
            raise ValueError(f"camera must be one of {', '.join(CAMERAS)}, got {camera!r}")
        self._draw_for_reading(view, max_wall_height)
        if overlays:
            self._draw_overlays(view)
        frame = self.renderer.render()
        if self.human:
            self._show(frame)
        return frame

    def _draw_for_reading(self, view: ArenaView, max_wall_height: float | None) -> None:
        """Matt walls, boxes, ramps and floor; lowered tall walls; outlines and slope arrows."""
        scene = self.renderer.scene
        lowered = set(view.wall_geom[tall_walls(view.walls, max_wall_height)].tolist())
        outlined = set(view.wall_geom.tolist()) | set(view.box_geom.tolist())
        matt = self._world_geoms | outlined | set(view.ramp_geom.tolist()) | {view.cylinder_geom}
        boxes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for index in range(scene.ngeom):
            geom = scene.geoms[index]
            if geom.objtype != mujoco.mjtObj.mjOBJ_GEOM:
                continue
            gid = int(geom.objid)
            if gid in matt:
                geom.specular = 0.0
                geom.shininess = 0.0
                geom.reflectance = 0.0
            if gid in lowered:
                geom.size[2] = max_wall_height / 2
                geom.pos[2] = max_wall_height / 2
            if gid in outlined:
                boxes.append((np.array(geom.pos), np.array(geom.size), np.array(geom.mat).ravel()))
        for pos, size, mat in boxes:
            self._add_geom(mujoco.mjtGeom.mjGEOM_LINEBOX, size * 1.002, pos, mat, EDGE_RGBA)
        for ramp in np.flatnonzero(view.object_present[view.n_boxes :]) + view.n_boxes:
            self._outline_ramp(view.object_pose[ramp], view.object_half[ramp])

    def _outline_ramp(self, pose: np.ndarray, half: np.ndarray) -> None:
        """The edges of a ramp's wedge (rising along its local +x, ``world.py``) and an arrow up its slope."""
        c, s = np.cos(pose[3]), np.sin(pose[3])
        rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        hx, hy, hz = half

        def world(x: float, y: float, z: float) -> np.ndarray:
            return pose[:3] + rotation @ np.array([x, y, z])

        foot = [world(-hx, side * hy, -hz) for side in (-1, 1)]
        top = [world(hx, side * hy, hz) for side in (-1, 1)]
        base = [world(hx, side * hy, -hz) for side in (-1, 1)]
        for start, end in (
            (foot[0], foot[1]),
            (top[0], top[1]),
            (foot[0], top[0]),
            (foot[1], top[1]),
            (base[0], top[0]),
            (base[1], top[1]),
        ):
            self._add_connector(mujoco.mjtGeom.mjGEOM_LINE, 2.0, start, end, EDGE_RGBA)
        lift = 0.03 * hz  # just above the slope, along its normal (-x + z)
        normal = rotation @ np.array([-lift, 0.0, lift])
        tail = world(-0.75 * hx, 0.0, -0.75 * hz) + normal
        tip = world(0.8 * hx, 0.0, 0.8 * hz) + normal
        # MuJoCo draws an arrow connector over the first half of the span it is given
        self._add_connector(mujoco.mjtGeom.mjGEOM_ARROW, 0.16 * hy, tail, tail + 2.0 * (tip - tail), ARROW_RGBA)

    def _add_geom(self, kind: int, size: np.ndarray, pos: np.ndarray, mat: np.ndarray, rgba) -> None:
        scene = self.renderer.scene
        if scene.ngeom >= scene.maxgeom:
            return
        mujoco.mjv_initGeom(scene.geoms[scene.ngeom], kind, size, pos, mat, np.asarray(rgba, dtype=np.float32))
        scene.ngeom += 1

    def _add_connector(self, kind: int, width: float, start: np.ndarray, end: np.ndarray, rgba) -> None:
        scene = self.renderer.scene
        if scene.ngeom >= scene.maxgeom:
            return
        geom = scene.geoms[scene.ngeom]
        mujoco.mjv_initGeom(geom, kind, np.zeros(3), np.zeros(3), np.eye(3).ravel(), np.asarray(rgba, dtype=np.float32))
        mujoco.mjv_connector(geom, kind, width, np.asarray(start, float), np.asarray(end, float))
        scene.ngeom += 1

    def _draw_overlays(self, view: ArenaView) -> None:
        agents = view.agent_pose
        half_cone = np.radians(view.vision_cone_degrees) / 2
        for i in np.flatnonzero(view.agent_present):
            origin = agents[i, :3]
            for direction, distance in zip(view.lidar_directions, view.lidar[i]):
                self._add_connector(
                    mujoco.mjtGeom.mjGEOM_LINE, 2.0, origin, origin + direction * distance, (0.6, 0.6, 0.6, 0.6)
                )
            color = W.HIDER_RGBA if view.team[i] == 0 else W.SEEKER_RGBA
            for side in (-1.0, 1.0):
                yaw = agents[i, 3] + side * half_cone
                end = origin + VISION_RADIUS * np.array([np.cos(yaw), np.sin(yaw), 0.0])
                self._add_connector(mujoco.mjtGeom.mjGEOM_LINE, 2.0, origin, end, color)
        for i, j in zip(*np.nonzero(view.seen)):
            self._add_connector(mujoco.mjtGeom.mjGEOM_LINE, 2.0, agents[i, :3], agents[j, :3], (1.0, 0.9, 0.1, 1.0))

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
