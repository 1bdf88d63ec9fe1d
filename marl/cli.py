"""The ``marl`` command: one sub-command per module in ``marl/commands``.

Each module exposes ``add_parser(subparsers)`` and ``run(args) -> int``. A command module imports
only light modules at its top and the heavy ones (torch, the learners, the arena, scipy) inside
``run``, so that ``marl --help`` and a mistaken flag answer at once. A mistake in the
user's input (:class:`marl.errors.UsageError`), a bad argument, or a file that cannot be
written (a full disk, a path without permission) is printed as one line and exits with code 2;
Ctrl-C exits with code 130 and one line. Nothing ends in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from marl import __version__
from marl.errors import UsageError, os_error_message

#: Sub-commands in the order ``marl --help`` lists them; missing modules are skipped.
COMMANDS = (
    "train",
    "tune",
    "eval",
    "crossplay",
    "replay",
    "plot",
    "report",
    "runs",
    "card",
    "export",
    "import",
    "envs",
    "bench",
)
#: Command modules whose file name is not the command's (``import`` is a Python keyword).
MODULE_NAMES = {"import": "import_"}


def load_commands() -> dict[str, ModuleType]:
    """The importable command modules by name (``replay`` is optional)."""
    modules = {}
    for name in COMMANDS:
        module_name = f"marl.commands.{MODULE_NAMES.get(name, name)}"
        try:
            modules[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
    return modules


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and a pointer to --help), not the usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print ``prog: error: message`` and exit with code 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(modules: dict[str, ModuleType] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every available sub-command."""
    modules = load_commands() if modules is None else modules
    parser = OneLineParser(
        prog="marl",
        description="Train, evaluate, replay and compare multi-agent reinforcement learning runs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in modules.values():
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``marl`` command; returns the exit code (2 for usage errors, 130 for Ctrl-C)."""
    command = "marl"
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        modules = load_commands()
        parser = build_parser(modules)
        try:
            args = parser.parse_args(arguments)
        except SystemExit as exit_request:
            return int(exit_request.code or 0) if not isinstance(exit_request.code, str) else 2
        command = f"marl {args.command}"
        return int(modules[args.command].run(args) or 0)
    except UsageError as error:
        print(f"{command}: error: {str(error).splitlines()[0] if str(error) else 'bad input'}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{command}: error: {os_error_message(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
