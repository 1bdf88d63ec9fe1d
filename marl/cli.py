"""The ``marl`` command: one sub-command per module in ``marl/commands``.

Each module exposes ``add_parser(subparsers)`` and ``run(args) -> int``. A mistake in the
user's input (:class:`marl.errors.UsageError`) is printed as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from marl.errors import UsageError

#: Sub-commands in the order ``marl --help`` lists them; missing modules are skipped.
COMMANDS = ("train", "eval", "replay", "plot", "runs", "envs", "bench")


def load_commands() -> dict[str, ModuleType]:
    """The importable command modules by name (``replay`` is optional)."""
    modules = {}
    for name in COMMANDS:
        module_name = f"marl.commands.{name}"
        try:
            modules[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
    return modules


def build_parser(modules: dict[str, ModuleType] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every available sub-command."""
    modules = load_commands() if modules is None else modules
    parser = argparse.ArgumentParser(
        prog="marl",
        description="Train, evaluate, replay and compare multi-agent reinforcement learning runs.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in modules.values():
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``marl`` command; returns the exit code (2 for usage errors)."""
    modules = load_commands()
    parser = build_parser(modules)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return int(exit_request.code or 0) if not isinstance(exit_request.code, str) else 2
    module = modules[args.command]
    try:
        return int(module.run(args) or 0)
    except UsageError as error:
        print(f"marl {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
