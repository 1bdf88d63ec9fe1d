"""Rules where the arena once differed from the original and now follows it, each checked against
the original's own formula (multi-agent-emergence-environments ``mae_envs/`` and mujoco-worldgen),
written out here independently of the arena's code."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
from arena_scenes import STILL, act

import envs
from envs.hide_and_seek import world as W
from envs.hide_and_seek_v0 import parallel_env

# ------------------------------------------------------------------------------------------------
# the preparation phase and the statistics at its end


def original_preparation(horizon: int, prep_fraction: float) -> tuple[list[float], list[bool], int]:
    """``wrappers/prep_phase.py: PreparationPhase`` and ``envs/hide_and_seek.py: TrackStatWrapper``
    as they run: the prep_obs after reset and after each step, whether each step's rewards are
    zeroed, and the step after which the "_prep" statistics are taken (prep_obs == 1.0)."""
    prep_time = prep_fraction * horizon
    step_counter, in_prep_phase, tracking, stats_step = 0, True, True, -1
    observed, zeroed = [min(1.0, step_counter / (prep_time + 1e-5))], []
    for _ in range(horizon):
        zeroed.append(in_prep_phase)
        step_counter += 1
        in_prep_phase = step_counter < prep_time
        prep_obs = min(1.0, step_counter / (prep_time + 1e-5))
        observed.append(prep_obs)
        if tracking and prep_obs == 1.0:
            tracking, stats_step = False, step_counter
    return observed, zeroed, stats_step


@pytest.mark.parametrize("horizon, prep_fraction", [(20, 0.5), (7, 0.3), (7, 0.2), (10, 0.0)])
def test_preparation_and_its_statistics_follow_preparation_phase_and_track_stat_wrapper(horizon, prep_fraction):
    observed, zeroed, stats_step = original_preparation(horizon, prep_fraction)
    if prep_fraction == 0.0:  # PreparationPhase.reset zeroes the first step's rewards even then; we do not
        assert zeroed[0] and not any(zeroed[1:])
        zeroed[0] = False
    env = parallel_env("empty", horizon=horizon, prep_fraction=prep_fraction)
    observations, _ = env.reset(seed=0)
    # hider 0 drags box 0 back and forth, so the box's displacement changes at every step
    env.arrange(
        agents={
            "hider_0": (2.05, 3.0, 0.0),
            "hider_1": (0.8, 0.8, 0.0),
            "seeker_0": (5.2, 5.2, 0.0),
            "seeker_1": (0.8, 5.2, 0.0),
        },
        boxes={0: (2.5, 3.0, 0.0), 1: (5.0, 0.8, 0.0)},
        ramps={0: (4.5, 4.5, 0.0)},
    )
    assert observations["hider_0"]["self"][9] == np.float32(observed[0])
    displacement = []
    infos: dict = {}
    for step in range(horizon):
        move = (0, 5, 5) if step % 6 < 3 else (10, 5, 5)
        actions = {agent: STILL for agent in env.agents} | {"hider_0": act(move, grab=1)}
        observations, rewards, _, _, infos = env.step(actions)
        displacement.append(env.arena.object_statistics("_prep")["max_box_move_prep"])
        assert observations["seeker_1"]["self"][9] == np.float32(observed[step + 1]), step
        assert all(reward == 0.0 for reward in rewards.values()) == zeroed[step], step
    assert env.game.prep_steps == sum(zeroed) == math.ceil(prep_fraction * horizon)
    stats = infos["hider_0"]["episode_stats"]
    assert stats["max_box_move_prep"] == pytest.approx(displacement[stats_step - 1], abs=1e-9)
    if stats_step > 1:  # one step earlier would give another figure: the test tells the steps apart
        assert abs(displacement[stats_step - 1] - displacement[stats_step - 2]) > 1e-3


def test_a_whole_number_of_preparation_steps_takes_the_statistics_one_step_after_them():
    # 0.4 x 80 = 32: steps 1-32 are preparation, prep_obs is 32 / 32.00001 < 1 after step 32
    observed, zeroed, stats_step = original_preparation(80, 0.4)
    assert sum(zeroed) == 32 and observed[32] < 1.0 and stats_step == 33
    env = parallel_env("quadrant")
    env.reset(seed=1)
    for _ in range(32):
        observations, *_ = env.step({agent: STILL for agent in env.agents})
    assert not env.game.prep_statistics_taken and observations["hider_0"]["self"][9] < 1.0
    observations, *_ = env.step({agent: STILL for agent in env.agents})
    assert env.game.prep_statistics_taken and observations["hider_0"]["self"][9] == 1.0


@pytest.mark.parametrize(
    "task", ["lock_and_return_v0", "sequential_lock_v0", "blueprint_construction_v0", "shelter_construction_v0"]
)
def test_a_transfer_task_observes_the_constant_preparation_fraction_of_its_published_config(task):
    # examples/*.jsonnet: additional_obs prep_obs [[0]] (the tasks add no PreparationPhase)
    env = envs.make(task)
    observations, _ = env.reset(seed=0)
    assert observations["agent_0"]["self"][9] == 0.0 and env.state()[-2] == 0.0
    for _ in range(3):
        observations, *_ = env.step({"agent_0": STILL})
        assert observations["agent_0"]["self"][9] == 0.0


# ------------------------------------------------------------------------------------------------
# spawning


@pytest.mark.parametrize("preset", ["full_game", "quadrant"])
def test_agents_and_ramps_start_with_the_hinge_angle_the_original_leaves_them(preset):
    # mujoco-worldgen objs/obj.py: generate_xinit writes no hinge angle, so every agent and ramp starts
    # at hinge 0: particle_hinge's arms (main.xml: arm1, arm2 at local y = -0.075) on its -y side,
    # ramp.stl's tall edge at y = -0.25 (scaled by 0.5)
    env = parallel_env(preset)
    for seed in range(6):
        env.reset(seed=seed)
        m, d = env.model, env.data
        agents, objects = np.flatnonzero(env.agent_present), np.flatnonzero(env.object_present)
        B = env.n_box_slots
        boxes, ramps = objects[objects < B], objects[objects >= B]
        np.testing.assert_allclose(env.agent_pose[agents, 3], -np.pi / 2)
        np.testing.assert_allclose(env.object_pose[boxes, 3], 0.0)
        np.testing.assert_allclose(env.object_pose[ramps, 3], -np.pi / 2)
        arms = d.geom_xpos[env.index.agent_arm_geom[agents]]  # [agents, 2, 3]
        assert (arms[..., 1] < env.agent_pose[agents, 1][:, None] - 0.07).all()
        for ramp in ramps - B:
            geom = int(env.index.ramp_geom[ramp])
            mesh = int(m.geom_dataid[geom])
            local = m.mesh_vert[m.mesh_vertadr[mesh] : m.mesh_vertadr[mesh] + m.mesh_vertnum[mesh]]
            world = d.geom_xpos[geom] + local @ d.geom_xmat[geom].reshape(3, 3).T
            top = world[world[:, 2] > world[:, 2].max() - 1e-6]
            assert len(top) == 2 and (top[:, 1] < env.object_pose[B + ramp, 1] - 0.2).all()


# ------------------------------------------------------------------------------------------------
# blueprint construction sites


def test_blueprint_sites_are_marked_where_construction_sites_marks_them():
    env = envs.make("blueprint_construction_v0")
    floor, cell, site = 6.0, 0.2, 0.5
    cells = math.ceil(site / cell)  # rejection_placement: obj_size_in_cells
    # uniform_placement_middle(0.85): randint(low, high) for the block's lower-left cell
    low = int((30 - cells) * (1 - 0.85) / 2 + 0.85)
    high = int((30 - cells) * (1 + 0.85) / 2 - 0.85)
    offsets = []
    for seed in range(40):
        env.reset(seed=seed)
        sites = env.game.site_xy[env.game.site_present]
        # _mark_site_square marks relative_xyz * floor_size, where rejection_placement returned
        # relative = corner / (floor_size - site_size), the corner being its cell's plus U(0, extra_room)
        corner = sites * (floor - site) / floor
        block = np.floor(corner / cell + 1e-9)
        jitter = corner - block * cell
        assert ((jitter > -1e-9) & (jitter < cells * cell - site + 1e-9)).all()
        assert ((block >= low) & (block < high)).all()
        offsets.append(sites - (block * cell + cells * cell / 2))  # from the centre of the cells taken
    offsets = np.concatenate(offsets)
    # corner / 11 + jitter - 0.3: within [-0.26, 0.23] m (centred on the cells: within 0.05 m)
    assert offsets.min() < -0.15 and offsets.max() > 0.15 and np.abs(offsets).max() < 0.27


# ------------------------------------------------------------------------------------------------
# shelter construction rays


def original_rays_reaching(env, rays_per_side: int) -> int:
    """``ShelterRewardWrapper.step``: from each start on the floor's edge (z = 0) a ray towards the
    cylinder's ``geom_xpos`` (mujoco-worldgen ``util/geometry.py: raycast``, no body left out); it
    counts when the first geom it meets is the cylinder (static geoms included: see the docs)."""
    m, d = env.model, env.data
    target = int(env.index.cylinder_geom)
    low, high = 1.01 * 0.2, 6.0 - 1.01 * 0.2
    geom = np.zeros(1, dtype=np.int32)
    count = 0
    for i in range(rays_per_side):
        offset = i / rays_per_side * (high - low)
        for start in (
            (low + offset, low, 0),
            (high, low + offset, 0),
            (high - offset, high, 0),
            (low, high - offset, 0),
        ):
            start = np.array(start, dtype=np.float64)
            direction = d.geom_xpos[target] - start
            direction /= np.linalg.norm(direction)
            mujoco.mj_ray(m, d, start, direction, W.RAY_GROUPS, 1, -1, geom)
            count += int(geom[0] == target)
    return count


def test_shelter_rays_are_cast_as_the_original_casts_them():
    env = envs.make("shelter_construction_v0", reward_scale=1.0, n_ramps=2)
    rng = np.random.default_rng(0)
    counts = []
    for seed in range(3):
        env.reset(seed=seed)
        while env.agents:
            actions = {"agent_0": act(rng.integers(0, 11, size=3), int(rng.random() < 0.6), 0)}
            _, rewards, *_ = env.step(actions)
            counts.append(original_rays_reaching(env, 25))
            assert rewards["agent_0"] == -counts[-1]
            if len(counts) % 40 == 0 and env.agents:  # a scene that moves boxes and ramps up to the cylinder
                x, y, radius = env.game.observations()["cylinder"]
                env.arrange(
                    boxes={0: (x + radius + 0.3, y, 0.4), 1: (x, y - radius - 0.3, 0.0)},
                    ramps={0: (x - radius - 0.3, y, np.pi)},
                )
                assert env.game.rays_reaching() == original_rays_reaching(env, 25)
    assert min(counts) < max(counts)


def test_a_ray_whose_first_hit_lies_inside_the_cylinder_is_judged_from_its_start():
    env = envs.make("shelter_construction_v0", reward_scale=1.0, n_boxes=1, n_elongated_boxes=0)
    env.reset(seed=0)
    env.game.move_cylinder(np.array([3.0, 3.0, 0.25]), 0.8)
    # a cube half inside the cylinder, as a body pressed into it may be for an instant
    env.arrange(agents={"agent_0": (0.6, 0.6, 0.0)}, boxes={0: (3.8, 3.0, 0.0)})
    game = env.game
    assert game.rays_reaching() == original_rays_reaching(env, 25)
    inside = (game._ray_geoms >= 0) & (game._ray_distances < game._surface_distances)
    assert inside.any()  # the scene exercises the second cast
