"""Speed of the hide-and-seek arena: the full environment step against physics alone.

For each preset (the quadrant game 2 v 2 and the full game) this measures, in one process:

- full environment steps: ``env.step`` with random actions drawn in advance, resets excluded;
- physics-only steps: the same physics work alone. The full steps are played once more,
  untimed, saving the MuJoCo state (and the welds' targets) each hands to ``mj_step``; each
  saved state is then restored in its episode's world (same compiled model, same layout) and
  stepped ``substeps`` times with ``mj_step``, timed: no sensing, no observations, no rules;
- sensing alone: ``env.senses.sense`` (lidar, vision cone and line of sight) on the states the
  full steps reach, and its ``mj_multiRay`` calls alone (``env.senses.cast_rays``, one call per
  agent, with the rays that sensing just aimed), so the share of the step that goes to ray
  casting is known; the rest of the full step (actions, grab and lock, rewards, statistics,
  observations) is the full step less physics and sensing;
- reset cost in milliseconds and the number of model compilations during the resets.

Each round is one episode (its own seed): its full steps, their physics alone and sensing
alone are measured one right after the other, so load from other processes on a shared
machine, which changes from second to second, weighs on the three alike; each round gives its
own ratio (full step over physics step), and the table shows the medians of the rounds.
``--steps`` sets the steps per preset (80 a round in the quadrant game, 240 in the full game).
Every step is timed by the CPU time of this thread (time spent waiting for a shared core is
not counted) and by the wall clock.

``--parts`` shows instead where a full step's time goes, part by part: each part of ``env.step``
(``mujoco.mj_step``, ``mj_kinematics``, the action decoding, grab and lock, sensing and its ray
casts, the divergence check, the game's sight and rewards, the observations) is wrapped in a
timer of the thread's CPU time for ``--steps`` steps per preset, and what the parts leave of
the full step is the step's own bookkeeping. Each timer adds about a microsecond to the part it
times, so the parts show shares, and the ratio comes from the plain run.

Usage: ``python benchmarks/arena_speed.py [--steps 4800] [--resets 200] [--parts]``
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import platform
import statistics
import time

import mujoco
import numpy as np

from envs.hide_and_seek import world
from envs.hide_and_seek_v0 import parallel_env

PRESETS = ("quadrant", "full_game")


def random_actions(env, rng: np.random.Generator, count: int) -> list[dict]:
    """Pre-drawn Dict actions for all possible agents."""
    out = []
    for _ in range(count):
        move = rng.integers(0, 11, size=(len(env.possible_agents), 3))
        buttons = rng.integers(0, 2, size=(len(env.possible_agents), 2))
        out.append(
            {
                agent: {"movement": move[i], "grab": int(buttons[i, 0]), "lock": int(buttons[i, 1])}
                for i, agent in enumerate(env.possible_agents)
            }
        )
    return out


def play(env, steps: int, seed: int, actions: list[dict]) -> tuple[float, float, list[int]]:
    """``env.step`` for ``steps`` steps of the episodes seeded ``seed``, ``seed + 1``, ... (resets
    excluded): seconds per step (thread CPU, wall clock) and the episode of every step."""
    cpu = wall = 0.0
    episode = -1
    episodes = []
    for done in range(steps):
        if done == 0 or not env.agents:
            episode += 1
            env.reset(seed=seed + episode)
        batch = actions[done % len(actions)]
        act = {agent: batch[agent] for agent in env.agents}
        start_cpu, start_wall = time.thread_time(), time.perf_counter()
        env.step(act)
        wall += time.perf_counter() - start_wall
        cpu += time.thread_time() - start_cpu
        episodes.append(episode)
    return cpu / steps, wall / steps, episodes


def full_step(env, steps: int, seed: int, actions: list[dict]) -> tuple[float, float]:
    """Seconds per ``env.step`` (resets excluded): (thread CPU, wall clock)."""
    cpu, wall, _ = play(env, steps, seed, actions)
    return cpu, wall


def record_physics(env, steps: int, seed: int, actions: list[dict]) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """What every full step hands to ``mj_step``: (episode, MuJoCo state, weld targets).

    The full steps are played again (untimed) with ``mujoco.mj_step`` wrapped to save the
    integration state (positions, velocities, controls, active welds, ...) and the model's
    weld data before each call.
    """
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    size = mujoco.mj_stateSize(env.model, spec)
    saved: list[tuple[np.ndarray, np.ndarray]] = []
    real_step = mujoco.mj_step

    def saving_step(model, data, *args, **kwargs):
        state = np.empty(size)
        mujoco.mj_getState(model, data, state, spec)
        saved.append((state, model.eq_data.copy()))
        return real_step(model, data, *args, **kwargs)

    mujoco.mj_step = saving_step
    try:
        _, _, episodes = play(env, steps, seed, actions)
    finally:
        mujoco.mj_step = real_step
    if len(saved) != len(episodes):
        raise RuntimeError(f"expected one mj_step call per environment step, got {len(saved)} for {len(episodes)}")
    return [(episode, state, welds) for episode, (state, welds) in zip(episodes, saved)]


def physics_only(env, seed: int, recorded: list[tuple[int, np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """Seconds per environment step of the full steps' physics alone: (thread CPU, wall clock).

    Each recorded state is restored (untimed, in its episode's world: the environment is reset
    with the same seed) and stepped ``substeps`` times with ``mj_step``: the same physics the
    full step did, with no sensing, rules or observations.
    """
    model, data = env.model, env.data
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    substeps = env.config.substeps
    cpu = wall = 0.0
    current = None
    for episode, state, welds in recorded:
        if episode != current:
            env.reset(seed=seed + episode)  # the episode's walls, sizes and presence in the model
            current = episode
        mujoco.mj_setState(model, data, state, spec)
        model.eq_data[:] = welds
        start_cpu, start_wall = time.thread_time(), time.perf_counter()
        mujoco.mj_step(model, data, nstep=substeps)
        wall += time.perf_counter() - start_wall
        cpu += time.thread_time() - start_cpu
    return cpu / len(recorded), wall / len(recorded)


def sensing_only(env, steps: int, seed: int, actions: list[dict]) -> tuple[float, float, float, float]:
    """Seconds per call of the environment's sensing (``env.senses.sense``), and of its
    ``mj_multiRay`` calls alone, on the states the full steps reach (each environment step is
    taken untimed, then its state sensed again): (sensing CPU, sensing wall, rays CPU, rays wall)."""
    senses = env.senses
    sites = env.index.entity_site
    targets = env.data.site_xpos[sites[0] : sites[0] + sites.size]
    cpu = wall = ray_cpu = ray_wall = 0.0
    episode = 0
    for done in range(steps):
        if done == 0 or not env.agents:
            env.reset(seed=seed + episode)
            episode += 1
        batch = actions[done % len(actions)]
        env.step({agent: batch[agent] for agent in env.agents})
        start_cpu, start_wall = time.thread_time(), time.perf_counter()
        senses.sense(targets)
        wall += time.perf_counter() - start_wall
        cpu += time.thread_time() - start_cpu
        start_cpu, start_wall = time.thread_time(), time.perf_counter()
        senses.cast_rays()
        ray_wall += time.perf_counter() - start_wall
        ray_cpu += time.thread_time() - start_cpu
    return cpu / steps, wall / steps, ray_cpu / steps, ray_wall / steps


#: the parts of ``env.step`` that ``--parts`` times: (label, owner of the method, method name)
STEP_PARTS = (
    ("actions", "actions", "decode"),
    ("grab and lock", "rules", "apply"),
    ("sensing", "arena", "sense"),
    ("  of which rays", "senses", "cast_rays"),
    ("divergence check", "arena", "_diverged"),
    ("game: sight", "game", "sensed"),
    ("game: rewards", "game", "rewards"),
    ("observations", "observations", "observe"),
)


def step_parts(env, steps: int, actions: list[dict]) -> dict[str, float]:
    """Microseconds of thread CPU per environment step spent in each part of ``env.step``
    (``STEP_PARTS``, ``mj_step`` and ``mj_kinematics``), over ``steps`` steps of episodes seeded
    0, 1, ...; "bookkeeping" is the full step less the parts (ray casts count within sensing)."""
    spent: collections.Counter[str] = collections.Counter()
    clock = time.thread_time_ns

    def timed(function, label):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += clock() - start

        return wrapper

    owners = {
        "actions": env.actions,
        "rules": env.arena.rules,
        "arena": env.arena,
        "senses": env.senses,
        "game": env.game,
        "observations": env.observations,
    }
    for label, owner, name in STEP_PARTS:
        setattr(owners[owner], name, timed(getattr(owners[owner], name), label))
    real = {name: getattr(mujoco, name) for name in ("mj_step", "mj_kinematics")}
    for name, function in real.items():
        setattr(mujoco, name, timed(function, name))
    try:
        cpu, _, _ = play(env, steps, 0, actions)
    finally:
        for name, function in real.items():
            setattr(mujoco, name, function)
        for _, owner, name in STEP_PARTS:
            delattr(owners[owner], name)  # back to the class's method
    parts = {label: spent[label] / steps / 1e3 for label in ("mj_step", "mj_kinematics", *(p[0] for p in STEP_PARTS))}
    parts["bookkeeping"] = 1e6 * cpu - sum(value for label, value in parts.items() if label != "  of which rays")
    parts["full step"] = 1e6 * cpu
    return parts


def print_parts(steps: int) -> None:
    """The ``--parts`` table: each part's microseconds per step and its share of ``mj_step``."""
    print(
        "microseconds of thread CPU per environment step, each part timed inside the full step, and its share "
        "of mj_step"
    )
    for preset in PRESETS:
        env = parallel_env(preset)
        actions = random_actions(env, np.random.default_rng(0), 2000)
        play(env, min(steps, 200), 1000, actions)  # warm up
        parts = step_parts(env, steps, actions)
        physics = parts["mj_step"]
        print(f"{preset} ({steps} steps; load average {os.getloadavg()[0]:.1f})")
        for label, value in parts.items():
            print(f"  {label:<20}{value:>8.1f}{value / physics:>8.3f}")


def reset_cost(env, resets: int) -> tuple[float, int]:
    """Milliseconds per reset and models compiled meanwhile."""
    before = world.compile_count()
    model = env.model
    start = time.perf_counter()
    for i in range(resets):
        env.reset(seed=100 + i)
    elapsed = time.perf_counter() - start
    assert env.model is model
    return 1000.0 * elapsed / resets, world.compile_count() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=4800, help="environment steps per preset, in rounds of one episode"
    )
    parser.add_argument("--resets", type=int, default=200, help="resets timed per preset")
    parser.add_argument(
        "--parts", action="store_true", help="time each part of the full step instead (--steps steps per preset)"
    )
    args = parser.parse_args()
    if args.steps < 1 or args.resets < 1:
        parser.error("--steps and --resets must be positive")
    command = f"--steps {args.steps} --parts" if args.parts else f"--steps {args.steps} --resets {args.resets}"
    print(f"command: python benchmarks/arena_speed.py {command}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, python "
        f"{platform.python_version()}, mujoco {mujoco.__version__}, numpy {np.__version__}; load average "
        f"{os.getloadavg()[0]:.1f} at the start"
    )
    if args.parts:
        print_parts(args.steps)
        return
    print("microseconds per environment step (medians of the rounds), thread CPU time and wall clock;")
    print("sensing = env.senses.sense, of which rays = its mj_multiRay calls; rest = full - physics - sensing;")
    print("ratio = full step / physics step, the median of the rounds' own ratios (and their quartiles)")
    print(
        f"{'preset':<11}{'clock':>6}{'rounds':>7}{'physics':>9}{'full':>8}{'sensing':>9}{'rays':>7}{'rest':>7}"
        f"{'ratio':>7}{'q1':>6}{'q3':>6}"
    )
    for preset in PRESETS:
        env = parallel_env(preset)
        actions = random_actions(env, np.random.default_rng(0), 2000)
        horizon = env.config.horizon
        rounds = []
        for round_ in range(max(1, -(-args.steps // horizon))):
            shift = (round_ * horizon) % len(actions)
            episode_actions = actions[shift:] + actions[:shift]
            recorded = record_physics(env, horizon, round_, episode_actions)
            rounds.append(
                (
                    physics_only(env, round_, recorded),
                    full_step(env, horizon, round_, episode_actions),
                    sensing_only(env, horizon, round_, episode_actions),
                )
            )
        for clock, name in ((0, "cpu"), (1, "wall")):
            physics = statistics.median(r[0][clock] for r in rounds)
            full = statistics.median(r[1][clock] for r in rounds)
            sensing = statistics.median(r[2][clock] for r in rounds)
            rays = statistics.median(r[2][2 + clock] for r in rounds)
            ratios = [r[1][clock] / r[0][clock] for r in rounds]
            q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
            print(
                f"{preset:<11}{name:>6}{len(rounds):>7}{1e6 * physics:>9.0f}{1e6 * full:>8.0f}{1e6 * sensing:>9.0f}"
                f"{1e6 * rays:>7.0f}{1e6 * (full - physics - sensing):>7.0f}{statistics.median(ratios):>7.2f}"
                f"{q1:>6.2f}{q3:>6.2f}"
            )
        reset_ms, compiles = reset_cost(env, args.resets)
        print(
            f"{preset:<11}reset {reset_ms:.2f} ms, {compiles} compilations in {args.resets} resets; "
            f"load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
