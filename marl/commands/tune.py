"""``marl tune``: search hyperparameters with Optuna; the same command again resumes the search."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from marl.commands.request_flags import add_request_flags
from marl.errors import UsageError, check_counts
from marl.run_folder import DEFAULT_ROOT, RunFolder, check_creatable, slug
from marl.trust import add_trust_flag

if TYPE_CHECKING:
    from marl.config import RunConfig
    from marl.tuning import Dimension

INTERRUPTED_EXIT_CODE = 130

EXAMPLES = """examples:
  marl tune CartPole-v1 --trials 20 --steps 50000          # runs/tune-CartPole-v1-ppo/
  marl tune CartPole-v1 --trials 20 --steps 50000          # again: resumes the search where it stopped
  marl tune navigation_v0 --algo mappo --trials 10 --space my_space.yaml --out runs/nav-search
  marl train --config runs/tune-CartPole-v1-ppo/best.yaml --steps 500000 --seeds 0 1 2
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl tune``."""
    parser = subparsers.add_parser(
        "tune",
        help="search hyperparameters with Optuna (pruning, resumable, best config as YAML)",
        description="Train one run per trial with hyperparameters sampled by Optuna's TPE, pruning trials whose "
        "evaluation return falls below the median of earlier trials. The study is stored in OUT/study.db, so the "
        "same command again resumes it; OUT/best.yaml is the best trial's config for marl train --config.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_request_flags(parser, each=" for every trial")
    parser.add_argument(
        "--trials",
        type=int,
        required=True,
        metavar="N",
        help="trials the search holds when done (those of earlier, stopped commands count)",
    )
    parser.add_argument(
        "--space",
        type=Path,
        metavar="FILE.yaml",
        help="the search space (default: the algorithm's own; see docs/experiments.md)",
    )
    parser.add_argument("--steps", type=int, help="environment steps of each trial")
    parser.add_argument("--seed", type=int, help="the seed of every trial's run and of the sampler")
    parser.add_argument("--out", type=Path, metavar="DIR", help="the search folder (default runs/tune-<env>-<algo>)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bars")
    add_trust_flag(parser)


def import_optuna() -> Any:
    """Optuna, or a one-line error saying how to install it."""
    try:
        import optuna
    except ModuleNotFoundError:
        raise UsageError("marl tune needs Optuna: pip install 'marl-arena[tune]' (or pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_study(optuna: Any, out: Path, settings: str, seed: int, steps: int) -> Any:
    """Create the study in OUT/study.db, or load it; a study of other settings is refused."""
    from marl.tuning import PRUNER_STARTUP_TRIALS, PRUNER_WARMUP_FRACTION, STUDY_FILE, STUDY_NAME, differing_setting

    out.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=STUDY_NAME,
        storage=f"sqlite:///{(out / STUDY_FILE).resolve()}",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=int(steps * PRUNER_WARMUP_FRACTION)
        ),
    )
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", settings)
    elif stored != settings:
        raise UsageError(
            f"{out} holds a search with other settings ({differing_setting(stored, settings)} differs); "
            "run the command that started it, or choose another --out"
        )
    return study


def requeue_unfinished(optuna: Any, study: Any) -> list[int]:
    """Trials left running by a command that was stopped: marked failed, their values queued again."""
    requeued = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, skip_if_exists=False)
        requeued.append(trial.number)
    return requeued


def finished_trials(optuna: Any, study: Any) -> int:
    """Trials that count toward --trials: complete, pruned, or failed by their own values (not stopped)."""
    states = optuna.trial.TrialState
    count = 0
    for trial in study.get_trials(deepcopy=False):
        if trial.state in (states.COMPLETE, states.PRUNED):
            count += 1
        elif trial.state == states.FAIL and "failure" in trial.user_attrs:
            count += 1
    return count


def write_best(study: Any, base: RunConfig, out: Path) -> Path | None:
    """Write the best complete trial's config as OUT/best.yaml; None while no trial is complete."""
    from marl.config import write_run_config
    from marl.tuning import BEST_CONFIG_FILE, with_values

    try:
        best = study.best_trial
    except ValueError:
        return None
    path = out / BEST_CONFIG_FILE
    write_run_config(with_values(base, best.params), path)
    return path


def describe(values: dict[str, Any]) -> str:
    """``key=value`` pairs, floats to four digits."""
    return ", ".join(
        f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}" for key, value in values.items()
    )


def run_trial(optuna: Any, study: Any, base: RunConfig, space: list[Dimension], out: Path, show_progress: bool) -> bool:
    """Sample, train and score one trial; returns True when Ctrl-C stopped it (its values are queued again)."""
    from marl.config import write_run_config
    from marl.tuning import TRIALS_FOLDER, build_trial_trainer, trial_score, with_values

    states = optuna.trial.TrialState
    trial = study.ask()
    values = {dimension.key: dimension.suggest(trial) for dimension in space}
    try:
        config = with_values(base, values)
        trainer = build_trial_trainer(config, out / TRIALS_FOLDER / f"trial_{trial.number}", trial, show_progress)
    except UsageError as error:
        reason = str(error).splitlines()[0]
        trial.set_user_attr("failure", reason)
        study.tell(trial, state=states.FAIL)
        print(f"trial {trial.number}: failed: {reason} ({describe(values)})")
        return False
    write_run_config(config, trainer.folder.config)
    try:
        outcome = trainer.run()
    except FloatingPointError as error:  # a non-finite loss: these values diverge
        reason = str(error).splitlines()[0] or "non-finite loss"
        trial.set_user_attr("failure", reason)
        study.tell(trial, state=states.FAIL)
        print(f"trial {trial.number}: failed: {reason} ({describe(values)})")
        return False
    except KeyboardInterrupt:
        outcome = None
    if outcome is None or (outcome.interrupted and not trainer.pruned):
        study.tell(trial, state=states.FAIL)
        study.enqueue_trial(values, skip_if_exists=False)
        return True
    if trainer.pruned:
        study.tell(trial, state=states.PRUNED)
        print(f"trial {trial.number}: pruned at step {outcome.steps} ({describe(values)})")
        return False
    score = trial_score(trainer.folder, trainer.best_team)
    if score is None:
        trial.set_user_attr("failure", f"no evaluation return of {trainer.best_team}")
        study.tell(trial, state=states.FAIL)
        print(f"trial {trial.number}: failed: no evaluation return of {trainer.best_team}")
        return False
    study.tell(trial, score)
    print(f"trial {trial.number}: final return {score:.4g} ({describe(values)})")
    return False


def resolve_base(args: argparse.Namespace) -> RunConfig:
    """The config every trial starts from, resolved as marl train resolves its flags."""
    from marl.resolution import resolve_run_config, train_request

    check_counts({"--steps": args.steps, "--envs": args.n_envs, "--trials": args.trials})
    request = train_request(args, steps=args.steps, seed=args.seed)
    return resolve_run_config(request)


def run(args: argparse.Namespace) -> int:
    """Run trials until the study holds --trials of them, then print the best."""
    from marl.files import atomic_write_text
    from marl.tuning import SPACE_FILE, STUDY_FILE, check_space, load_space, study_settings

    base = resolve_base(args)
    space = load_space(args.space, base.algo)
    check_space(base, space, str(args.space or f"the default space of {base.algo}"))
    out = args.out or DEFAULT_ROOT / f"tune-{slug(base.env)}-{slug(base.algo)}"
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; a search goes into a folder")
    if RunFolder(out).is_run():
        raise UsageError(f"--out {out} is a run folder; a search goes into a folder of its own")
    check_creatable(out, "search folder")
    optuna = import_optuna()
    study = open_study(optuna, out, study_settings(base, space), base.seed, base.steps)
    atomic_write_text(out / SPACE_FILE, yaml.safe_dump({d.key: d.to_plain() for d in space}, sort_keys=False))
    for number in requeue_unfinished(optuna, study):
        print(f"trial {number} was stopped before it finished; its values run again", file=sys.stderr)
    done = finished_trials(optuna, study)
    if done:
        print(f"resuming the search in {out}: {done} of {args.trials} trials done", file=sys.stderr)
    interrupted = False
    while finished_trials(optuna, study) < args.trials:
        interrupted = run_trial(optuna, study, base, space, out, args.progress)
        write_best(study, base, out)
        if interrupted:
            break
    best = write_best(study, base, out)
    if best is not None:
        trial = study.best_trial
        print(f"best trial {trial.number}: final return {trial.value:.4g} ({describe(trial.params)})")
        print(f"best config: {best}; train it with: marl train --config {best}")
    print(f"study: {out / STUDY_FILE} ({finished_trials(optuna, study)} of {args.trials} trials)")
    if interrupted:
        print(f"interrupted; continue the search with the same command (--out {out})")
        return INTERRUPTED_EXIT_CODE
    return 0
