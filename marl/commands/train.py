"""``marl train``: train an algorithm on an environment into a run folder, or resume one."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from marl.algorithms import build_algorithm, config_class
from marl.commands.request_flags import add_request_flags
from marl.distributed import BACKENDS, check_backend_options
from marl.errors import UsageError, check_counts, os_error_message
from marl.loggers import LOGGER_CHOICES, check_logger_extras, normalize_loggers
from marl.run_folder import RunFolder, check_creatable, default_run_path
from marl.seeds import SeedJob, describe_exit, python_command, run_jobs
from marl.trust import add_trust_flag, check_address_from_file

if TYPE_CHECKING:
    from marl.config import RunConfig
    from marl.training import Trainer, TrainingOutcome

INTERRUPTED_EXIT_CODE = 130
TRAINING_FAILED_EXIT_CODE = 1

EXAMPLES = """examples:
  marl train CartPole-v1 --algo ppo --steps 100000 --seed 0
  marl train hide_and_seek_v0                      # the quadrant preset: MAPPO self-play
  marl train navigation_v0 --algo ippo --envs 16 --set algo.learning_rate=1e-4
  marl train mymodule:make_env --algo mappo        # your own environment factory
  marl train --resume runs/my-custom-run --trust-code   # its config names mymodule:make_env
  marl train --config my_run.yaml --set env.n_agents=4
  marl train --resume runs/CartPole-v1-ppo-20250101-120000 --steps 200000
  marl train hide_and_seek_v0 --envs 8 --backend subprocess --workers 2
  marl train hide_and_seek_v0 --envs 64 --backend ray --workers 16 --address auto
  marl train hide_and_seek_v0 --device cuda       # the update on the GPU, rollouts on the CPU
  marl train CartPole-v1 --seeds 0 1 2 3 --parallel 2 --out runs/cartpole-seeds   # marl report reads them
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl train``."""
    parser = subparsers.add_parser(
        "train",
        help="train an algorithm on an environment",
        description="Train an algorithm on an environment; the run folder gets the config, metrics, "
        "TensorBoard events, checkpoints, replays and plots.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_request_flags(parser)
    parser.add_argument("--steps", type=int, help="total environment steps")
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        metavar="S",
        help="one run per seed, each in --out/seed_S (default --out runs/<env>-<algo>-<timestamp>)",
    )
    parser.add_argument(
        "--parallel", type=int, metavar="N", help="with --seeds: how many runs train side by side (default 1: in turn)"
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="run folder (default runs/<env>-<algo>-<timestamp>)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    parser.add_argument(
        "--backend", metavar="NAME", help=f"where rollouts are collected: {', '.join(BACKENDS)} (default inprocess)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="rollout workers of the subprocess or ray backend, each holding --envs/N copies",
    )
    parser.add_argument(
        "--address", metavar="auto|HOST:PORT", help="Ray cluster to join (default: start a local Ray instance)"
    )
    parser.add_argument(
        "--device",
        metavar="auto|cpu|cuda",
        help="where the update runs: cpu (default), cuda, or auto (cuda when torch sees a GPU); "
        "rollouts always run on the CPU",
    )
    parser.add_argument(
        "--logger",
        nargs="+",
        choices=LOGGER_CHOICES,
        metavar="NAME",
        help="where metrics go: csv (metrics.csv, always written), tensorboard, wandb, mlflow "
        "(default: the config's loggers, csv and tensorboard)",
    )
    parser.add_argument(
        "--video",
        action="store_true",
        help="at the end, record an episode of the trained policy and render it to an MP4 "
        "(environments with replays: the suite's own)",
    )
    add_trust_flag(parser)


def report(folder: RunFolder, outcome: TrainingOutcome, plot: Path | None, video: Path | None = None) -> None:
    """Tell the user where everything went."""
    from marl.evaluation import format_evaluation

    print(f"run folder:  {folder.root}")
    print(f"steps:       {outcome.steps}")
    if outcome.evaluation is not None:
        print("last evaluation: " + format_evaluation(outcome.evaluation).replace("\n", "\n  "))
    print(f"checkpoints: {folder.latest}" + (f", {folder.best}" if folder.best.exists() else ""))
    viewer = f" (tensorboard --logdir {folder.tensorboard})" if any(folder.tensorboard.glob("events.*")) else ""
    print(f"metrics:     {folder.metrics}{viewer}")
    if plot is not None:
        print(f"curves:      {plot}")
    replays = sorted(folder.replays.rglob("*.npz"), key=lambda path: path.stat().st_mtime)
    if replays:
        print(f"replays:     {len(replays)} episodes in {folder.replays} (marl replay {replays[-1]})")
    if video is not None:
        print(f"video:       {video}")
    if outcome.interrupted:
        print(f"interrupted; continue with: marl train --resume {folder.root}")


def draw_curves(folder: RunFolder) -> Path | None:
    """Write plots/learning_curves.png (and episode_statistics.png); None when there is nothing to draw."""
    from marl.plotting import load_curves, plot_episode_statistics, plot_learning_curves

    curves = [load_curves(folder)]
    plot_episode_statistics(curves, folder.plots / "episode_statistics.png")
    try:
        return plot_learning_curves(curves, folder.plots / "learning_curves.png")
    except ValueError as error:
        print(f"marl: no learning curves: {error}", file=sys.stderr)
        return None


def final_video(trainer: Trainer, outcome: TrainingOutcome) -> Path | None:
    """Record one episode of the trained policy and render it; None when that is not possible."""
    from marl.recording import render_video

    if outcome.interrupted:
        return None
    files = trainer.record_episodes(1, f"final_{outcome.steps:010d}_")
    if not files:
        return None
    try:
        return render_video(files[0], files[0].with_suffix(".mp4"))
    except (RuntimeError, ValueError, OSError) as error:
        print(f"marl: no video: {str(error).splitlines()[0]}", file=sys.stderr)
        return None


def wrap_up(trainer: Trainer, outcome: TrainingOutcome, video: bool) -> tuple[Path | None, Path | None]:
    """Draw the curves and render the video if asked; Ctrl-C skips what is left of both."""
    plot = video_file = None
    try:
        plot = draw_curves(trainer.folder)
        video_file = final_video(trainer, outcome) if video else None
    except KeyboardInterrupt:
        print(
            f"marl: interrupted; curves and video skipped (marl plot {trainer.folder.root} draws the curves)",
            file=sys.stderr,
        )
    return plot, video_file


def kept_checkpoint(folder: RunFolder) -> str:
    """`` (latest.pt: step N)`` for the checkpoint on disk, or an empty string when there is none."""
    from marl.checkpoints import load_checkpoint

    if not folder.latest.exists():
        return ""
    try:
        return f" (latest.pt: step {load_checkpoint(folder.latest)['steps']})"
    except UsageError:
        return ""


def train_and_report(trainer: Trainer, video: bool) -> int:
    """Train, draw the curves, render the video if asked, print the report; returns the exit code.

    A non-finite loss stops training with one line naming the update and the checkpoint that
    is still intact (exit code 1). Ctrl-C at any point ends with the line that says how to
    continue, never with a traceback.
    """
    from marl.checkpoints import load_checkpoint

    folder = trainer.folder
    try:
        outcome = trainer.run()
    except FloatingPointError as error:  # agents.NonFiniteLossError
        draw_curves(folder)
        kept = f"{folder.latest} (step {load_checkpoint(folder.latest)['steps']})" if folder.latest.exists() else "none"
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"marl train: error: {message}; last good checkpoint: {kept}", file=sys.stderr)
        return TRAINING_FAILED_EXIT_CODE
    except KeyboardInterrupt:  # pressed again while the interrupted run was being saved
        print(f"interrupted{kept_checkpoint(folder)}; continue with: marl train --resume {folder.root}")
        return INTERRUPTED_EXIT_CODE
    except OSError as error:  # a full disk or a lost mount while writing metrics or checkpoints
        raise UsageError(
            f"{os_error_message(error)}; the last checkpoint is intact{kept_checkpoint(folder)}; "
            f"continue with: marl train --resume {folder.root}"
        ) from None
    plot, video_file = wrap_up(trainer, outcome, video)
    report(folder, outcome, plot, video_file)
    return INTERRUPTED_EXIT_CODE if outcome.interrupted else 0


def apply_backend_flags(config: RunConfig, args: argparse.Namespace) -> None:
    """Set the backend and logger options given on the command line and check them before any work."""
    for name in ("backend", "workers", "address"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(config, name, value)
    check_backend_options(config.backend, config.workers, config.address, int(config.algo_config.n_envs))
    if getattr(args, "logger", None):
        config.loggers = normalize_loggers(args.logger)
    check_logger_extras(config.loggers)


def apply_device_flag(config: RunConfig, args: argparse.Namespace) -> None:
    """Set ``--device`` in the algorithm config and refuse a device this machine lacks, before any work."""
    from agents.device import resolve_device

    try:
        if getattr(args, "device", None) is not None:
            config.algo_config = dataclasses.replace(config.algo_config, device=args.device)
        resolve_device(config.algo_config.device)
    except ValueError as error:
        raise UsageError(f"{error} (--device)") from None


def resume(args: argparse.Namespace) -> int:
    """Continue a run from its latest checkpoint."""
    from marl.config import load_run_config, write_run_config
    from marl.loading import open_run
    from marl.resume import apply_resume_assignments
    from marl.training import Trainer

    changed = [
        flag
        for flag, value in (
            ("ENV", args.env),
            ("--algo", args.algo),
            ("--preset", args.preset),
            ("--config", args.config),
            ("--envs", args.n_envs),
            ("--seed", args.seed),
            ("--out", args.out),
            ("--overwrite", args.overwrite),
            ("--seeds", args.seeds),
            ("--parallel", args.parallel),
        )
        if value
    ]
    if changed:
        raise UsageError(
            f"--resume continues the run as its config.yaml says; {', '.join(changed)} cannot change it "
            "(only --steps, --device, --logger, the backend flags and --set of the settings a resume may change "
            "can); start a new run instead"
        )
    config = load_run_config(RunFolder.open(args.resume).config, config_class)
    if args.assignments:
        config = apply_resume_assignments(config, args.assignments, config_class)
    apply_device_flag(config, args)
    loaded = open_run(args.resume, "latest", config=config, trust_code=args.trust_code, resuming=True)
    if args.address is None:
        check_address_from_file(config.address, loaded.folder.config, args.trust_code)
    if args.steps is not None:
        if args.steps < 1:
            raise UsageError(f"--steps must be >= 1, got {args.steps}")
        config.steps = args.steps
    apply_backend_flags(config, args)
    if loaded.steps >= config.steps:
        raise UsageError(
            f"{loaded.folder.root} is already trained for {loaded.steps} steps (config steps {config.steps}); "
            f"pass a larger --steps to train on"
        )
    for change in loaded.applied_changes:
        print(
            f"marl: {change} since the checkpoint; applied (a setting a resume may change)",
            file=sys.stderr,
        )
    for path in loaded.folder.remove_stale_temporaries():
        print(f"marl: removed {path}, left by an interrupted write", file=sys.stderr)
    trainer = Trainer(
        config,
        loaded.folder,
        loaded.learner,
        loaded.env_factory,
        loaded.env_info,
        start_steps=loaded.steps,
        best_score=loaded.checkpoint.get("best_score"),
        show_progress=args.progress,
    )
    write_run_config(config, loaded.folder.config)
    print(f"resuming {loaded.folder.root} at step {loaded.steps} of {config.steps}", file=sys.stderr)
    return train_and_report(trainer, args.video)


def run(args: argparse.Namespace) -> int:
    """Train a new run, or resume one with ``--resume``."""
    from marl.config import write_run_config
    from marl.environments import inspect_environment, make_env_factory
    from marl.memory import check_rollout_memory
    from marl.resolution import resolve_run_config, train_request
    from marl.training import Trainer

    if args.resume is not None:
        return resume(args)
    if args.seeds is not None or args.parallel is not None:
        return train_seeds(args)
    check_counts({"--steps": args.steps, "--envs": args.n_envs})
    request = train_request(args, steps=args.steps, seed=args.seed)
    config = resolve_run_config(request)
    apply_backend_flags(config, args)
    apply_device_flag(config, args)
    target = args.out or default_run_path(config.env, config.algo)
    RunFolder(target).check_available(args.overwrite)
    env_factory = make_env_factory(config.env, config.env_kwargs)
    env_info = inspect_environment(env_factory)
    check_rollout_memory(config, env_info)
    learner = build_algorithm(config.algo, env_factory, config.seed, config.algo_config)
    trainer = Trainer(config, RunFolder(target), learner, env_factory, env_info, show_progress=args.progress)
    folder = RunFolder.create(target, overwrite=args.overwrite)
    write_run_config(config, folder.config)
    return train_and_report(trainer, args.video)


def child_arguments(args: argparse.Namespace, seed: int, folder: Path, progress: bool) -> list[str]:
    """The ``marl train`` arguments of one seed's run: the user's flags with ``--seed`` and ``--out``."""
    arguments = ["train"] + ([args.env] if args.env else [])
    for flag, value in (
        ("--algo", args.algo),
        ("--preset", args.preset),
        ("--config", args.config),
        ("--steps", args.steps),
        ("--envs", args.n_envs),
        ("--backend", args.backend),
        ("--workers", args.workers),
        ("--address", args.address),
        ("--device", args.device),
    ):
        if value is not None:
            arguments += [flag, str(value)]
    for assignment in args.assignments:
        arguments += ["--set", assignment]
    if args.logger:
        arguments += ["--logger", *args.logger]
    for flag, on in (
        ("--overwrite", args.overwrite),
        ("--trust-code", args.trust_code),
        ("--video", args.video),
        ("--no-progress", not progress),
    ):
        if on:
            arguments.append(flag)
    return arguments + ["--seed", str(seed), "--out", str(folder)]


def check_seed_flags(args: argparse.Namespace) -> int:
    """Refuse --seeds/--parallel combinations that cannot work; returns the number of runs side by side."""
    if args.seeds is None:
        raise UsageError("--parallel runs several seeds side by side; give them with --seeds, e.g. --seeds 0 1 2")
    if args.seed is not None:
        raise UsageError("give either --seed S (one run) or --seeds S ... (one run per seed), not both")
    duplicates = sorted({seed for seed in args.seeds if args.seeds.count(seed) > 1})
    if duplicates:
        raise UsageError(f"--seeds names seed {duplicates[0]} twice; each seed is one run folder")
    negative = [seed for seed in args.seeds if seed < 0]
    if negative:
        raise UsageError(f"--seeds must be >= 0, got {negative[0]}")
    parallel = 1 if args.parallel is None else args.parallel
    if parallel < 1:
        raise UsageError(f"--parallel must be >= 1, got {parallel}")
    return parallel


def train_seeds(args: argparse.Namespace) -> int:
    """One run per seed under --out (OUT/seed_S), in turn or ``--parallel`` at a time, as child processes.

    The config and every run folder are checked here, before any child starts.
    """
    from marl.resolution import resolve_run_config, train_request

    parallel = check_seed_flags(args)
    check_counts({"--steps": args.steps, "--envs": args.n_envs})
    request = train_request(args, steps=args.steps, seed=args.seeds[0])
    config = resolve_run_config(request)
    apply_backend_flags(config, args)
    apply_device_flag(config, args)
    out = args.out or default_run_path(config.env, config.algo)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; the runs of several seeds go into a folder")
    if RunFolder(out).is_run():
        raise UsageError(f"--out {out} is a run folder; the runs of several seeds go into a folder of their own")
    check_creatable(out, "folder of runs")
    folders = [out / f"seed_{seed}" for seed in args.seeds]
    for folder in folders:
        RunFolder(folder).check_available(args.overwrite)
    side_by_side = parallel > 1 and len(args.seeds) > 1
    progress = args.progress and not side_by_side
    jobs = [
        SeedJob(
            seed,
            folder,
            python_command() + child_arguments(args, seed, folder, progress),
            log=out / "logs" / f"seed_{seed}.log" if side_by_side else None,
        )
        for seed, folder in zip(args.seeds, folders)
    ]
    out.mkdir(parents=True, exist_ok=True)
    interrupted = run_jobs(jobs, parallel, say=lambda line: print(f"marl train: {line}", file=sys.stderr))
    return report_seeds(jobs, out, interrupted)


def report_seeds(jobs: list[SeedJob], out: Path, interrupted: bool) -> int:
    """Print each seed's outcome and how to go on; returns 0, 130 (interrupted) or the first failure's code."""
    for job in jobs:
        state = "not started" if job.exit_code is None else describe_exit(job.exit_code)
        print(f"seed {job.seed}: {state:<24} {job.folder}" + (f"  (output: {job.log})" if job.log else ""))
    stopped = [job for job in jobs if job.exit_code == INTERRUPTED_EXIT_CODE]
    for job in stopped:
        print(f"continue seed {job.seed} with: marl train --resume {job.folder}")
    left = [str(job.seed) for job in jobs if job.exit_code is None]
    if left:
        print(f"seeds not started: {' '.join(left)}; start them with the same command and --seeds {' '.join(left)}")
    print(f"report: marl report {out}")
    failures = [job.exit_code for job in jobs if job.exit_code not in (None, 0, INTERRUPTED_EXIT_CODE)]
    if interrupted or stopped:
        return INTERRUPTED_EXIT_CODE
    return int(failures[0]) if failures else 0
