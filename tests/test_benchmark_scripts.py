"""The benchmark scripts' own logic: reading printed curves back and choosing tuned settings."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import long_runs  # noqa: E402
import mappo_spread  # noqa: E402
import mujoco_returns  # noqa: E402

from marl.presets import MUJOCO_TRPO  # noqa: E402


def test_spread_curves_are_read_back_from_printed_output():
    log = """command: python benchmarks/mappo_spread.py --steps 64000
environment alone: 1217 steps/s (128 copies, random actions, one process)
random policy: mean episode return per agent -28.88
  seed 0 steps      32000 time     54.7s return   -22.75
  seed 1 steps      32000 time     50.0s return   -23.50
  seed 0 steps      64000 time    118.2s return   -20.10
seed 0: training 540 steps/s = 0.44 x environment alone; last reported return -20.10
"""
    curves, random_return = mappo_spread.points_from_log(log.splitlines())
    assert random_return == pytest.approx(-28.88)
    assert curves == {0: [(32000.0, 54.7, -22.75), (64000.0, 118.2, -20.10)], 1: [(32000.0, 50.0, -23.5)]}


def test_tuned_settings_come_from_the_task_preset():
    assert mujoco_returns.tuned_hyperparameters("trpo", "Hopper-v5") == MUJOCO_TRPO
    with pytest.raises(SystemExit, match="no preset with reinforce settings for Hopper-v5"):
        mujoco_returns.tuned_hyperparameters("reinforce", "Hopper-v5")


def test_interleaved_throughput_times_training_and_the_environment_alone_apart():
    from benchmarks_common import InterleavedThroughput

    now = [0.0]
    stepped = []

    def step_alone(steps):  # the environment alone: 1000 steps per second
        stepped.append(steps)
        now[0] += steps / 1000

    measure = InterleavedThroughput(step_alone, warmup=1, clock=lambda: now[0], cpu_clock=lambda: now[0] / 2)
    for update, seconds in enumerate([5.0, 2.0, 4.0, 2.5], start=1):  # training 400 steps per update
        now[0] += seconds
        measure.after_update(
            {"steps": 400.0 * update, "collection_seconds": seconds - 1.0, "update_seconds": 1.0 * update}
        )
    assert stepped == [400, 400, 400, 400]
    summary = measure.summary()
    # The first (warm-up) interval is left out: training rates 200, 100, 160 -> median 160.
    assert summary["intervals"] == 3
    assert summary["training"] == pytest.approx(160.0) and summary["alone"] == pytest.approx(1000.0)
    assert summary["ratio"] == pytest.approx(0.16) and summary["ratio_cpu"] == pytest.approx(0.16)
    # The learner's own phase times, medians over the same three updates.
    assert summary["collection_seconds"] == pytest.approx(1.5) and summary["update_seconds"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="more than 1 updates"):
        InterleavedThroughput(step_alone).summary()


def test_default_panel_trains_scores_and_tabulates_a_small_subset(tmp_path, capsys):
    import json

    import default_panel

    output = tmp_path / "panel.json"
    argv = ["--envs", "navigation", "tictactoe", "--algos", "mappo", "--seeds", "0", "--budget-s", "0.01"]
    assert default_panel.main([*argv, "--episodes", "3", "--games", "4", "--output", str(output)]) == 0
    results = json.loads(output.read_text())
    runs = {(run["env"], run["settings"]): run for run in results["runs"]}
    # navigation_v0 has a tuned MAPPO preset in marl/presets.py; tic-tac-toe has none.
    assert set(runs) == {("navigation", "default"), ("navigation", "tuned"), ("tictactoe", "default")}
    for run in runs.values():
        assert run["updates"] == 1 and run["steps"] > 0  # the budget ends training after the first update
    # Rewards of navigation_v0 are negative distances; a win rate is a share of 4 games.
    assert results["random"]["navigation"]["all"] < 0
    assert runs[("navigation", "default")]["scores"]["all"] < 0
    assert runs[("tictactoe", "default")]["scores"]["win_rate"] in {0.0, 0.25, 0.5, 0.75, 1.0}
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("| navigation | mappo |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert float(cells[3]) == pytest.approx(runs[("navigation", "default")]["scores"]["all"], rel=1e-2)
    assert float(cells[4]) == pytest.approx(results["random"]["navigation"]["all"], rel=1e-2)
    assert float(cells[5]) == pytest.approx(runs[("navigation", "tuned")]["scores"]["all"], rel=1e-2)
    # Several seeds: the median with the range; a cell with no run says so.
    assert default_panel.summary([3.0, 1.0, 2.0]) == "2 (1 to 3)"
    assert default_panel.summary([]) == "not run"


def test_long_run_blocks_count_evaluations_and_flags_per_block():
    nan = np.nan
    columns = {  # training rows (rate, entropy) and evaluation rows (hidden, locks, flag) interleaved
        "steps": np.array([100.0, 100.0, 200.0, 200.0, 300.0, 300.0, 450.0, 450.0]),
        "steps_per_second": np.array([10.0, nan, 30.0, nan, 50.0, nan, 70.0, nan]),
        "eval/env/hidden_fraction": np.array([nan, 0.2, nan, 0.6, nan, 0.4, nan, 0.9]),
        "eval/env/num_box_lock_prep": np.array([nan, 0.0, nan, 1.0, nan, 0.5, nan, 1.5]),
        "stage/running_and_chasing": np.array([nan, 0.0, nan, 1.0, nan, 1.0, nan, 1.0]),
        "train/hider/entropy": np.array([8.0, nan, 6.0, nan, 4.0, nan, 2.0, nan]),
    }
    rows = long_runs.block_rows(columns, 200)
    assert [(row["from"], row["to"]) for row in rows] == [(0.0, 200.0), (200.0, 450.0)]  # the tail joins
    assert [row["evaluations"] for row in rows] == [2, 2]
    assert rows[0]["hidden_median"] == pytest.approx(0.4) and rows[1]["hidden_median"] == pytest.approx(0.65)
    assert rows[0]["box_lock_prep_mean"] == pytest.approx(0.5) and rows[1]["box_lock_prep_mean"] == pytest.approx(1.0)
    assert rows[0]["steps_per_second_median"] == pytest.approx(20.0) and rows[1]["steps_per_second_median"] == 60.0
    assert [row["stage/running_and_chasing"] for row in rows] == [1, 2]
    # first window: steps <= 200 (8 and 6); last window: steps > 450 - 200 (4 and 2)
    assert long_runs.entropy_means(columns, window=200) == {"hider": (7.0, 3.0)}


def test_crossplay_summary_reads_the_first_teams_return():
    report = {
        "row_team": "hider",
        "matrices": {"return/hider": [[1.0, 2.0], [3.0, 5.0]], "env/hidden_fraction": [[0.2, 0.4], [0.6, 0.8]]},
    }
    summary = long_runs.crossplay_summary(report)
    assert summary["diagonal_mean"] == pytest.approx(3.0)
    assert summary["row_means"] == pytest.approx([1.5, 4.0]) and summary["column_means"] == pytest.approx([2.0, 3.5])
    assert summary["diagonal_hidden_mean"] == pytest.approx(0.5)
