"""``--set key=value`` overrides: parse them and apply them to a plain config mapping.

Keys are paths into the run config: ``steps=200000``, ``algo_config.lr=1e-4`` (or the short
``algo.lr=1e-4``), ``env_kwargs.n_hiders=2`` (or ``env.n_hiders=2``). Values are read like
YAML scalars (numbers, ``true``/``false``, ``null``, lists such as ``[64,64]``); the types are
then checked against the config's dataclasses when the config is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from marl.errors import UsageError

#: Short forms accepted for the nested sections.
SECTION_ALIASES = {"algo": "algo_config", "env": "env_kwargs", "hyperparameters": "algo_config"}


def parse_value(text: str) -> Any:
    """Read one command-line value: an int, a float (``1e-4`` too), or any YAML scalar or list."""
    stripped = text.strip()
    for convert in (int, float):
        try:
            return convert(stripped)
        except ValueError:
            pass
    try:
        return yaml.safe_load(stripped) if stripped else ""
    except yaml.YAMLError:
        return text


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """Split ``key.path=value`` into the canonical key path and the parsed value."""
    key, separator, raw = text.partition("=")
    key = key.strip()
    if not separator or not key:
        raise UsageError(f"--set expects key=value (for example algo.lr=1e-4), got {text!r}")
    path = key.split(".")
    if any(not part for part in path):
        raise UsageError(f"--set key {key!r} has an empty part; write for example algo.lr=1e-4")
    if len(path) > 1 and path[0] in SECTION_ALIASES:
        path[0] = SECTION_ALIASES[path[0]]
    return path, parse_value(raw)


def apply_assignment(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``value`` at ``path`` inside nested dicts, creating the sections on the way."""
    target = data
    for depth, part in enumerate(path[:-1]):
        child = target.get(part)
        if child is None:
            child = {}
            target[part] = child
        elif not isinstance(child, dict):
            where = ".".join(path[: depth + 1])
            raise UsageError(f"--set {'.'.join(path)}: {where} is a single value, not a section")
        target = child
    target[path[-1]] = value


def apply_overrides(data: Mapping[str, Any], assignments: Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` with every ``key=value`` assignment applied in order."""
    result = deep_copy_mapping(data)
    for text in assignments:
        path, value = parse_assignment(text)
        apply_assignment(result, path, value)
    return result


def deep_copy_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """Copy nested dicts so that edits never reach the original (leaves are shared)."""
    return {key: deep_copy_mapping(value) if isinstance(value, Mapping) else value for key, value in data.items()}


def merge_mappings(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``, merging nested sections key by key."""
    result = deep_copy_mapping(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merge_mappings(result[key], value)
        else:
            result[key] = deep_copy_mapping(value) if isinstance(value, Mapping) else value
    return result
