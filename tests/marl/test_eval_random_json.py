"""``marl eval --random TEAMS --json``: random teams within their action masks, one JSON object on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from pick_game import cli, train_pick_game

from marl.evaluation import RandomPolicy
from marl.loading import open_run


@pytest.fixture(scope="module")
def pick_run(tmp_path_factory) -> Path:
    """A tiny IPPO run on the pick game (it learns to pick 3 within 256 steps)."""
    run = tmp_path_factory.mktemp("pick") / "run"
    train_pick_game(run)
    return run


def play_independently(run: Path, episodes: int, seed: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each team's return and each statistic per episode, from a loop written out here."""
    loaded = open_run(run, trust_code=True)
    env = loaded.env_factory()
    returns: dict[str, list[float]] = {"red": [], "blue": []}
    stats: dict[str, list[float]] = {}
    for episode in range(episodes):
        observations, _ = env.reset(seed=seed + episode)
        totals = {"red": 0.0, "blue": 0.0}
        while env.agents:
            actions = loaded.learner.act(observations, deterministic=True)
            observations, rewards, _, _, infos = env.step(actions)
            for agent, reward in rewards.items():
                totals[agent.split("_")[0]] += reward
        for team, total in totals.items():
            returns[team].append(total)
        for name, value in infos["red_0"]["episode_stats"].items():
            stats.setdefault(name, []).append(value)
    return returns, stats


def test_json_is_one_object_whose_numbers_match_an_independent_evaluation(pick_run: Path, capsys):
    code, out, err = cli(
        capsys, "eval", pick_run, "--trust-code", "--json", "--deterministic", "--episodes", 4, "--seed", 7
    )
    assert code == 0, err
    report = json.loads(out)  # the whole of stdout is one JSON object
    assert "seeds 7..10" in err
    returns, stats = play_independently(pick_run, 4, 7)
    assert report["episodes"] == 4
    assert set(report["teams"]) == {"red", "blue"}
    for team, values in returns.items():
        assert report["teams"][team]["return_mean"] == pytest.approx(np.mean(values))
        assert report["teams"][team]["return_std"] == pytest.approx(np.std(values))
    assert report["episode_stats"] == pytest.approx({name: np.mean(values) for name, values in stats.items()})
    assert report["teams"]["red"]["return_mean"] == 15.0  # the trained policy picks 3 at every step


def test_random_teams_act_uniformly_within_the_mask_while_the_others_keep_their_policy(pick_run: Path, capsys):
    episodes = 200
    code, out, err = cli(
        capsys, "eval", pick_run, "--trust-code", "--json", "--deterministic", "--episodes", episodes, "--random", "red"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["episode_stats"]["illegal"] == 0.0  # never an action the mask forbids
    # 1 or 3 with equal chance at each of 5 steps: red picks 3 2.5 times per episode (std 1.12).
    assert report["episode_stats"]["red_threes"] == pytest.approx(2.5, abs=0.35)
    assert report["teams"]["red"]["return_mean"] == pytest.approx(10.0, abs=0.7)
    assert report["teams"]["red"]["return_std"] > 1.0
    assert report["teams"]["blue"] == {"return_mean": 15.0, "return_std": 0.0}  # still the trained policy

    code, out, err = cli(
        capsys, "eval", pick_run, "--trust-code", "--json", "--deterministic", "--episodes", 20, "--random", "red,blue"
    )
    assert code == 0, err
    both = json.loads(out)
    assert both["teams"]["blue"]["return_mean"] < 13.0 and both["episode_stats"]["illegal"] == 0.0


def test_an_unknown_team_is_one_line_and_exit_2_before_any_episode(pick_run: Path, capsys):
    code, out, err = cli(capsys, "eval", pick_run, "--trust-code", "--json", "--random", "red,seeker")
    assert code == 2 and out == ""
    assert err.strip() == "marl eval: error: --random: unknown team 'seeker'; choose from blue, red"
    code, out, err = cli(capsys, "eval", pick_run, "--trust-code", "--random", ",")
    assert code == 2 and "expected comma-separated team names" in err and len(err.strip().splitlines()) == 1


def test_random_policy_respects_multi_discrete_masks_and_is_reproducible():
    space = spaces.MultiDiscrete([3, 2])
    mask = np.array([1, 0, 1, 0, 1], dtype=np.int8)  # first dimension 0 or 2, second only 1
    policy = RandomPolicy({"a_0": space}, seed=3)
    picks = np.array([policy({"a_0": {"observation": 0, "action_mask": mask}})["a_0"] for _ in range(400)])
    assert set(picks[:, 0]) == {0, 2} and set(picks[:, 1]) == {1}
    assert 0.4 < np.mean(picks[:, 0] == 2) < 0.6
    again = RandomPolicy({"a_0": space}, seed=3)
    assert np.array_equal(again({"a_0": {"observation": 0, "action_mask": mask}})["a_0"], picks[0])
