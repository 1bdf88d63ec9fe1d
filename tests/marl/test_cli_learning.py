"""Slow: the presets learn what they promise when run through the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from marl.cli import main
from marl.metrics import read_metrics


@pytest.mark.slow
def test_the_cartpole_preset_reaches_475_within_100k_steps(tmp_path: Path):
    run = tmp_path / "cartpole"
    assert (
        main(
            [
                "train",
                "CartPole-v1",
                "--algo",
                "ppo",
                "--steps",
                "100000",
                "--seed",
                "0",
                "--out",
                str(run),
                "--no-progress",
            ]
        )
        == 0
    )
    columns = read_metrics(run / "metrics.csv")
    evaluations = columns["eval/return/agent"][np.isfinite(columns["eval/return/agent"])]
    assert evaluations[-1] >= 475, evaluations
