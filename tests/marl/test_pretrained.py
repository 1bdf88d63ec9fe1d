"""The shipped ``pretrained/quadrant`` run: a run folder that ``marl eval`` and ``marl replay``
accept, whose card describes the checkpoint it ships."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from marl.cli import main
from marl.metrics import read_metrics

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained" / "quadrant"


def run_marl(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_shipped_policy_plays_the_quadrant_game(capsys):
    code, out, err = run_marl(capsys, "eval", PRETRAINED, "--episodes", 1, "--json", "--random", "seeker")
    assert code == 0, err
    result = json.loads(out)
    assert result["episodes"] == 1
    assert set(result["teams"]) == {"hider", "seeker"}
    assert 0.0 <= result["episode_stats"]["hidden_fraction"] <= 1.0


def test_the_shipped_replays_show_boxes_locked_in_preparation(capsys):
    code, out, err = run_marl(capsys, "replay", PRETRAINED / "replays", "--stats", "--json")
    assert code == 0, err
    statistics = json.loads(out)
    statistics.pop("mean", None)
    assert len(statistics) == 2
    assert all(episode["env/num_box_lock_prep"] >= 1 for episode in statistics.values())


def test_the_card_states_the_steps_of_the_shipped_checkpoint():
    card = (PRETRAINED / "CARD.md").read_text()
    match = re.search(r"\| environment steps \| ([\d,]+) \(latest\.pt", card)
    assert match, "the card names the checkpoint's steps"
    steps = int(match.group(1).replace(",", ""))
    logged = read_metrics(PRETRAINED / "metrics.csv")["steps"]
    assert steps == int(np.nanmax(logged))
