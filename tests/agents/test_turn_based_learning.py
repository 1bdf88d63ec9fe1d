"""Learning checks for turn-based games: a policy trained by self-play beats a uniformly random
player on either seat (the settings and step budgets are those of ``benchmarks/turn_based.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from turn_based import SETTINGS, train_and_play  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("game, least_win_rate", [("tictactoe", 0.9), ("connect_four", 0.8)])
def test_self_play_beats_a_random_player(game, least_win_rate, capsys):
    result = train_and_play(game, seed=0, steps=SETTINGS[game]["steps"], games=400)
    total = result["total"]
    output = capsys.readouterr()
    assert "Illegal move" not in output.out + output.err
    # Draws and losses count against the win rate; per seat as well as in total.
    assert total.win_rate >= least_win_rate, str(total)
    for seat, seat_results in result["per_seat"].items():
        assert seat_results.wins > seat_results.losses, f"{seat}: {seat_results}"
