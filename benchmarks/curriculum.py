"""Plain self-play against the subgame curriculum (``curriculum=sacl``) on the quadrant game, at
equal steps and seeds.

For every seed, two ``marl train`` runs of the ``hide_and_seek_quadrant`` preset (MAPPO, one
policy per team) differ only in ``algo.curriculum``: ``none`` or ``sacl``. Each keeps a snapshot
every ``--snapshot`` steps. Then the snapshot steps that all runs reached, at multiples of
``--eval-every``, are evaluated with ``marl eval --json`` on the same episode seeds, with normal
resets only (evaluation never starts from curriculum states):

- the trained hiders against uniformly random seekers (``--random seeker``): the fraction of
  steps after preparation with no hider seen (``hidden_fraction``) and boxes locked by the end
  of preparation (``num_box_lock_prep``);
- the trained seekers against random hiders (``--random hider``): the hidden fraction they allow;
- at the last step, head to head: plain hiders against curriculum seekers and the reverse
  (``--against``), the hidden fraction of each pairing.

The output is one table per comparison (means over seeds, and per seed), and a JSON summary
with ``--json-out``. ``--phase train`` only trains (runs whose ``checkpoints/latest.pt`` exists
are kept), ``--phase evaluate`` only evaluates what is there.

    python benchmarks/curriculum.py --seeds 0 1 --steps 102400 --envs 8 --parallel 4 --out runs/curriculum

The machine's load changes wall time, not the results: each run is seeded, and evaluation
plays fixed episode seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks_common import machine

CURRICULA = ("none", "sacl")
EVAL_SEED = 100_000


def marl(*arguments: str) -> list[str]:
    """The ``marl`` command line run with this interpreter."""
    return [sys.executable, "-m", "marl.cli", *arguments]


def run_folder(out: Path, curriculum: str, seed: int) -> Path:
    """Where the run of ``curriculum`` and ``seed`` lives."""
    return out / f"{curriculum}-seed{seed}"


def train_command(args: argparse.Namespace, curriculum: str, seed: int) -> list[str]:
    """The ``marl train`` command of one run."""
    return marl(
        "train",
        "hide_and_seek_v0",
        "--preset",
        "hide_and_seek_quadrant",
        "--steps",
        str(args.steps),
        "--envs",
        str(args.envs),
        "--seed",
        str(seed),
        "--set",
        f"algo.curriculum={curriculum}",
        "--set",
        f"snapshot_interval={args.snapshot}",
        "--set",
        f"eval_interval={args.snapshot}",
        "--out",
        str(run_folder(args.out, curriculum, seed)),
        "--overwrite",
    )


def train(args: argparse.Namespace) -> None:
    """Train every run that has no ``latest.pt`` yet, ``--parallel`` at a time, at low priority."""
    jobs = []
    for seed in args.seeds:
        for curriculum in CURRICULA:
            if not (run_folder(args.out, curriculum, seed) / "checkpoints" / "latest.pt").exists():
                jobs.append((curriculum, seed))
    args.out.mkdir(parents=True, exist_ok=True)

    def run(job: tuple[str, int]) -> int:
        curriculum, seed = job
        log = args.out / f"{curriculum}-seed{seed}.log"
        command = ["nice", "-n", str(args.nice), *train_command(args, curriculum, seed)]
        print(" ".join(command[3:]), file=sys.stderr)
        with open(log, "w") as stream:
            return subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, env=os.environ.copy()).returncode

    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        codes = list(pool.map(run, jobs))
    failed = [job for job, code in zip(jobs, codes) if code != 0]
    if failed:
        raise SystemExit(f"training failed for {failed}; see the logs in {args.out}")


def evaluate_json(folder: Path, *options: str) -> dict[str, Any]:
    """One ``marl eval --json`` of ``folder``."""
    result = subprocess.run(marl("eval", str(folder), "--json", *options), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"marl eval {folder} {' '.join(options)} failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout)


def snapshots(folder: Path) -> dict[int, Path]:
    """The run's snapshots ``checkpoints/step_<steps>.pt`` by their steps."""
    found = {}
    for path in (folder / "checkpoints").glob("step_*.pt"):
        digits = path.stem.removeprefix("step_")
        if digits.isdigit():
            found[int(digits)] = path
    return found


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Every common snapshot against random opponents, and the last head to head."""
    folders = {(c, s): run_folder(args.out, c, s) for c in CURRICULA for s in args.seeds}
    kept = {key: snapshots(folder) for key, folder in folders.items()}
    common = {
        steps for steps in set.intersection(*(set(found) for found in kept.values())) if steps % args.eval_every == 0
    }
    if not common:
        raise SystemExit(f"no snapshot step is common to every run under {args.out}; train first")
    episodes = ["--episodes", str(args.episodes), "--seed", str(EVAL_SEED)]
    results: dict[str, Any] = {"against_random": [], "head_to_head": []}
    for steps in sorted(common):
        for (curriculum, seed), folder in folders.items():
            checkpoint = ["--checkpoint", str(kept[(curriculum, seed)][steps])]
            hiders = evaluate_json(folder, "--random", "seeker", *checkpoint, *episodes)["episode_stats"]
            seekers = evaluate_json(folder, "--random", "hider", *checkpoint, *episodes)["episode_stats"]
            results["against_random"].append(
                {
                    "steps": steps,
                    "curriculum": curriculum,
                    "seed": seed,
                    "hidden_vs_random_seekers": hiders["hidden_fraction"],
                    "box_locks_prep_vs_random_seekers": hiders["num_box_lock_prep"],
                    "hidden_vs_random_hiders": seekers["hidden_fraction"],
                }
            )
    last = max(common)
    for seed in args.seeds:
        for hiders, seekers in (("none", "sacl"), ("sacl", "none")):
            # latest.pt of both runs: the last snapshot when the runs ended at a snapshot step
            stats = evaluate_json(folders[(hiders, seed)], "--against", str(folders[(seekers, seed)]), *episodes)[
                "episode_stats"
            ]
            results["head_to_head"].append(
                {
                    "steps": last,
                    "seed": seed,
                    "hiders": hiders,
                    "seekers": seekers,
                    "hidden_fraction": stats["hidden_fraction"],
                    "box_locks_prep": stats["num_box_lock_prep"],
                }
            )
    return results


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    """The comparison as text tables."""
    lines = [
        f"quadrant game, MAPPO, seeds {args.seeds}, --envs {args.envs}, {args.episodes} evaluation episodes "
        f"per cell (seeds from {EVAL_SEED}); machine: {machine()}",
        "",
    ]
    lines.append(
        "trained hiders vs random seekers: hidden fraction | box locks in prep; "
        "trained seekers vs random hiders: hidden fraction (lower is better for seekers)"
    )
    lines.append(f"{'steps':>8} {'curriculum':>10} {'hidden':>8} {'locks':>6} {'vs hiders':>10}   per seed (hidden)")
    rows = results["against_random"]
    for steps in sorted({row["steps"] for row in rows}):
        for curriculum in CURRICULA:
            chosen = [row for row in rows if row["steps"] == steps and row["curriculum"] == curriculum]
            per_seed = " ".join(f"{row['hidden_vs_random_seekers']:.2f}" for row in chosen)
            lines.append(
                f"{steps:>8} {curriculum:>10} {mean([r['hidden_vs_random_seekers'] for r in chosen]):>8.3f} "
                f"{mean([r['box_locks_prep_vs_random_seekers'] for r in chosen]):>6.2f} "
                f"{mean([r['hidden_vs_random_hiders'] for r in chosen]):>10.3f}   {per_seed}"
            )
    lines += ["", "head to head at the last common step: hidden fraction (higher: the hiders win more)"]
    for hiders, seekers in (("none", "sacl"), ("sacl", "none")):
        chosen = [row for row in results["head_to_head"] if row["hiders"] == hiders and row["seekers"] == seekers]
        per_seed = " ".join(f"{row['hidden_fraction']:.2f}" for row in chosen)
        lines.append(
            f"  {hiders} hiders vs {seekers} seekers: {mean([r['hidden_fraction'] for r in chosen]):.3f}"
            f"   per seed {per_seed}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=102_400, help="environment steps per run")
    parser.add_argument("--envs", type=int, default=8, help="env copies per run")
    parser.add_argument("--snapshot", type=int, default=25_600, help="steps between snapshots (and evaluations)")
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per cell")
    parser.add_argument("--eval-every", type=int, default=51_200, help="evaluate the snapshots at multiples of this")
    parser.add_argument("--parallel", type=int, default=4, help="runs trained at once")
    parser.add_argument("--nice", type=int, default=10, help="niceness of the training runs")
    parser.add_argument("--out", type=Path, default=Path("runs/curriculum"))
    parser.add_argument("--phase", choices=("all", "train", "evaluate"), default="all")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.phase in ("all", "train"):
        train(args)
    if args.phase in ("all", "evaluate"):
        results = evaluate(args)
        print(report(results, args))
        if args.json_out is not None:
            args.json_out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
