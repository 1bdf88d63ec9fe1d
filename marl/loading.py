"""Opening a trained run: its config, its environment and a learner restored from a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marl.algorithms import build_algorithm, config_class
from marl.checkpoints import CheckpointError, check_compatible, load_checkpoint, restore_learner
from marl.config import RunConfig, load_run_config
from marl.environments import EnvFactory, EnvironmentInfo, inspect_environment, make_env_factory
from marl.run_folder import RunFolder


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


def open_run(run_dir: str | Path, which: str = "latest", config: RunConfig | None = None) -> LoadedRun:
    """Load ``run_dir``'s config and checkpoint, check they fit, and restore the learner.

    Every check (the file is a checkpoint, of this algorithm, for environments with these
    spaces) happens before any state is loaded, so a refusal never leaves a partial load.
    """
    folder = RunFolder.open(run_dir)
    config = config or load_run_config(folder.config, config_class)
    path = checkpoint_path(folder, which)
    if not path.is_file():
        raise CheckpointError(
            f"{path} does not exist; the run has no {'checkpoint' if which not in ('latest', 'best') else which + ' checkpoint'} yet"
        )
    payload = load_checkpoint(path)
    factory = make_env_factory(config.env, config.env_kwargs)
    info = inspect_environment(factory)
    check_compatible(payload, path, config.algo, info.spaces)
    learner = build_algorithm(config.algo, factory, config.seed, config.algo_config)
    restore_learner(learner, payload, path)
    return LoadedRun(folder, config, factory, info, learner, payload, path)
