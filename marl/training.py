"""A training run: the learner's ``learn`` loop with logging, evaluation, checkpoints, replays.

Everything periodic happens in the learner's callback, which runs after each update, so every
checkpoint holds a consistent training state. Evaluation runs on its own copy of the
environment with the global random streams set aside, so it never changes what training does
next: a run stopped and resumed ends where an uninterrupted run ends.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.backends import InProcessBackend
from agents.checkpoint import clone_state
from marl.checkpoints import save_checkpoint
from marl.config import RunConfig, run_config_to_dict
from marl.distributed import make_backend
from marl.environments import EnvFactory, EnvironmentInfo
from marl.errors import UsageError, unknown_name_message
from marl.evaluation import (
    EvaluationResult,
    isolated_random_state,
    learner_policy,
    random_policy,
    run_episodes,
    team_policy,
)
from marl.loggers import make_sinks
from marl.metrics import MetricsLogger
from marl.progress import ProgressBar
from marl.recording import behaviour_statistics, record_policy
from marl.run_folder import RunFolder
from marl.snapshots import snapshot_path
from marl.stages import HIDER_TEAM, is_hide_and_seek, stage_metrics

#: Evaluation episodes use seeds from here on (plus the run's seed), apart from training's.
EVALUATION_SEED_OFFSET = 1_000_000


class Interval:
    """Fires each time the step count crosses a multiple of ``every`` (never when 0)."""

    def __init__(self, every: int, done_steps: int = 0) -> None:
        self.every = every
        self.next = (done_steps // every + 1) * every if every > 0 else None

    def due(self, steps: int) -> bool:
        """Whether a multiple of ``every`` was reached; advances to the next one if so."""
        if self.next is None or steps < self.next:
            return False
        self.next = (steps // self.every + 1) * self.every
        return True


@dataclass
class TrainingOutcome:
    """How a training run ended."""

    steps: int
    interrupted: bool
    best_score: float | None
    evaluation: EvaluationResult | None


@contextmanager
def graceful_interrupt(on_first: Callable[[], None]) -> Iterator[None]:
    """The first Ctrl-C calls ``on_first`` (stop after this update); a second one interrupts now."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            on_first()
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C back while a file is written; a press is delivered once the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    for _ in pressed:  # each press, in order, as if it came now
        if callable(previous):
            previous(signal.SIGINT, None)
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt


@dataclass
class TrainingSnapshot:
    """The learner's state as of the end of an update, with the step and best score it belongs to."""

    steps: int
    state: dict[str, Any]
    best_score: float | None


def learner_steps(learner: Any, default: int) -> int:
    """The learner's own count of environment steps, when it exposes one."""
    for name in ("num_steps", "total_steps", "steps"):
        value = getattr(learner, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return default


class Trainer:
    """Runs ``learner.learn`` for a run folder and keeps its files up to date."""

    def __init__(
        self,
        config: RunConfig,
        folder: RunFolder,
        learner: Any,
        env_factory: EnvFactory,
        env_info: EnvironmentInfo,
        start_steps: int = 0,
        best_score: float | None = None,
        show_progress: bool = True,
    ) -> None:
        self.config = config
        self.folder = folder
        self.learner = learner
        self.env_factory = env_factory
        self.env_info = env_info
        self.steps = start_steps
        self.start_steps = start_steps
        self.best_score = best_score
        self.best_team = config.best_team or env_info.first_team
        if self.best_team not in env_info.teams:
            raise UsageError(unknown_name_message("best_team", self.best_team, env_info.teams))
        self.show_progress = show_progress
        self.stop_requested = False
        self.recording_enabled = config.record_interval > 0
        self.last_evaluation: EvaluationResult | None = None
        self.last_evaluation_steps: int | None = None
        self.progress: ProgressBar | None = None
        self.logger: MetricsLogger | None = None
        self.snapshot: TrainingSnapshot | None = None
        self.random_play: EvaluationResult | None = None

    # Messages go above the progress bar when there is one.
    def say(self, message: str) -> None:
        """Print a status line on stderr."""
        if self.progress is not None:
            self.progress.write(message)
        else:
            print(message, file=sys.stderr)

    def save(self, best: bool = False, snapshot: TrainingSnapshot | None = None, keep: bool = False) -> None:
        """Write latest.pt (best.pt when ``best``, checkpoints/step_<steps>.pt when ``keep``) from the
        learner's current state, or from ``snapshot``; Ctrl-C waits until the files are written."""
        if snapshot is None:
            snapshot = TrainingSnapshot(self.steps, self.learner.state_dict(), self.best_score)
        arguments = dict(
            algo=self.config.algo,
            steps=snapshot.steps,
            spaces=self.env_info.spaces,
            state=snapshot.state,
            best_score=snapshot.best_score,
            run_config=run_config_to_dict(self.config),
        )
        with interrupts_deferred():
            save_checkpoint(self.folder.latest, **arguments)
            if best:
                save_checkpoint(self.folder.best, **arguments)
            if keep:
                save_checkpoint(snapshot_path(self.folder, snapshot.steps), **arguments)

    def take_snapshot(self) -> None:
        """Keep a copy of the learner's state between updates: what an interrupt mid-update saves."""
        self.snapshot = TrainingSnapshot(self.steps, clone_state(self.learner.state_dict()), self.best_score)

    def evaluate(self) -> EvaluationResult:
        """Play the evaluation episodes without disturbing training's random streams."""
        policy = learner_policy(self.learner, self.config.eval_deterministic)
        seed = EVALUATION_SEED_OFFSET + self.config.seed
        with isolated_random_state():
            result = run_episodes(self.env_factory, policy, self.config.eval_episodes, seed=seed)
        self.last_evaluation, self.last_evaluation_steps = result, self.steps
        metrics = result.summary()
        if is_hide_and_seek(self.env_info.teams) and "hidden_fraction" in result.stats:
            metrics.update(self.evaluate_against_random(policy, seed))
            metrics.update(stage_metrics(metrics))
        assert self.logger is not None
        self.logger.log(self.steps, metrics)
        return result

    def evaluate_against_random(self, policy: Any, seed: int) -> dict[str, float]:
        """The yardsticks of the stage flags (:mod:`marl.stages`): random hiders against the
        trained seekers, and random hiders against random seekers (played once per run)."""
        episodes = self.config.eval_episodes
        with isolated_random_state():
            if self.random_play is None:
                self.random_play = run_episodes(
                    self.env_factory, random_policy(self.env_factory, seed), episodes, seed=seed
                )
            random_hiders = team_policy({HIDER_TEAM: random_policy(self.env_factory, seed)}, default=policy)
            against_trained = run_episodes(self.env_factory, random_hiders, episodes, seed=seed)
        return {**self.random_play.summary("eval/random/"), **against_trained.summary("eval/random_hiders/")}

    def evaluate_and_keep_best(self) -> bool:
        """Evaluate; returns True when the score beat the best so far (best.pt is then due)."""
        result = self.evaluate()
        if self.best_team not in result.returns or not result.returns[self.best_team]:
            return False
        score = result.mean_return(self.best_team)
        if math.isfinite(score) and (self.best_score is None or score > self.best_score):
            self.best_score = score
            return True
        return False

    def record(self) -> None:
        """Record episodes of the current policy as replays/step_<steps>_<index>.npz and log
        their behaviour statistics, so the curves show when boxes start moving and locking."""
        files = self.record_episodes(self.config.record_episodes, f"step_{self.steps:010d}_")
        if files:
            assert self.logger is not None
            self.logger.log(self.steps, behaviour_statistics(files))

    def record_episodes(self, episodes: int, prefix: str) -> list[Path]:
        """Record episodes with the current (sampling) policy; switches recording off if impossible."""
        policy = learner_policy(self.learner, deterministic=False)
        try:
            with isolated_random_state():
                return record_policy(
                    policy,
                    self.env_factory,
                    episodes,
                    self.folder.replays,
                    seed=EVALUATION_SEED_OFFSET + self.config.seed + self.steps,
                    env_id=self.config.env,
                    env_kwargs=self.config.env_kwargs,
                    prefix=prefix,
                )
        except (TypeError, RuntimeError) as error:
            self.say(f"recording switched off: {str(error).splitlines()[0]}")
            self.recording_enabled = False
            return []

    def run(self) -> TrainingOutcome:
        """Train until ``config.steps`` (or Ctrl-C); always leaves a loadable latest.pt."""
        config = self.config
        evaluations = Interval(config.eval_interval, self.start_steps)
        checkpoints = Interval(config.checkpoint_interval, self.start_steps)
        snapshots = Interval(config.snapshot_interval, self.start_steps)
        recordings = Interval(config.record_interval, self.start_steps)
        resume_steps = self.start_steps if self.start_steps > 0 else None
        sinks = make_sinks(config.loggers, self.folder.root, run_config_to_dict(config), resume_steps)
        self.logger = MetricsLogger(self.folder.metrics, sinks, resume_steps=resume_steps)
        self.progress = ProgressBar(
            config.steps, self.start_steps, enabled=self.show_progress, description=f"{config.env} {config.algo}"
        )

        def callback(metrics: dict[str, Any]) -> bool:
            self.steps = int(metrics.get("steps", self.steps))
            self.take_snapshot()  # between updates the learner's state matches self.steps
            self.logger.log(self.steps, metrics)
            self.progress.update(self.steps, metrics)
            improved = evaluations.due(self.steps) and self.evaluate_and_keep_best()
            checkpoint_due = checkpoints.due(self.steps)
            snapshot_due = snapshots.due(self.steps)
            if improved or checkpoint_due or snapshot_due:
                self.save(best=improved, keep=snapshot_due)
            if self.recording_enabled and recordings.due(self.steps):
                self.record()
            assert self.snapshot is not None
            self.snapshot.best_score = self.best_score
            return not self.stop_requested

        def request_stop() -> None:
            self.stop_requested = True
            self.say("stopping after this update and saving a checkpoint (Ctrl-C again to stop at once)")

        backend = make_backend(config.backend, config.workers, config.address)
        if backend is not None:
            self.learner.use_backend(backend)
            self.say(f"collecting rollouts on {config.workers} {config.backend} workers")
        interrupted = False
        self.take_snapshot()
        try:
            with graceful_interrupt(request_stop):
                if self.steps < config.steps:
                    self.learner.learn(config.steps - self.steps, callback=callback)
            self.steps = learner_steps(self.learner, self.steps)
            interrupted = self.stop_requested and self.steps < config.steps
            if not interrupted and self.last_evaluation_steps != self.steps:
                improved = self.evaluate_and_keep_best()
            else:
                improved = False
            self.save(best=improved or not self.folder.best.exists())
        except KeyboardInterrupt:
            # Interrupted in the middle of an update (or of the wrap-up): the learner may be part
            # way into a rollout, so the state saved is the one kept at the end of the last update,
            # and the step reported is that update's.
            interrupted = True
            snapshot = self.snapshot
            assert snapshot is not None
            self.steps, self.best_score = snapshot.steps, snapshot.best_score
            self.save(best=not self.folder.best.exists(), snapshot=snapshot)
        finally:
            if backend is not None:
                # The env copies come back to the learner; the workers stop.
                self.learner.use_backend(InProcessBackend())
            self.progress.close()
            self.logger.close()
        return TrainingOutcome(self.steps, interrupted, self.best_score, self.last_evaluation)
