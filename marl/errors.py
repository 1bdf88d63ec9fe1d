"""Errors caused by the user's input, reported by the command line as one line and exit code 2."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable


class UsageError(Exception):
    """A mistake in the user's input (a name, a value, a path); the message says how to fix it."""


def closest_names(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to ``name`` (case-insensitive), best first."""
    choices = list(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.5)
    return [by_lower[match] for match in matches]


def unknown_name_message(kind: str, name: str, choices: Iterable[str]) -> str:
    """``unknown <kind> 'name'; did you mean ...?`` listing the closest choices, or all of them."""
    choices = sorted(set(choices))
    close = closest_names(name, choices)
    if close:
        hint = "did you mean " + " or ".join(repr(choice) for choice in close) + "?"
    elif len(choices) <= 12:
        hint = "choose from " + ", ".join(choices)
    else:
        hint = f"choose from {len(choices)} names such as " + ", ".join(choices[:8])
    return f"unknown {kind} {name!r}; {hint}"


def os_error_message(error: OSError) -> str:
    """One line for a file-system failure: what failed, on which path, and what to do."""
    where = f" {error.filename}" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return (
            f"no space left on the device while writing{where}; free some space and run again (files already "
            "saved are intact)"
        )
    lines = str(error).splitlines()
    reason = error.strerror or (lines[0] if lines else type(error).__name__)
    return f"cannot access{where}: {reason}"


def check_counts(flags: dict[str, int | None]) -> None:
    """Refuse a count flag below 1, naming it (flags that were not given are None)."""
    for flag, value in flags.items():
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be >= 1, got {value}")
