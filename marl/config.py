"""The run configuration: a typed dataclass, converted to and from plain YAML.

A run is described by one :class:`RunConfig`. Its ``algo_config`` is the algorithm's own
``Config`` dataclass (``agents.PPO.Config`` and so on), so every hyperparameter is typed and
validated by the algorithm itself. Plain dictionaries (from YAML or ``--set``) become
dataclasses through :func:`dataclass_from_dict`, which converts values to the annotated types
and refuses unknown keys with the closest valid names.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from marl.errors import UsageError, closest_names
from marl.files import atomic_write_text
from marl.loggers import DEFAULT_LOGGERS, normalize_loggers

ConfigClassResolver = Callable[[str], type]


@dataclass
class RunConfig:
    """Everything that defines a training run; saved as ``config.yaml`` in the run folder.

    Intervals are counted in environment steps (the learner's ``steps`` metric); 0 switches
    the periodic action off (a final evaluation and checkpoint still happen at the end).
    ``snapshot_interval`` keeps a copy of the checkpoint every that many steps
    (``checkpoints/step_<steps>.pt``, for ``marl crossplay``).
    ``backend``, ``workers`` and ``address`` choose where rollouts are collected
    (:mod:`marl.distributed`). ``loggers`` names where metrics go besides ``metrics.csv``, which is
    always written (:mod:`marl.loggers`).
    """

    env: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo: str = "ppo"
    algo_config: Any = None
    preset: str | None = None
    steps: int = 100_000
    seed: int = 0
    eval_interval: int = 10_000
    eval_episodes: int = 5
    eval_deterministic: bool = True
    checkpoint_interval: int = 10_000
    snapshot_interval: int = 0
    record_interval: int = 0
    record_episodes: int = 1
    best_team: str | None = None
    loggers: list[str] = field(default_factory=lambda: list(DEFAULT_LOGGERS))
    backend: str = "inprocess"
    workers: int = 1
    address: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.env, str) or not self.env:
            raise ValueError("env must be a non-empty environment id")
        if not isinstance(self.env_kwargs, dict):
            raise ValueError(f"env_kwargs must be a mapping, got {self.env_kwargs!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        for name in ("eval_interval", "checkpoint_interval", "snapshot_interval", "record_interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0 switches it off), got {getattr(self, name)}")
        for name in ("eval_episodes", "record_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        from marl.distributed import BACKENDS

        if self.backend not in BACKENDS:
            close = difflib.get_close_matches(str(self.backend), BACKENDS, n=2)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}{hint}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1 (rollout workers of the backend), got {self.workers}")
        self.loggers = normalize_loggers(self.loggers)


#: Keys of :class:`RunConfig` that hold nested mappings rather than one value.
NESTED_SECTIONS = ("env_kwargs", "algo_config")


def config_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The init fields of a dataclass by name."""
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _describe(annotation: Any) -> str:
    """A readable name for a type annotation."""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def coerce_value(value: Any, annotation: Any, name: str) -> Any:
    """Convert ``value`` (from YAML or the command line) to ``annotation``, or explain why not.

    Integers widen to floats, lists become tuples, strings stay strings; a value that cannot
    be converted raises :class:`UsageError` naming the field and the expected type.
    """
    if annotation is Any or annotation is typing.Any:
        return value
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)

    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        for option in arguments:
            if option is type(None):
                continue
            try:
                return coerce_value(value, option, name)
            except UsageError:
                continue
        raise UsageError(f"{name}: expected {_describe(annotation)}, got {value!r}")

    if origin is typing.Literal:
        if value in arguments:
            return value
        raise UsageError(f"{name}: expected one of {', '.join(map(repr, arguments))}, got {value!r}")

    if origin in (tuple, list, collections.abc.Sequence):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = [value]
            else:
                raise UsageError(f"{name}: expected a list like [64, 64], got {value!r}")
        if origin is tuple and arguments and arguments[-1] is not Ellipsis:
            if len(arguments) != len(value):
                raise UsageError(f"{name}: expected {len(arguments)} values, got {len(value)}")
            return tuple(coerce_value(v, a, f"{name}[{i}]") for i, (v, a) in enumerate(zip(value, arguments)))
        item = arguments[0] if arguments else Any
        converted = [coerce_value(v, item, f"{name}[{i}]") for i, v in enumerate(value)]
        return tuple(converted) if origin is tuple else converted

    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, Mapping):
            raise UsageError(f"{name}: expected a mapping, got {value!r}")
        value_type = arguments[1] if len(arguments) == 2 else Any
        return {str(k): coerce_value(v, value_type, f"{name}.{k}") for k, v in value.items()}

    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off"):
            return value.lower() in ("true", "yes", "on")
        raise UsageError(f"{name}: expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool):
            raise UsageError(f"{name}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.replace("_", ""))
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
        raise UsageError(f"{name}: expected an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, bool):
            raise UsageError(f"{name}: expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise UsageError(f"{name}: expected a number, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise UsageError(f"{name}: expected a string, got {value!r}")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        try:
            return annotation(value)
        except ValueError:
            choices = [member.value for member in annotation]
            raise UsageError(f"{name}: expected one of {choices}, got {value!r}") from None
    if annotation is type(None):
        if value is None:
            return None
        raise UsageError(f"{name}: expected null, got {value!r}")
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        if isinstance(value, Mapping):
            return dataclass_from_dict(annotation, value, name)
        raise UsageError(f"{name}: expected a mapping of {annotation.__name__} fields, got {value!r}")
    return value


def dataclass_from_dict(cls: type, data: Mapping[str, Any], context: str = "") -> Any:
    """Build dataclass ``cls`` from ``data``: typed conversion, unknown keys refused by name.

    ``context`` prefixes field names in error messages (``algo_config.lr``). A ``ValueError``
    from the dataclass's own validation becomes a :class:`UsageError` with that context.
    """
    if not isinstance(data, Mapping):
        raise UsageError(f"{context or cls.__name__}: expected a mapping of fields, got {data!r}")
    fields = config_fields(cls)
    hints = typing.get_type_hints(cls)
    prefix = f"{context}." if context else ""
    unknown = [key for key in data if key not in fields]
    if unknown:
        key = unknown[0]
        close = closest_names(str(key), fields)
        hint = (
            ("did you mean " + " or ".join(f"{prefix}{name}" for name in close) + "?")
            if close
            else ("valid keys: " + ", ".join(sorted(fields)))
        )
        raise UsageError(f"unknown config key {prefix}{key}; {hint}")
    values = {key: coerce_value(value, hints.get(key, Any), f"{prefix}{key}") for key, value in data.items()}
    try:
        return cls(**values)
    except (ValueError, TypeError) as error:
        where = context or cls.__name__
        raise UsageError(f"invalid {where}: {error}") from None


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and enums as plain dicts, lists and scalars that YAML can hold."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        return value.item()  # numpy and torch scalars
    return value


def run_config_from_dict(data: Mapping[str, Any], config_class_for: ConfigClassResolver) -> RunConfig:
    """Build a :class:`RunConfig`, its ``algo_config`` as the algorithm's ``Config`` class."""
    data = dict(data)
    if "env" not in data or data["env"] in (None, ""):
        raise UsageError("no environment given: pass ENV (for example CartPole-v1) or set env in the config file")
    algo = coerce_value(data.get("algo", RunConfig.algo), str, "algo")
    config_class = config_class_for(algo)
    algo_config = data.pop("algo_config", None) or {}
    if dataclasses.is_dataclass(algo_config) and not isinstance(algo_config, config_class):
        algo_config = to_plain(algo_config)
    if not isinstance(algo_config, config_class):
        algo_config = dataclass_from_dict(config_class, algo_config, "algo_config")
    data["env_kwargs"] = data.get("env_kwargs") or {}
    translate_tensorboard_key(data)
    config = dataclass_from_dict(RunConfig, data)
    config.algo_config = algo_config
    return config


def translate_tensorboard_key(data: dict[str, Any]) -> None:
    """Read the ``tensorboard: true|false`` of configs written before ``loggers`` existed:
    ``false`` takes TensorBoard out of ``loggers``, ``true`` leaves ``loggers`` (default: with it)."""
    if "tensorboard" not in data:
        return
    enabled = coerce_value(data.pop("tensorboard"), bool, "tensorboard")
    if not enabled:
        loggers = coerce_value(data.get("loggers", list(DEFAULT_LOGGERS)), list[str], "loggers")
        data["loggers"] = [name for name in loggers if name != "tensorboard"]


def run_config_to_dict(config: RunConfig) -> dict[str, Any]:
    """The YAML-ready form of a run config."""
    return to_plain(config)


#: Most values (scalars, lists, mappings) a config may hold, aliases counted each time they are used:
#: far more than any run needs, far fewer than a "billion laughs" file expands to.
MAX_CONFIG_VALUES = 100_000


def plain_size(value: Any, limit: int = MAX_CONFIG_VALUES) -> int:
    """How many values ``value`` holds, counting shared (aliased) parts each time; stops past ``limit``."""
    count = 0
    pending = [value]
    while pending and count <= limit:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"config file {path} is a folder, not a file") from None
    except OSError as error:
        raise UsageError(f"cannot read config file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file, so not a YAML config") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        # Tags such as !!python/object are refused here: safe_load builds plain data only.
        raise UsageError(f"{path} is not valid YAML for a config: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise UsageError(f"{path} is nested too deeply to be a config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a mapping of config keys, found {type(data).__name__}")
    size = plain_size(data)
    if size > MAX_CONFIG_VALUES:
        raise UsageError(
            f"{path} holds more than {MAX_CONFIG_VALUES} values once its YAML aliases are expanded; "
            "a run config is far smaller"
        )
    odd = first_non_plain(data)
    if odd is not None:
        raise UsageError(
            f"{path}: {odd[0]} is a {odd[1]}; a config holds only text, numbers, true/false, null, lists and mappings"
        )
    return data


def first_non_plain(value: Any, where: str = "") -> tuple[str, str] | None:
    """``(key path, type name)`` of the first value that is not plain YAML data, or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if not isinstance(key, str):
                return name, f"key of type {type(key).__name__}"
            found = first_non_plain(item, name)
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_non_plain(item, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    return where or "the document", type(value).__name__


def write_run_config(config: RunConfig, path: str | Path) -> None:
    """Save the resolved config as YAML, atomically."""
    text = yaml.safe_dump(run_config_to_dict(config), sort_keys=False, default_flow_style=False)
    atomic_write_text(path, text)


def load_run_config(path: str | Path, config_class_for: ConfigClassResolver) -> RunConfig:
    """Read a saved run config back into a typed :class:`RunConfig`."""
    return run_config_from_dict(read_yaml_mapping(path), config_class_for)
