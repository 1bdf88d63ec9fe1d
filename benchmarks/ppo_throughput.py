"""Training throughput of PPO against Stable-Baselines3's PPO at the same hyperparameters.

Both learners train on the same task with the published PPO defaults (horizon 2048 per env
copy, minibatch 64, 10 epochs, Adam 3e-4, tanh 64-64 networks, separate actor and critic
torsos, gamma 0.99, lambda 0.95, clip 0.2) for the same number of environment steps, one
torch thread each, in the same process, one after the other. Prints environment steps per
second and the ratio. Requires the ``bench`` extra (stable-baselines3).

    python benchmarks/ppo_throughput.py --env Hopper-v5 --steps 100000 --n-envs 1 8
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from benchmarks_common import machine


def ours(env_id: str, n_envs: int, steps: int, seed: int) -> tuple[float, float, float | None]:
    """Our PPO: steps per wall-clock second, per CPU second, and the recent mean return."""
    from agents import PPO

    algo = PPO(env_id, seed=seed, preset="sb3", n_envs=n_envs)  # SB3's own defaults
    returns: list[float] = []

    def record(metrics: dict[str, float]) -> None:
        if "episode_return" in metrics:
            returns.append(metrics["episode_return"])

    start, cpu = time.perf_counter(), time.process_time()
    algo.learn(steps, callback=record)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return algo.steps / elapsed, algo.steps / cpu, (sum(returns[-3:]) / len(returns[-3:]) if returns else None)


def stable_baselines(env_id: str, n_envs: int, steps: int, seed: int) -> tuple[float, float, float | None]:
    """SB3's PPO with the same hyperparameters: steps per wall-clock and CPU second, recent return."""
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    model = SB3PPO(
        "MlpPolicy",
        env,
        n_steps=2048,
        batch_size=64,
        n_epochs=10,
        learning_rate=3e-4,
        gamma=0.99,
        gae_lambda=0.95,
        clip_range=0.2,
        ent_coef=0.0,
        vf_coef=0.5,
        max_grad_norm=0.5,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    start, cpu = time.perf_counter(), time.process_time()
    model.learn(steps)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    buffer = [info["r"] for info in model.ep_info_buffer]
    return (
        model.num_timesteps / elapsed,
        model.num_timesteps / cpu,
        (sum(buffer[-10:]) / len(buffer[-10:]) if buffer else None),
    )


def median_run(runs: list[tuple[float, float, float | None]]) -> tuple[float, float, float | None]:
    """Median wall-clock and CPU speeds over repeats (each median taken separately), and the
    return of the run with the median wall-clock speed."""
    ordered = sorted(runs, key=lambda run: run[0])
    middle = ordered[(len(ordered) - 1) // 2]
    return middle[0], statistics.median(run[1] for run in runs), middle[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--steps", type=int, default=100_000, help="environment steps per run")
    parser.add_argument("--n-envs", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved repetitions; the median is reported")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    print("steps/s are environment steps per wall-clock second; 'cpu' per second of this process's CPU time")
    print(
        f"{'n_envs':>6} {'ours':>7} {'sb3':>7} {'ratio':>6} {'ours cpu':>9} {'sb3 cpu':>8} {'ratio':>6} "
        f"{'ours return':>12} {'sb3 return':>11}"
    )
    for n_envs in args.n_envs:
        steps = max(args.steps, n_envs * 2048)
        results: dict[str, list[tuple[float, float, float | None]]] = {"ours": [], "sb3": []}
        for _ in range(args.repeats):  # interleaved, so both see the same load from other jobs
            for name, run in (("ours", ours), ("sb3", stable_baselines)):
                results[name].append(run(args.env, n_envs, steps, args.seed))
        (wall, cpu, ret), (sb3_wall, sb3_cpu, sb3_ret) = (median_run(results["ours"]), median_run(results["sb3"]))

        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.1f}"

        print(
            f"{n_envs:>6} {wall:>7.0f} {sb3_wall:>7.0f} {wall / sb3_wall:>6.2f} {cpu:>9.0f} {sb3_cpu:>8.0f} "
            f"{cpu / sb3_cpu:>6.2f} {fmt(ret):>12} {fmt(sb3_ret):>11}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
