"""``marl crossplay``: kept snapshots, and a matrix whose cells are separate evaluations of each pair,
within one run or between two."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch
from pick_game import cli, train_pick_game
from tiny_flags import tiny_flags

from marl.loading import open_run

SEED = 11
EPISODES = 3


@pytest.fixture(scope="module")
def snapshot_run(tmp_path_factory) -> Path:
    """The pick game trained for 384 steps, keeping a snapshot every 128."""
    run = tmp_path_factory.mktemp("crossplay") / "run"
    train_pick_game(run, "--steps", 384, "--set", "snapshot_interval=128")
    return run


@pytest.fixture(scope="module")
def other_run(tmp_path_factory) -> Path:
    """The pick game trained with another seed for 256 steps, a snapshot every 128."""
    run = tmp_path_factory.mktemp("crossplay_other") / "run"
    train_pick_game(run, "--steps", 256, "--seed", 5, "--set", "snapshot_interval=128")
    return run


def play_pair_independently(
    row_file: Path, column_file: Path, run: Path, column_run: Path | None = None
) -> dict[str, float]:
    """Red of one checkpoint against blue of another with sampled actions, written out here."""
    rows = open_run(run, str(row_file), trust_code=True)
    columns = open_run(column_run or run, str(column_file), trust_code=True)
    env = rows.env_factory()
    returns = {"red": [], "blue": []}
    threes = []
    torch.manual_seed(SEED)
    for episode in range(EPISODES):
        observations, _ = env.reset(seed=SEED + episode)
        totals = {"red": 0.0, "blue": 0.0}
        while env.agents:
            red = rows.learner.act(observations, deterministic=False)["red_0"]
            blue = columns.learner.act(observations, deterministic=False)["blue_0"]
            observations, rewards, _, _, infos = env.step({"red_0": red, "blue_0": blue})
            totals["red"] += rewards["red_0"]
            totals["blue"] += rewards["blue_0"]
        for team, total in totals.items():
            returns[team].append(total)
        threes.append(infos["red_0"]["episode_stats"]["red_threes"])
    return {
        "return/red": np.mean(returns["red"]),
        "return/blue": np.mean(returns["blue"]),
        "env/red_threes": np.mean(threes),
    }


def test_training_keeps_a_snapshot_every_interval(snapshot_run: Path):
    names = sorted(path.name for path in (snapshot_run / "checkpoints").iterdir())
    assert names == ["best.pt", "latest.pt", "step_0000000128.pt", "step_0000000256.pt", "step_0000000384.pt"]


def test_every_cell_equals_a_separate_evaluation_of_that_pair(snapshot_run: Path, tmp_path: Path, capsys):
    out = tmp_path / "matrix.png"
    code, stdout, err = cli(
        capsys, "crossplay", snapshot_run, "--trust-code", "--episodes", EPISODES, "--seed", SEED, "--out", out
    )
    assert code == 0, err
    assert stdout.split() == [str(out), str(tmp_path / "matrix.csv"), str(tmp_path / "matrix.json")]
    assert matplotlib.image.imread(out).shape[0] > 100
    report = json.loads((tmp_path / "matrix.json").read_text())
    assert report["row_team"] == "red" and report["column_teams"] == ["blue"]
    assert report["row_steps"] == report["column_steps"] == [128, 256, 384]
    assert report["row_run"] == report["column_run"] == str(snapshot_run)
    files = [snapshot_run / "checkpoints" / f"step_{steps:010d}.pt" for steps in (128, 256, 384)]
    files[-1] = snapshot_run / "checkpoints" / "latest.pt"  # the last point is the latest checkpoint
    csv_rows = (tmp_path / "matrix.csv").read_text().splitlines()
    assert csv_rows[0] == "red_steps,opponent_steps,episodes,return/red,return/blue,env/illegal,env/red_threes"
    assert len(csv_rows) == 10
    for row, row_file in enumerate(files):
        for column, column_file in enumerate(files):
            expected = play_pair_independently(row_file, column_file, snapshot_run)
            for name, value in expected.items():
                assert report["matrices"][name][row][column] == pytest.approx(value), (row, column, name)
            line = csv_rows[1 + 3 * row + column].split(",")
            assert line[:3] == [str(report["row_steps"][row]), str(report["column_steps"][column]), str(EPISODES)]
            assert float(line[3]) == pytest.approx(expected["return/red"])


def test_against_takes_the_seekers_from_another_runs_checkpoints_at_the_steps_both_kept(
    snapshot_run: Path, other_run: Path, tmp_path: Path, capsys
):
    out = tmp_path / "between.png"
    code, _, err = cli(
        capsys,
        "crossplay",
        snapshot_run,
        "--against",
        other_run,
        "--trust-code",
        "--episodes",
        EPISODES,
        "--seed",
        SEED,
        "--checkpoints",
        2,
        "--out",
        out,
    )
    assert code == 0, err
    report = json.loads((tmp_path / "between.json").read_text())
    assert report["row_steps"] == report["column_steps"] == [128, 256]  # the other run stopped at 256
    assert report["row_run"] == str(snapshot_run) and report["column_run"] == str(other_run)
    row_files = [snapshot_run / "checkpoints" / f"step_{steps:010d}.pt" for steps in (128, 256)]
    column_files = [other_run / "checkpoints" / "step_0000000128.pt", other_run / "checkpoints" / "latest.pt"]
    for row, row_file in enumerate(row_files):
        for column, column_file in enumerate(column_files):
            expected = play_pair_independently(row_file, column_file, snapshot_run, other_run)
            for name, value in expected.items():
                assert report["matrices"][name][row][column] == pytest.approx(value), (row, column, name)
    assert np.array(report["matrices"]["return/red"]).shape == (2, 2)
    assert matplotlib.image.imread(out).shape[0] > 100


def test_against_runs_that_kept_no_common_steps_chooses_each_runs_own(snapshot_run: Path, tmp_path: Path, capsys):
    wider = tmp_path / "wider"  # three env copies: 192-step rollouts, snapshots at 192 and 384
    train_pick_game(wider, "--steps", 384, "--set", "algo.n_envs=3", "--set", "snapshot_interval=192")
    capsys.readouterr()
    out = tmp_path / "own.png"
    code, _, err = cli(
        capsys,
        "crossplay",
        snapshot_run,
        "--against",
        wider,
        "--trust-code",
        "--episodes",
        1,
        "--checkpoints",
        2,
        "--out",
        out,
    )
    assert code == 0, err
    report = json.loads((tmp_path / "own.json").read_text())
    assert report["row_steps"] == [128, 384] and report["column_steps"] == [192, 384]
    assert np.array(report["matrices"]["return/red"]).shape == (2, 2)


def test_against_a_single_team_run_is_refused_in_one_line(snapshot_run: Path, tmp_path: Path, capsys):
    cartpole = tmp_path / "cartpole"
    flags = tiny_flags("--algo", "ppo", "--steps", 256, snapshot_interval=128)
    assert cli(capsys, "train", "CartPole-v1", "--out", cartpole, *flags)[0] == 0
    code, out, err = cli(capsys, "crossplay", snapshot_run, "--against", cartpole, "--trust-code")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "two teams" in err


def test_too_few_checkpoints_are_refused_in_one_line(snapshot_run: Path, tmp_path: Path, capsys):
    bare = tmp_path / "bare"
    train_pick_game(bare)
    capsys.readouterr()
    code, out, err = cli(capsys, "crossplay", bare, "--trust-code")
    assert code == 2 and out == "" and "snapshot_interval=N" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(capsys, "crossplay", snapshot_run, "--trust-code", "--checkpoints", 1)
    assert code == 2 and "--checkpoints must be >= 2" in err
    assert not (bare / "plots" / "crossplay.png").exists()
