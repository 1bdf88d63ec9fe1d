"""The MuJoCo world of the arena, built with ``mujoco.MjSpec`` and compiled once.

One model holds the largest entity counts of a configuration and a pool of wall slots.
An episode's layout and counts are applied by writing model fields (wall and box sizes and
positions, contact flags, geom groups) on the environment's own copy of the compiled model,
so a reset never recompiles. Entities absent from an episode are parked below the floor with
contacts off and hidden from ray casts.

Every entity (agent, box, ramp) is a body at the world origin with four joints in this order:
slide x, slide y, slide z, hinge z, so ``qpos.reshape(-1, 4)`` is the world pose
``[x, y, z, yaw]`` of each entity, agents first, then
boxes, then ramps. Slides come before the hinge, so agent forces act in the world frame.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import mujoco
import numpy as np

from .layouts import WALL_HALF_THICKNESS

AGENT_RADIUS = 0.15
BOX_HALF = 0.25
ELONGATED_HALF = np.array([0.825, 0.075, 0.25])
CUBE_HALF = np.array([BOX_HALF, BOX_HALF, BOX_HALF])
RAMP_HALF = 0.25
GRAVITY = -50.0  # envs/hide_and_seek.py: make_env(gravity=[0, 0, -50])
MOTOR_GEAR = 100.0  # mujoco-worldgen assets/xmls/particle_hinge/main.xml: motors, gear 100
CONTROL_LIMIT = 0.9  # envs/hide_and_seek.py: make_env(action_lims=(-0.9, 0.9))
# Agent joints as mujoco-worldgen assets/xmls/particle_hinge/main.xml: damping 10 on the x and
# y slides and the z hinge; the z slide's damping is reset to 1 (modules/agents.py:
# Agents(damp_z=False)). At full force (90 N) against the floor's sliding friction
# (0.2 x 50 N) an agent tops out at (90 - 10) / 10 = 8 m/s, and turns at 90 / 10 = 9 rad/s.
AGENT_SLIDE_DAMPING = 10.0
AGENT_HINGE_DAMPING = 10.0
AGENT_Z_DAMPING = 1.0
#: the particle's two massless "arm" spheres (particle_hinge/main.xml: arm1, arm2 at
#: (+-0.13, -0.075, -0.05), radius 0.05) at the front; the original's front is the body's -y
#: axis (modules/agents.py rotates the heading by -pi/2), ours is +x, so they sit at +x here
AGENT_ARMS = ((0.075, -0.13, -0.05), (0.075, 0.13, -0.05))
AGENT_ARM_RADIUS = 0.05
#: The yaw every agent and ramp starts an episode with. The original sets no hinge angle at a
#: reset (mujoco-worldgen objs/obj.py: generate_xinit writes the slide joints only), so
#: particle_hinge starts facing its -y axis and the ramp (assets/stls/ramp.stl) rises towards
#: -y; our agent faces, and our ramp rises along, its +x axis, turned to -y by a yaw of -pi/2.
SPAWN_YAW = -np.pi / 2
# Boxes are worldgen Geoms whose joints all get damping 0.01 (mujoco-worldgen
# mujoco_worldgen/util/obj_util.py: get_body_xml_node); ramps damp all four joints with 0.1
# (mujoco-worldgen assets/xmls/ramp/main.xml).
BOX_DAMPING = 0.01
RAMP_DAMPING = 0.1
# Friction (sliding, torsional, rolling): the floor and boxes 0.2 (make_env(box_floor_friction=0.2));
# agents and ramps 0.01 (other_friction); walls MuJoCo's default 1.0 in random rooms
# (RandomWalls is given no friction) and 0.01 in the quadrant game (WallScenarios(friction=other_friction)).
FLOOR_FRICTION = (0.2, 0.005, 0.0001)
BOX_FRICTION = (0.2, 0.005, 0.0001)
AGENT_FRICTION = (0.01, 0.005, 0.0001)
RAMP_FRICTION = (0.01, 0.005, 0.0001)
RANDOM_WALL_FRICTION = (1.0, 0.005, 0.0001)
SCENARIO_WALL_FRICTION = (0.01, 0.005, 0.0001)
PARK_DEPTH = -20.0
#: Where rays aim at each kind of entity, in the body frame: agents and boxes at their centre,
#: ramps at a point inside the wedge (a ramp's box centre lies on its slope).
RAMP_AIM = (0.1, 0.0, -0.15)
# Locks are near-hard welds: an agent pushing at full force moves a locked box well under 1 mm.
LOCK_SOLIMP = (0.9999, 0.9999, 0.001, 0.5, 2.0)

# Geom groups: rays see walls, objects and agents; the floor, decorations and parked geoms are
# left out of ray casts and parked geoms out of rendering.
GROUP_WALL, GROUP_OBJECT, GROUP_AGENT, GROUP_FLOOR, GROUP_DECOR, GROUP_PARKED = range(6)
RAY_GROUPS = np.array([1, 1, 1, 0, 0, 0], dtype=np.uint8)

HIDER_RGBA = (0.26, 0.52, 0.96, 1.0)
SEEKER_RGBA = (0.86, 0.27, 0.22, 1.0)
BOX_RGBA = (0.80, 0.65, 0.40, 1.0)
RAMP_RGBA = (0.45, 0.70, 0.40, 1.0)
WALL_RGBA = (0.45, 0.45, 0.48, 1.0)
SITE_RGBA = (0.55, 0.35, 0.75, 0.6)
CYLINDER_RGBA = (0.95, 0.80, 0.20, 1.0)
CYLINDER_HALF_HEIGHT = 0.25
LOCK_RGBA = ((0.55, 0.75, 1.0, 1.0), (1.0, 0.60, 0.55, 1.0))  # glow of a lock by team 0 / 1


@dataclass(frozen=True)
class WorldKey:
    """What a compiled model depends on; equal keys share one compilation."""

    n_hiders: int
    n_seekers: int
    n_boxes: int
    n_ramps: int
    n_walls: int
    timestep: float
    floor_size: float
    play_area: float
    n_sites: int = 0  # marked construction sites (visual only)
    cylinder: bool = False  # a static cylinder to shelter


@dataclass
class WorldIndex:
    """Id arrays into the compiled model, computed once per model."""

    agent_body: np.ndarray
    box_body: np.ndarray
    ramp_body: np.ndarray
    object_body: np.ndarray  # boxes then ramps
    entity_body: np.ndarray  # agents, boxes, ramps
    agent_geom: np.ndarray
    agent_arm_geom: np.ndarray  # [A, 2]
    box_geom: np.ndarray
    ramp_geom: np.ndarray
    entity_geom: np.ndarray
    wall_geom: np.ndarray
    grab_eq: np.ndarray  # [A, O]
    lock_eq: np.ndarray  # [O]
    geom_body: np.ndarray  # geom id -> body id
    body_entity: np.ndarray  # body id -> entity index, -1 for none
    site_geom: np.ndarray
    cylinder_body: int  # -1 without a cylinder
    cylinder_geom: int
    entity_site: np.ndarray  # the aim point of every entity (agents, boxes, ramps), consecutive ids


_MODEL_CACHE: dict[WorldKey, mujoco.MjModel] = {}


def _add_entity_joints(body: mujoco.MjsBody, slide_damping: float, hinge_damping: float, z_damping: float) -> None:
    for axis, damping in (((1, 0, 0), slide_damping), ((0, 1, 0), slide_damping), ((0, 0, 1), z_damping)):
        body.add_joint(type=mujoco.mjtJoint.mjJNT_SLIDE, axis=axis, damping=damping)
    body.add_joint(type=mujoco.mjtJoint.mjJNT_HINGE, axis=(0, 0, 1), damping=hinge_damping)


def _ramp_vertices() -> list[float]:
    """A 45 degree wedge filling a 0.5 m cube centred at the origin, rising along +x."""
    h = RAMP_HALF
    points = [(-h, -h, -h), (h, -h, -h), (-h, h, -h), (h, h, -h), (h, -h, h), (h, h, h)]
    return [c for p in points for c in p]


def build_spec(key: WorldKey) -> mujoco.MjSpec:
    """Describe the arena for ``key`` as an MjSpec (not yet compiled)."""
    spec = mujoco.MjSpec()
    spec.modelname = "hide_and_seek"
    spec.option.timestep = key.timestep
    spec.option.gravity = (0.0, 0.0, GRAVITY)
    # Walls move between episodes by model edits, so the compile-time bounding-volume tree of
    # the world body would go stale; the broadphase alone is exact and cheap at this size.
    spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_MIDPHASE
    spec.visual.global_.offwidth = 1280
    spec.visual.global_.offheight = 1280
    world = spec.worldbody
    half = key.floor_size / 2
    world.add_light(pos=(half, half, 12.0), dir=(0, 0, -1), diffuse=(0.8, 0.8, 0.8), castshadow=False)
    # orthographic, so tall walls are seen as their footprint; fovy is then the view's height in metres
    world.add_camera(
        name="overhead",
        pos=(half, half, key.floor_size * 1.6),
        quat=(1, 0, 0, 0),
        proj=mujoco.mjtProjection.mjPROJ_ORTHOGRAPHIC,
        fovy=min(key.play_area + 0.6, 1.5 * key.floor_size),
    )
    # the plane collides everywhere; its size only bounds what is drawn: at least the play area and
    # everything the overhead camera sees, so no frame shows the black void beyond it
    floor_half = max(key.play_area, 3.0 * key.floor_size) / 2
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=(floor_half, floor_half, 0.1),
        pos=(half, half, 0.0),
        friction=FLOOR_FRICTION,
        rgba=(0.93, 0.92, 0.88, 1.0),
        group=GROUP_FLOOR,
    )
    world.add_geom(
        name="floor_mark",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=(half, half, 0.001),
        pos=(half, half, 0.0005),
        contype=0,
        conaffinity=0,
        rgba=(0.85, 0.84, 0.78, 1.0),
        group=GROUP_DECOR,
    )
    for w in range(key.n_walls):
        world.add_geom(
            name=f"wall_{w}",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=(0.5, WALL_HALF_THICKNESS, 0.25),
            pos=(0.0, 0.0, PARK_DEPTH),
            friction=RANDOM_WALL_FRICTION,
            rgba=WALL_RGBA,
            group=GROUP_PARKED,
        )
    for site in range(key.n_sites):
        world.add_geom(
            name=f"site_{site}",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=(BOX_HALF, BOX_HALF, 0.002),
            pos=(0.0, 0.0, PARK_DEPTH),
            contype=0,
            conaffinity=0,
            rgba=SITE_RGBA,
            group=GROUP_PARKED,
        )
    if key.cylinder:
        body = world.add_body(name="cylinder", pos=(half, half, CYLINDER_HALF_HEIGHT))
        body.add_geom(
            name="cylinder_geom",
            type=mujoco.mjtGeom.mjGEOM_CYLINDER,
            size=(0.5, CYLINDER_HALF_HEIGHT, 0),
            friction=(0.2, 0.005, 0.0001),
            rgba=CYLINDER_RGBA,
            group=GROUP_WALL,
        )
    spec.add_mesh(name="ramp", uservert=_ramp_vertices())
    names = [f"hider_{i}" for i in range(key.n_hiders)] + [f"seeker_{i}" for i in range(key.n_seekers)]
    for index, name in enumerate(names):
        body = world.add_body(name=name, pos=(0.0, 0.0, 0.0))
        _add_entity_joints(body, AGENT_SLIDE_DAMPING, AGENT_HINGE_DAMPING, AGENT_Z_DAMPING)
        rgba = HIDER_RGBA if index < key.n_hiders else SEEKER_RGBA
        body.add_geom(
            name=f"{name}_geom",
            type=mujoco.mjtGeom.mjGEOM_SPHERE,
            size=(AGENT_RADIUS, 0, 0),
            mass=1.0,
            friction=AGENT_FRICTION,
            rgba=rgba,
            group=GROUP_AGENT,
        )
        for arm, position in enumerate(AGENT_ARMS):
            body.add_geom(
                name=f"{name}_arm{arm}",
                type=mujoco.mjtGeom.mjGEOM_SPHERE,
                size=(AGENT_ARM_RADIUS, 0, 0),
                pos=position,
                mass=0.0,
                density=0.0,
                friction=AGENT_FRICTION,
                rgba=rgba,
                group=GROUP_AGENT,
            )
        body.add_site(name=f"{name}_aim", pos=(0.0, 0.0, 0.0), group=GROUP_PARKED)
        body.add_geom(  # heading marker, visual only
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=(0.05, 0.03, 0.03),
            pos=(0.14, 0.0, 0.05),
            contype=0,
            conaffinity=0,
            mass=0.0,
            density=0.0,
            rgba=(0.1, 0.1, 0.1, 1.0),
            group=GROUP_DECOR,
        )
    for b in range(key.n_boxes):
        body = world.add_body(name=f"box_{b}", pos=(0.0, 0.0, 0.0))
        _add_entity_joints(body, BOX_DAMPING, BOX_DAMPING, BOX_DAMPING)
        body.add_site(name=f"box_{b}_aim", pos=(0.0, 0.0, 0.0), group=GROUP_PARKED)
        body.add_geom(
            name=f"box_{b}_geom",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=tuple(CUBE_HALF),
            mass=1.0,
            friction=BOX_FRICTION,
            rgba=BOX_RGBA,
            group=GROUP_OBJECT,
        )
    for r in range(key.n_ramps):
        body = world.add_body(name=f"ramp_{r}", pos=(0.0, 0.0, 0.0))
        _add_entity_joints(body, RAMP_DAMPING, RAMP_DAMPING, RAMP_DAMPING)
        body.add_site(name=f"ramp_{r}_aim", pos=RAMP_AIM, group=GROUP_PARKED)
        body.add_geom(
            name=f"ramp_{r}_geom",
            type=mujoco.mjtGeom.mjGEOM_MESH,
            meshname="ramp",
            mass=1.0,
            friction=RAMP_FRICTION,
            rgba=RAMP_RGBA,
            group=GROUP_OBJECT,
        )
    for name in names:
        spec.add_actuator(
            name=f"{name}_x",
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            target=_joint_name(spec, name, 0),
            gear=(MOTOR_GEAR, 0, 0, 0, 0, 0),
            ctrllimited=True,
            ctrlrange=(-CONTROL_LIMIT, CONTROL_LIMIT),
        )
        spec.add_actuator(
            name=f"{name}_y",
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            target=_joint_name(spec, name, 1),
            gear=(MOTOR_GEAR, 0, 0, 0, 0, 0),
            ctrllimited=True,
            ctrlrange=(-CONTROL_LIMIT, CONTROL_LIMIT),
        )
        spec.add_actuator(
            name=f"{name}_yaw",
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            target=_joint_name(spec, name, 3),
            gear=(MOTOR_GEAR, 0, 0, 0, 0, 0),
            ctrllimited=True,
            ctrlrange=(-CONTROL_LIMIT, CONTROL_LIMIT),
        )
    objects = [f"box_{b}" for b in range(key.n_boxes)] + [f"ramp_{r}" for r in range(key.n_ramps)]
    for name in names:
        for obj in objects:
            spec.add_equality(
                name=f"grab_{name}_{obj}",
                type=mujoco.mjtEq.mjEQ_WELD,
                objtype=mujoco.mjtObj.mjOBJ_BODY,
                name1=name,
                name2=obj,
                active=False,
            )
    for obj in objects:
        spec.add_equality(
            name=f"lock_{obj}",
            type=mujoco.mjtEq.mjEQ_WELD,
            objtype=mujoco.mjtObj.mjOBJ_BODY,
            name1=obj,
            name2="world",
            active=False,
            solref=(0.01, 1.0),
            solimp=LOCK_SOLIMP,
        )
    return spec


def _joint_name(spec: mujoco.MjSpec, body_name: str, index: int) -> str:
    """Name (assigning one if needed) of the ``index``-th joint of a body."""
    body = spec.body(body_name)
    joint = body.joints[index]
    if not joint.name:
        joint.name = f"{body_name}_joint_{index}"
    return joint.name


def compiled_model(key: WorldKey) -> mujoco.MjModel:
    """The compiled model for ``key``, compiled on first use and cached for the process."""
    model = _MODEL_CACHE.get(key)
    if model is None:
        model = build_spec(key).compile()
        _MODEL_CACHE[key] = model
    return model


def private_model(key: WorldKey) -> mujoco.MjModel:
    """A copy of the cached model that one environment may edit freely."""
    return copy.copy(compiled_model(key))


def compile_count() -> int:
    """Number of distinct models compiled in this process (tests use it to prove caching)."""
    return len(_MODEL_CACHE)


def index_world(model: mujoco.MjModel, key: WorldKey) -> WorldIndex:
    """Look up every id the environment needs once, as integer arrays."""

    def body(name: str) -> int:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)

    def geom(name: str) -> int:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)

    def eq(name: str) -> int:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_EQUALITY, name)

    agents = [f"hider_{i}" for i in range(key.n_hiders)] + [f"seeker_{i}" for i in range(key.n_seekers)]
    boxes = [f"box_{b}" for b in range(key.n_boxes)]
    ramps = [f"ramp_{r}" for r in range(key.n_ramps)]
    objects = boxes + ramps
    agent_body = np.array([body(n) for n in agents], dtype=np.int32)
    box_body = np.array([body(n) for n in boxes], dtype=np.int32)
    ramp_body = np.array([body(n) for n in ramps], dtype=np.int32)
    entity_body = np.concatenate([agent_body, box_body, ramp_body]).astype(np.int32)
    body_entity = -np.ones(model.nbody, dtype=np.int32)
    body_entity[entity_body] = np.arange(entity_body.size, dtype=np.int32)
    entity_site = np.array(
        [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, f"{n}_aim") for n in agents + objects], dtype=np.int32
    )
    if entity_site.size and not np.array_equal(entity_site, entity_site[0] + np.arange(entity_site.size)):
        raise RuntimeError("the entities' aim sites must have consecutive ids")
    agent_geom = np.array([geom(f"{n}_geom") for n in agents], dtype=np.int32)
    box_geom = np.array([geom(f"{n}_geom") for n in boxes], dtype=np.int32)
    ramp_geom = np.array([geom(f"{n}_geom") for n in ramps], dtype=np.int32)
    return WorldIndex(
        agent_body=agent_body,
        box_body=box_body,
        ramp_body=ramp_body,
        object_body=np.concatenate([box_body, ramp_body]).astype(np.int32),
        entity_body=entity_body,
        agent_geom=agent_geom,
        agent_arm_geom=np.array(
            [[geom(f"{n}_arm{k}") for k in range(len(AGENT_ARMS))] for n in agents], dtype=np.int32
        ).reshape(len(agents), len(AGENT_ARMS)),
        box_geom=box_geom,
        ramp_geom=ramp_geom,
        entity_geom=np.concatenate([agent_geom, box_geom, ramp_geom]).astype(np.int32),
        wall_geom=np.array([geom(f"wall_{w}") for w in range(key.n_walls)], dtype=np.int32),
        grab_eq=np.array([[eq(f"grab_{a}_{o}") for o in objects] for a in agents], dtype=np.int32).reshape(
            len(agents), len(objects)
        ),
        lock_eq=np.array([eq(f"lock_{o}") for o in objects], dtype=np.int32),
        geom_body=model.geom_bodyid.astype(np.int32).copy(),
        body_entity=body_entity,
        site_geom=np.array([geom(f"site_{s}") for s in range(key.n_sites)], dtype=np.int32),
        cylinder_body=body("cylinder") if key.cylinder else -1,
        cylinder_geom=geom("cylinder_geom") if key.cylinder else -1,
        entity_site=entity_site,
    )


def set_walls(
    model: mujoco.MjModel,
    wall_geom: np.ndarray,
    walls: np.ndarray,
    friction: tuple[float, float, float] = RANDOM_WALL_FRICTION,
) -> None:
    """Move the wall pool onto this episode's walls ``[W, 5]`` and park the rest.

    Each row is a wall's centre line from end to end (``layouts.Layout``); the box is
    ``2 * WALL_HALF_THICKNESS`` thick and exactly that long.
    """
    count = walls.shape[0]
    if count > wall_geom.size:
        raise ValueError(
            f"walls: {count} segments given but the world holds {wall_geom.size}; "
            f"build the environment with extra_wall_slots >= {count - wall_geom.size + 0}"
        )
    used = wall_geom[:count]
    spare = wall_geom[count:]
    if count:
        x0, y0, x1, y1, height = walls.T
        length = np.hypot(x1 - x0, y1 - y0)
        along_x = np.abs(x1 - x0) >= np.abs(y1 - y0)
        half_x = np.where(along_x, length / 2, WALL_HALF_THICKNESS)
        half_y = np.where(along_x, WALL_HALF_THICKNESS, length / 2)
        size = np.stack([half_x, half_y, height / 2], axis=1)
        model.geom_pos[used] = np.stack([(x0 + x1) / 2, (y0 + y1) / 2, height / 2], axis=1)
        set_box_geometry(model, used, size)
        model.geom_contype[used] = 1
        model.geom_conaffinity[used] = 1
        model.geom_group[used] = GROUP_WALL
        model.geom_friction[used] = friction
    if spare.size:
        model.geom_pos[spare] = (0.0, 0.0, PARK_DEPTH)
        model.geom_contype[spare] = 0
        model.geom_conaffinity[spare] = 0
        model.geom_group[spare] = GROUP_PARKED
    refresh_bounding_volumes(model, 0)


def set_box_geometry(model: mujoco.MjModel, geoms: np.ndarray, half_sizes: np.ndarray) -> None:
    """Resize box geoms, keeping the derived bounding data (radius, box, tree) consistent."""
    model.geom_size[geoms] = half_sizes
    model.geom_rbound[geoms] = np.linalg.norm(half_sizes, axis=1)
    model.geom_aabb[geoms, :3] = 0.0
    model.geom_aabb[geoms, 3:] = half_sizes
    for body in set(model.geom_bodyid[geoms].tolist()):
        refresh_bounding_volumes(model, body)


def refresh_bounding_volumes(model: mujoco.MjModel, body: int) -> None:
    """Recompute a body's bounding-volume tree after its geoms moved or were resized.

    MuJoCo builds the tree at compile time; ray casts (``mj_multiRay``) and collision
    detection prune with it, so a stale tree hides resized boxes and moved walls.
    Nodes keep their structure; each leaf takes its geom's box in the body frame and each
    inner node the union of its children.
    """
    start, count = int(model.body_bvhadr[body]), int(model.body_bvhnum[body])
    if count == 0:
        return

    def visit(node: int) -> tuple[np.ndarray, np.ndarray]:
        index = start + node
        left, right = model.bvh_child[index]
        if left < 0:
            geom = int(model.bvh_nodeid[index])
            rotation = np.zeros(9)
            mujoco.mju_quat2Mat(rotation, model.geom_quat[geom])
            rotation = rotation.reshape(3, 3)
            center = model.geom_pos[geom] + rotation @ model.geom_aabb[geom, :3]
            half = np.abs(rotation) @ model.geom_aabb[geom, 3:]
        else:
            c1, h1 = visit(int(left))
            c2, h2 = visit(int(right))
            low, high = np.minimum(c1 - h1, c2 - h2), np.maximum(c1 + h1, c2 + h2)
            center, half = (low + high) / 2, (high - low) / 2
        model.bvh_aabb[index, :3] = center
        model.bvh_aabb[index, 3:] = half
        return center, half

    visit(0)


def set_box_inertia(model: mujoco.MjModel, bodies: np.ndarray, half_sizes: np.ndarray) -> None:
    """Inertia of unit-mass boxes of the given half sizes (principal axes = body axes)."""
    full = 2.0 * half_sizes
    sq = full**2
    mass = model.body_mass[bodies][:, None]
    model.body_inertia[bodies] = (
        mass / 12.0 * np.stack([sq[:, 1] + sq[:, 2], sq[:, 0] + sq[:, 2], sq[:, 0] + sq[:, 1]], axis=1)
    )


def set_present(model: mujoco.MjModel, geoms: np.ndarray, present: np.ndarray, group: int) -> None:
    """Switch contacts and ray visibility of entity geoms by presence this episode."""
    on = present.astype(np.int32)
    model.geom_contype[geoms] = on
    model.geom_conaffinity[geoms] = on
    model.geom_group[geoms] = np.where(present, group, GROUP_PARKED)
