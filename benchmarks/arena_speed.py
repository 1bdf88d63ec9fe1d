"""Speed of the hide-and-seek arena: physics alone against the full environment step.

For each preset (the quadrant game 2 v 2 and the full game) this measures, in one process:

- physics-only steps per second: the same compiled world, reset by the environment, stepped
  ``substeps`` physics steps per environment step with random controls, no sensing, no rules;
- full environment steps per second: ``env.step`` with random actions (actions are drawn in
  advance, so sampling is not timed);
- reset cost in milliseconds and the number of model compilations during the resets.

Physics-only and full steps are measured alternately ``--repeats`` times in the same process
and the fastest of each is kept, so that load from other processes on a shared machine
disturbs the ratio as little as possible. Each step is timed twice: by the CPU time of this
thread (steps per CPU-second, i.e. per core: time spent waiting for a core shared with other
processes is not counted) and by the wall clock.

Usage: ``python benchmarks/arena_speed.py [--steps 5000] [--resets 200] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import platform
import time

import mujoco
import numpy as np

from envs.hide_and_seek import world
from envs.hide_and_seek_v0 import parallel_env


def random_actions(env, rng: np.random.Generator, count: int) -> list[dict]:
    """Pre-drawn Dict actions for all possible agents."""
    out = []
    for _ in range(count):
        move = rng.integers(0, 11, size=(len(env.possible_agents), 3))
        buttons = rng.integers(0, 2, size=(len(env.possible_agents), 2))
        out.append({
            agent: {"movement": move[i], "grab": int(buttons[i, 0]), "lock": int(buttons[i, 1])}
            for i, agent in enumerate(env.possible_agents)
        })
    return out


def physics_only(env, steps: int, rng: np.random.Generator) -> tuple[float, float]:
    """Environment steps per CPU-second and per wall-clock second of bare ``mj_step`` calls."""
    env.reset(seed=1)
    model, data = env.model, env.data
    substeps = env.config.substeps
    controls = rng.uniform(-0.9, 0.9, size=(steps, model.nu))
    cpu = wall = 0.0
    for t in range(steps):
        start_cpu, start_wall = time.thread_time(), time.perf_counter()
        data.ctrl[:] = controls[t]
        mujoco.mj_step(model, data, nstep=substeps)
        wall += time.perf_counter() - start_wall
        cpu += time.thread_time() - start_cpu
        if (t + 1) % env.config.horizon == 0:
            env.reset()  # like the full measurement, resets are not timed
    return steps / cpu, steps / wall


def full_env(env, steps: int, rng: np.random.Generator) -> tuple[float, float]:
    """Environment steps per CPU-second and per wall-clock second of ``env.step`` (resets excluded)."""
    actions = random_actions(env, rng, min(steps, 2000))
    env.reset(seed=2)
    cpu = wall = 0.0
    done = 0
    while done < steps:
        live = env.agents
        batch = actions[done % len(actions)]
        act = {a: batch[a] for a in live}
        start_cpu, start_wall = time.thread_time(), time.perf_counter()
        env.step(act)
        wall += time.perf_counter() - start_wall
        cpu += time.thread_time() - start_cpu
        done += 1
        if not env.agents:
            env.reset()
    return steps / cpu, steps / wall


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
    parser.add_argument("--steps", type=int, default=5000, help="environment steps per measurement")
    parser.add_argument("--resets", type=int, default=200, help="resets timed per preset")
    parser.add_argument("--repeats", type=int, default=3, help="alternating measurements; the fastest is kept")
    args = parser.parse_args()
    if args.steps < 1 or args.resets < 1 or args.repeats < 1:
        parser.error("--steps, --resets and --repeats must be positive")
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"mujoco {mujoco.__version__}")
    print("steps per second of CPU time of this thread (per core), and of wall-clock time")
    print(f"{'preset':<12}{'physics cpu':>12}{'env cpu':>9}{'ratio':>7}{'physics wall':>14}{'env wall':>10}"
          f"{'ratio':>7}{'reset ms':>10}{'compiles':>10}")
    for preset in ("quadrant", "full_game"):
        rng = np.random.default_rng(0)
        env = parallel_env(preset)
        physics = np.zeros(2)
        full = np.zeros(2)
        for _ in range(args.repeats):
            physics = np.maximum(physics, physics_only(env, args.steps, rng))
            full = np.maximum(full, full_env(env, args.steps, rng))
        reset_ms, compiles = reset_cost(env, args.resets)
        (physics_cpu, physics_wall), (full_cpu, full_wall) = physics, full
        print(f"{preset:<12}{physics_cpu:>12.0f}{full_cpu:>9.0f}{physics_cpu / full_cpu:>7.2f}{physics_wall:>14.0f}"
              f"{full_wall:>10.0f}{physics_wall / full_wall:>7.2f}{reset_ms:>10.2f}{compiles:>10d}")


if __name__ == "__main__":
    main()
