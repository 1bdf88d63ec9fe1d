"""Hyperparameter search with Optuna: search spaces, trials that train runs, pruning, the best config.

A search space maps config keys, written as ``--set`` writes them (``algo.learning_rate``,
``env.n_agents``, ``steps``), to a distribution::

    algo.learning_rate: {low: 1.0e-5, high: 1.0e-2, log: true}   # a float, log-uniform
    algo.n_epochs: {type: int, low: 3, high: 20}                  # an integer
    algo.clip_range: {choices: [0.1, 0.2, 0.3]}                   # one of these values

A file holding such a mapping is plain data: every key is checked against the run config, every
value range against the algorithm's own validation, before the first trial.

Each trial trains one run with the sampled values and reports each evaluation's mean return
(of the config's ``best_team``) to Optuna, whose ``MedianPruner`` stops a trial whose return is
below the median of earlier trials at the same step. A trial's score is its final return as
``marl report`` defines it: the mean of its last evaluation returns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marl.algorithms import build_algorithm, config_class
from marl.config import RunConfig, read_yaml_mapping, run_config_from_dict, run_config_to_dict
from marl.environments import inspect_environment, make_env_factory
from marl.errors import UsageError
from marl.evaluation import EvaluationResult
from marl.memory import check_rollout_memory
from marl.overrides import apply_assignment, merge_mappings, parse_assignment
from marl.reporting import DEFAULT_LAST_EVALUATIONS, read_run
from marl.run_folder import RunFolder
from marl.training import Trainer

STUDY_NAME = "marl-tune"
STUDY_FILE = "study.db"
BEST_CONFIG_FILE = "best.yaml"
SPACE_FILE = "space.yaml"
TRIALS_FOLDER = "trials"
#: Trials that finish before the pruner starts comparing, and the share of each trial's steps
#: before it may be pruned (rl-zoo3 waits a third of the evaluations).
PRUNER_STARTUP_TRIALS = 3
PRUNER_WARMUP_FRACTION = 1 / 3
SPEC_KEYS = frozenset({"type", "low", "high", "log", "choices"})

_GAMMA: dict[str, Any] = {"choices": [0.95, 0.98, 0.99, 0.995, 0.999]}
_LAMBDA: dict[str, Any] = {"choices": [0.9, 0.95, 0.98, 1.0]}
_CRITIC_LEARNING_RATE: dict[str, Any] = {"low": 1e-4, "high": 3e-3, "log": True}
#: The clipped-surrogate algorithms' space, after rl-zoo3's ``sample_ppo_params``.
_CLIPPED: dict[str, dict[str, Any]] = {
    "algo.learning_rate": {"low": 1e-5, "high": 3e-3, "log": True},
    "algo.n_epochs": {"type": "int", "low": 3, "high": 20},
    "algo.clip_range": {"choices": [0.1, 0.2, 0.3]},
    "algo.entropy_coef": {"low": 1e-8, "high": 0.1, "log": True},
    "algo.gamma": _GAMMA,
    "algo.gae_lambda": _LAMBDA,
}
#: The default space of each algorithm (rl-zoo3's samplers, restricted to fields of our configs).
DEFAULT_SPACES: dict[str, dict[str, dict[str, Any]]] = {
    "ppo": {**_CLIPPED, "algo.max_grad_norm": {"choices": [0.3, 0.5, 1.0, 2.0, 5.0]}},
    "ippo": {**_CLIPPED, "algo.critic_learning_rate": {"low": 1e-5, "high": 3e-3, "log": True}},
    "mappo": {**_CLIPPED, "algo.critic_learning_rate": {"low": 1e-5, "high": 3e-3, "log": True}},
    "trpo": {
        "algo.max_kl": {"low": 1e-3, "high": 0.1, "log": True},
        "algo.critic_learning_rate": _CRITIC_LEARNING_RATE,
        "algo.cg_damping": {"choices": [0.01, 0.05, 0.1, 0.2]},
        "algo.gamma": _GAMMA,
        "algo.gae_lambda": _LAMBDA,
    },
    "npg": {
        "algo.step_size": {"low": 0.01, "high": 1.0, "log": True},
        "algo.critic_learning_rate": _CRITIC_LEARNING_RATE,
        "algo.gamma": _GAMMA,
        "algo.gae_lambda": _LAMBDA,
    },
    "reinforce": {
        "algo.learning_rate": {"low": 1e-5, "high": 1e-2, "log": True},
        "algo.critic_learning_rate": _CRITIC_LEARNING_RATE,
        "algo.entropy_coef": {"low": 1e-8, "high": 0.1, "log": True},
        "algo.gamma": _GAMMA,
    },
}


@dataclass(frozen=True)
class Dimension:
    """One searched config key: a float or int range (log-uniform when ``log``) or a set of choices."""

    key: str
    kind: str  # "float", "int" or "categorical"
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """Ask the Optuna trial for a value of this key."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log)

    def extremes(self) -> list[Any]:
        """The values that bound this dimension (checked against the config before any trial)."""
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]

    def to_plain(self) -> dict[str, Any]:
        """The YAML form, as a space file writes it."""
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        plain: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.kind == "int":
            plain = {"type": "int", **plain}
        if self.log:
            plain["log"] = True
        return plain


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_dimension(key: str, spec: Any, source: str) -> Dimension:
    """Read one entry of a search space; a malformed one is a UsageError naming it and the fix."""
    where = f"{source}: {key}"
    if not isinstance(spec, Mapping):
        raise UsageError(
            f"{where} must be a mapping such as {{low: 1.0e-5, high: 1.0e-2, log: true}} or {{choices: [0.1, 0.2]}}"
        )
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise UsageError(
            f"{where} has the unknown field {unknown[0]!r}; a dimension has {', '.join(sorted(SPEC_KEYS))}"
        )
    kind = spec.get("type", "categorical" if "choices" in spec else "float")
    if kind not in ("float", "int", "categorical"):
        raise UsageError(f"{where}: type must be float, int or categorical, got {kind!r}")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices or set(spec) - {"type", "choices"}:
            raise UsageError(f"{where}: choices must be a non-empty list, alone (no low, high or log)")
        if not all(choice is None or isinstance(choice, (str, int, float, bool)) for choice in choices):
            raise UsageError(f"{where}: each choice must be a number, text, true/false or null")
        return Dimension(key, kind, choices=tuple(choices))
    low: Any = spec.get("low")
    high: Any = spec.get("high")
    log: Any = spec.get("log", False)
    if not (_is_number(low) and _is_number(high)) or not low < high:
        raise UsageError(f"{where}: needs numbers low < high, got low={low!r} high={high!r}")
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise UsageError(f"{where}: an int dimension needs whole numbers low and high")
    if not isinstance(log, bool):
        raise UsageError(f"{where}: log must be true or false, got {log!r}")
    if log and low <= 0:
        raise UsageError(f"{where}: a log-uniform range needs low > 0, got {low!r}")
    if kind == "int":
        low, high = int(low), int(high)
    return Dimension(key, kind, low, high, log)


def parse_space(data: Mapping[str, Any], source: str) -> list[Dimension]:
    """A search space from its plain mapping; keys take the ``--set`` spelling."""
    if not data:
        raise UsageError(
            f"{source} holds no dimension; write e.g. 'algo.learning_rate: {{low: 1.0e-5, high: 1.0e-2, log: true}}'"
        )
    return [parse_dimension(str(key), spec, source) for key, spec in data.items()]


def load_space(path: Path | None, algo: str) -> list[Dimension]:
    """The space in ``path`` (plain YAML, never code), else ``algo``'s default space."""
    if path is not None:
        return parse_space(read_yaml_mapping(path), str(path))
    if algo not in DEFAULT_SPACES:
        raise UsageError(f"no default search space for {algo}; write one and pass it with --space FILE.yaml")
    return parse_space(DEFAULT_SPACES[algo], f"the default space of {algo}")


def with_values(base: RunConfig, values: Mapping[str, Any]) -> RunConfig:
    """``base`` with each ``--set``-style key of ``values`` set, built and validated as a new config."""
    layer: dict[str, Any] = {}
    for key, value in values.items():
        path, _ = parse_assignment(f"{key}=0")
        apply_assignment(layer, path, value)
    return run_config_from_dict(merge_mappings(run_config_to_dict(base), layer), config_class)


def check_space(base: RunConfig, space: list[Dimension], source: str) -> None:
    """Refuse a key the config does not have or a bound the algorithm rejects, before any trial."""
    for dimension in space:
        for value in dimension.extremes():
            try:
                with_values(base, {dimension.key: value})
            except UsageError as error:
                raise UsageError(
                    f"{source}: {dimension.key}={value!r} does not make a valid run config: "
                    f"{str(error).splitlines()[0]}"
                ) from None


def study_settings(base: RunConfig, space: list[Dimension]) -> str:
    """The settings a study is bound to (its base config and space), as text to compare on resume."""
    return json.dumps(
        {"config": run_config_to_dict(base), "space": {dimension.key: dimension.to_plain() for dimension in space}},
        sort_keys=True,
    )


def differing_setting(stored: str, current: str) -> str:
    """The first top-level or config field in which two study settings differ."""
    old, new = json.loads(stored), json.loads(current)
    if old["space"] != new["space"]:
        return "the search space"
    for key in sorted(set(old["config"]) | set(new["config"])):
        if old["config"].get(key) != new["config"].get(key):
            return key
    return "the settings"


class TrialTrainer(Trainer):
    """A trainer that reports each evaluation to an Optuna trial and stops when the pruner says so."""

    def __init__(self, *arguments: Any, trial: Any, **keywords: Any) -> None:
        super().__init__(*arguments, **keywords)
        self.trial = trial
        self.pruned = False

    def evaluate(self) -> EvaluationResult:
        """Evaluate as usual, report the return to the trial, and stop training if it should be pruned."""
        result = super().evaluate()
        returns = result.returns.get(self.best_team)
        if returns:
            score = result.mean_return(self.best_team)
            if math.isfinite(score) and self.steps < self.config.steps:
                self.trial.report(score, self.steps)
                if self.trial.should_prune():
                    self.pruned = self.stop_requested = True
                    self.say(
                        f"trial {self.trial.number} pruned at step {self.steps}: return {score:.4g} is below "
                        "the median of earlier trials"
                    )
        return result


def build_trial_trainer(config: RunConfig, folder: Path, trial: Any, show_progress: bool) -> TrialTrainer:
    """The learner and trainer of one trial, in a new run folder."""
    env_factory = make_env_factory(config.env, config.env_kwargs)
    env_info = inspect_environment(env_factory)
    check_rollout_memory(config, env_info)
    learner = build_algorithm(config.algo, env_factory, config.seed, config.algo_config)
    trainer = TrialTrainer(
        config, RunFolder(folder), learner, env_factory, env_info, show_progress=show_progress, trial=trial
    )
    RunFolder.create(folder)
    return trainer


def trial_score(folder: RunFolder, team: str, last: int = DEFAULT_LAST_EVALUATIONS) -> float | None:
    """A trial's final return: the mean of its run's last ``last`` evaluation returns of ``team``."""
    return read_run(folder).final_return(team, last)
