"""The flags that say what to train, shared by ``marl train``, ``marl tune`` and ``marl bench``
(read back by :func:`marl.resolution.train_request`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_request_flags(parser: argparse.ArgumentParser, each: str = "") -> None:
    """ENV, ``--algo``, ``--preset``, ``--config``, ``--set`` and ``--envs``; ``each`` ends the
    help of the settings that apply to every run the command trains (" for every trial")."""
    parser.add_argument(
        "env",
        nargs="?",
        metavar="ENV",
        help="environment id (marl envs lists them), a Gymnasium id, or package.module:factory",
    )
    parser.add_argument(
        "--algo",
        help="ppo, ippo, mappo, trpo, npg or reinforce (default: the preset's, "
        "else ppo for Gymnasium tasks and mappo for multi-agent environments)",
    )
    parser.add_argument(
        "--preset", help=f"named settings{each} (marl envs --presets lists them); default: ENV's preset"
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE.yaml", help=f"a run config in YAML (any subset of keys){each}"
    )
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override one config key{each}, e.g. algo.learning_rate=1e-4 or env.n_agents=4 (repeatable)",
    )
    parser.add_argument("--envs", type=int, dest="n_envs", metavar="N", help="parallel copies of the environment")
