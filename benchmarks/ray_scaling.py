"""Training steps per second against the number of Ray rollout workers, on the arena's quadrant game.

MAPPO self-play with the ``hide_and_seek_quadrant`` preset's hyperparameters (recurrent,
one policy per team). One run measures the in-process backend and then the Ray backend with
1, 2 and 4 workers on a local Ray instance, each after one warm-up update (actors start and
build their env copies there). Per configuration it reports wall-clock training steps per
second and where an update's time goes: collection (broadcast, workers stepping their env
copies, fragments coming back) and the learner's update. It also prints what the scaling
model in docs/distributed.md needs: the size of the broadcast weights and of one batch of
fragments, and the time of one ``ray.put`` of the weights.

    python benchmarks/ray_scaling.py --n-envs 8 --n-steps 80 --updates 3 --workers 1 2 4
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from benchmarks_common import machine


def build(args: argparse.Namespace):
    """A MAPPO learner on the quadrant game with the preset's settings and the given size."""
    import envs
    from agents import MAPPO
    from marl.presets import ARENA_MAPPO

    settings = {**ARENA_MAPPO, "n_envs": args.n_envs, "n_steps": args.n_steps, "torch_threads": 1}
    settings["minibatch_size"] = min(settings["minibatch_size"], args.n_envs * args.n_steps)
    return MAPPO(envs.make_factory("hide_and_seek_v0", preset="quadrant"), seed=args.seed, **settings)


def measure(algo, updates: int) -> dict[str, float]:
    """One warm-up update, then ``updates`` timed ones: steps/s and seconds per update."""
    batch = algo.config.n_envs * algo.config.n_steps
    algo.learn(batch)
    seen: list[dict[str, float]] = []
    start = time.perf_counter()
    algo.learn(updates * batch, callback=seen.append)
    elapsed = time.perf_counter() - start
    return {
        "steps_per_second": updates * batch / elapsed,
        "collection": sum(m["collection_seconds"] for m in seen) / len(seen),
        "update": sum(m["update_seconds"] for m in seen) / len(seen),
        "workers": sum(m.get("backend/worker_collect_seconds", m["collection_seconds"]) for m in seen) / len(seen),
        "broadcast": sum(m.get("backend/broadcast_seconds", 0.0) for m in seen) / len(seen),
        "restarts": seen[-1].get("backend/worker_restarts", 0.0),
    }


def sizes(algo) -> tuple[int, int]:
    """Bytes of the broadcast weights and of one batch of fragments."""
    weights = sum(t.numel() * t.element_size() for t in algo.models.state_dict().values())
    fragments = 0
    for storage in algo.storages:
        fragments += sum(
            storage.arrays[name].nbytes for name in storage.arrays if name not in ("advantages", "returns")
        )
    return weights, fragments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-envs", type=int, default=8, help="environment copies in all (split over the workers)")
    parser.add_argument("--n-steps", type=int, default=80, help="steps per env copy between updates")
    parser.add_argument("--updates", type=int, default=3, help="timed updates per configuration")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--address", default=None, help="Ray cluster (default: a local instance)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())

    import ray

    from marl.distributed.ray_backend import LOCAL_OBJECT_STORE_BYTES, RayBackend

    if args.address is None:
        ray.init(
            num_cpus=max(args.workers),
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            include_dashboard=False,
            log_to_driver=False,
        )
    else:
        ray.init(address=args.address, log_to_driver=False)
    print(f"ray {ray.__version__}: {ray.cluster_resources().get('CPU', 0):g} CPUs in the cluster")

    algo = build(args)
    weights, fragments = sizes(algo)
    payload = {k: v.clone() for k, v in algo.models.state_dict().items()}
    start = time.perf_counter()
    for _ in range(20):
        ray.get(ray.put(payload))
    put_ms = (time.perf_counter() - start) / 20 * 1000
    print(
        f"batch {args.n_envs} env copies x {args.n_steps} steps = {args.n_envs * args.n_steps} steps; "
        f"weights {weights / 1024:.0f} KiB (ray.put + get {put_ms:.2f} ms), "
        f"fragments {fragments / 1024:.0f} KiB per batch"
    )

    rows = [("inprocess", 1, measure(algo, args.updates))]
    for workers in args.workers:
        algo = build(args)
        algo.use_backend(RayBackend(workers))
        try:
            rows.append(("ray", workers, measure(algo, args.updates)))
        finally:
            algo.close()

    print("per update: collect = broadcast + slowest worker stepping its copies + fragments back and written")
    print(
        f"{'backend':10} {'workers':>7} {'steps/s':>9} {'collect s':>10} {'broadcast s':>12} {'worker s':>9} "
        f"{'update s':>9} {'vs inprocess':>13}"
    )
    base = rows[0][2]["steps_per_second"]
    for name, workers, result in rows:
        print(
            f"{name:10} {workers:7d} {result['steps_per_second']:9.0f} {result['collection']:10.2f} "
            f"{result['broadcast']:12.3f} {result['workers']:9.2f} {result['update']:9.2f} "
            f"{result['steps_per_second'] / base:12.2f}x"
        )
    ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
