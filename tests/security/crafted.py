"""Crafted inputs for the security tests: helpers to run ``marl`` and to edit files.

Every test here builds its bad input by editing a copy of a real run folder or replay, runs the
``marl`` command in-process (or the Python API), and checks three things: no code named by a
file ran (the canary left no mark), a refusal is one line without a traceback, and no user file
was lost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from tiny_flags import tiny_flags

from marl.cli import main

HERE = Path(__file__).resolve().parent
CANARY_MODULES = ("canary_factory", "canary_package", "canary_package.envs_v0")
#: Code ids a crafted file may name: a factory, and a module path outside the known packages.
CODE_IDS = ("canary_factory:make_env", "canary_package.envs_v0")
#: One update of 2 x 32 steps; one evaluation episode.
TINY = tiny_flags(algo__n_steps=32, algo__n_epochs=1, eval_episodes=1, checkpoint_interval=64)


def run_marl(capsys, *args) -> tuple[int, str, str]:
    """``marl ARGS`` in-process: (exit code, stdout, stderr)."""
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_refusal(code: int, err: str, *phrases: str) -> None:
    """Exit code 2, exactly one line on stderr, no traceback, and every phrase in that line."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def edit_config(run: Path, **changes) -> None:
    """Set top-level keys of ``run``'s config.yaml (None removes a key)."""
    path = run / "config.yaml"
    config = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path.write_text(yaml.safe_dump(config))


def replay_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an episode file."""
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def write_replay(arrays: dict[str, np.ndarray], path: Path, fresh_digest: bool = True) -> Path:
    """Write ``arrays`` as an episode file, with a digest that matches them unless told otherwise."""
    from replays.file_format import DIGEST_KEY, arrays_digest

    arrays = dict(arrays)
    if fresh_digest:
        arrays[DIGEST_KEY] = np.array(arrays_digest(arrays), dtype=np.str_)
    np.savez_compressed(path, **arrays)
    return path
