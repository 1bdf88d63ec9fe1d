"""Opening a trained run: its config, its environment and a learner restored from a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from marl.algorithms import build_algorithm, config_class
from marl.checkpoints import CheckpointError, check_compatible, load_checkpoint, restore_learner
from marl.config import RunConfig, load_run_config
from marl.environments import EnvFactory, EnvironmentInfo, inspect_environment, make_env_factory
from marl.memory import check_rollout_memory
from marl.resume import check_resume_config
from marl.run_folder import RunFolder
from marl.trust import check_env_from_file


@dataclass
class LoadedRun:
    """A run folder brought back to life: config, environment, learner and checkpoint data."""

    folder: RunFolder
    config: RunConfig
    env_factory: EnvFactory
    env_info: EnvironmentInfo
    learner: Any
    checkpoint: dict[str, Any]
    checkpoint_path: Path
    #: Safe differences between config.yaml and the checkpoint that a resume applies ("field old -> new").
    applied_changes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        """Environment steps the checkpoint was trained for."""
        return int(self.checkpoint["steps"])


def checkpoint_path(folder: RunFolder, which: str) -> Path:
    """``latest``, ``best`` or a path to a checkpoint file."""
    if which == "latest":
        return folder.latest
    if which == "best":
        return folder.best
    return Path(which)


def open_run(
    run_dir: str | Path,
    which: str = "latest",
    config: RunConfig | None = None,
    trust_code: bool = False,
    resuming: bool = False,
) -> LoadedRun:
    """Load ``run_dir``'s config and checkpoint, check they fit, and restore the learner.

    Every check (the environment id names no code unless ``trust_code``, the file is an intact
    checkpoint, of this algorithm, for environments with these spaces) happens before any state
    is loaded, so a refusal never leaves a partial load. ``resuming`` also refuses a config.yaml
    edited since the checkpoint in any field a resume cannot change (:mod:`marl.resume`).
    """
    folder = RunFolder.open(run_dir)
    config = config or load_run_config(folder.config, config_class)
    check_env_from_file(config.env, folder.config, trust_code)
    path = checkpoint_path(folder, which)
    if not path.is_file():
        kind = which + " checkpoint" if which in ("latest", "best") else "checkpoint"
        raise CheckpointError(f"{path} does not exist; the run has no {kind} yet")
    payload = load_checkpoint(path)
    applied = check_resume_config(config, payload, folder.config, path) if resuming else []
    factory = make_env_factory(config.env, config.env_kwargs)
    info = inspect_environment(factory)
    check_compatible(payload, path, config.algo, info.spaces)
    check_rollout_memory(config, info)
    # Only a resumed run trains; evaluation acts on the CPU, so a run trained on a GPU opens anywhere.
    algo_config = config.algo_config if resuming else replace(config.algo_config, device="cpu")
    learner = build_algorithm(config.algo, factory, config.seed, algo_config)
    restore_learner(learner, payload, path)
    return LoadedRun(folder, config, factory, info, learner, payload, path, applied)


def check_opponent_spaces(run: LoadedRun, opponent: LoadedRun) -> None:
    """The opponent's non-first-team agents must have the spaces this run's environment gives them."""
    from agents.groups import team_of

    first_team = run.env_info.first_team
    for agent, spaces in run.env_info.spaces.items():
        if team_of(agent) == first_team:
            continue
        theirs = opponent.checkpoint["spaces"].get(agent)
        if theirs is None:
            raise CheckpointError(
                f"{opponent.checkpoint_path} has no agent {agent!r} (it has {', '.join(opponent.checkpoint['spaces'])})"
            )
        for kind in ("observation", "action"):
            if theirs[kind] != spaces[kind]:
                raise CheckpointError(
                    f"{opponent.checkpoint_path} does not fit {run.config.env}: agent {agent!r} {kind} space is "
                    f"{spaces[kind]} here but {theirs[kind]} in the opponent's checkpoint"
                )
