"""Files never run code: environment names read from files resolve through registries only.

A config file, a run folder, a replay or a checkpoint may come from someone else. An
environment id of the form ``package.module:factory`` (or a module outside the environment
packages the registry knows) would import and call code the file names, so such an id read
from a file is refused unless the person running the command passes ``--trust-code``. The
same id typed on the command line (``marl train mymodule:make_env``) is the user's own choice
and is made as asked. A Ray cluster address read from a file is treated the same way: joining
a cluster runs what it sends.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from marl.errors import UsageError

TRUST_HELP = (
    "let environment ids of the form package.module:factory read from files (configs, run folders, "
    "replays) import and run that code; off by default"
)


def add_trust_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust-code`` to a sub-command's parser."""
    parser.add_argument("--trust-code", action="store_true", help=TRUST_HELP)


def code_named_by(env_id: str) -> str | None:
    """What code making ``env_id`` would import because the id names it (None for registry ids)."""
    from envs.registry import code_reference

    return code_reference(env_id)


def check_env_from_file(env_id: str, source: str | Path, trust_code: bool) -> None:
    """Refuse an environment id read from ``source`` that would run code, unless ``trust_code``."""
    reference = code_named_by(env_id)
    if reference is not None and not trust_code:
        raise UsageError(
            f"{source} names the environment {env_id!r}, which would import and run {reference}; files never "
            "run code unless you trust them: add --trust-code if you do, or use a registered id (marl envs)"
        )


def check_address_from_file(address: str | None, source: str | Path, trust_code: bool) -> None:
    """Refuse a Ray cluster address read from ``source`` unless ``trust_code`` (or it is local)."""
    if address not in (None, "auto") and not trust_code:
        raise UsageError(
            f"{source} asks to join the Ray cluster at {address!r}, which would run code it sends; pass "
            "--address yourself, or add --trust-code if you trust the file"
        )
