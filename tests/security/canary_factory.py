"""An environment factory that leaves a mark when it is imported or called.

The security tests name it in crafted files (``env: canary_factory:make_env``); the mark file
(named by the ``MARL_TEST_CANARY`` variable) appearing means code named by a file ran.
"""

from __future__ import annotations

import os
from pathlib import Path

MARKER_VARIABLE = "MARL_TEST_CANARY"


def leave_mark(what: str) -> None:
    """Append ``what`` to the mark file, when the tests named one."""
    path = os.environ.get(MARKER_VARIABLE)
    if path:
        with Path(path).open("a") as handle:
            handle.write(what + "\n")


leave_mark("imported canary_factory")


def make_env(**kwargs):
    """CartPole, after leaving a mark (so a trusted run works and shows that the code ran)."""
    import gymnasium

    leave_mark("called canary_factory.make_env")
    return gymnasium.make("CartPole-v1")
