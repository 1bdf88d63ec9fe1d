"""``marl card``: the card's evaluation equals ``marl eval --random --json``'s, and its layout is fixed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from pick_game import cli, train_pick_game

EPISODES = 3


@pytest.fixture(scope="module")
def pick_run(tmp_path_factory) -> Path:
    """A tiny IPPO run on the two-team pick game (red and blue), named pick_game:make_env."""
    run = tmp_path_factory.mktemp("card") / "run"
    train_pick_game(run)
    return run


def table_rows(card: str, heading: str) -> dict[str, list[str]]:
    """The rows of the Markdown table that starts with ``| heading |``, by first cell."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in card.splitlines():
        if line.startswith(f"| {heading} |"):
            inside = True
            continue
        if inside and line.startswith("|---"):
            continue
        if inside and line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        elif inside:
            break
    return rows


def eval_json(capsys, run: Path, random_teams: str | None) -> dict:
    """``marl eval`` with the card's seeds and action choice, as JSON."""
    extra = ["--random", random_teams] if random_teams else []
    code, out, err = cli(
        capsys, "eval", run, "--trust-code", "--json", "--deterministic", "--episodes", EPISODES, *extra
    )
    assert code == 0, err
    return json.loads(out)


def test_the_card_reports_what_marl_eval_measures_for_every_scenario(pick_run, capsys):
    code, out, err = cli(capsys, "card", pick_run, "--episodes", EPISODES, "--trust-code")
    assert code == 0, err
    card = (pick_run / "CARD.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["tags"][-2:] == ["pick_game:make_env", "ippo"]
    assert "# run: IPPO on pick_game:make_env" in card
    assert "seeds 1000000..1000002, most likely actions" in card
    returns = table_rows(card, "scenario")
    assert list(returns) == ["all trained", "red trained", "blue trained", "all random"]
    statistics = table_rows(card, "statistic")
    assert sorted(statistics) == ["illegal", "red_threes"]
    for column, (scenario, random_teams) in enumerate(
        (("all trained", None), ("red trained", "blue"), ("blue trained", "red"), ("all random", "red,blue"))
    ):
        expected = eval_json(capsys, pick_run, random_teams)
        assert returns[scenario][0] == (random_teams.replace(",", ", ") if random_teams else "-")
        for index, team in enumerate(("red", "blue")):
            numbers = expected["teams"][team]
            assert returns[scenario][1 + index] == f"{numbers['return_mean']:.3f} ± {numbers['return_std']:.3f}"
        assert returns[scenario][3] == "5.0"
        for name, mean in expected["episode_stats"].items():
            assert float(statistics[name][column].split(" ± ")[0]) == pytest.approx(mean, abs=5e-4)
    assert returns["all trained"][1].startswith("15.000")  # the trained red always picks 3
    assert float(returns["all random"][1].split(" ± ")[0]) < 15.0


def test_the_card_is_deterministic_and_names_what_reproduces_the_run(pick_run, capsys):
    assert cli(capsys, "card", pick_run, "--episodes", 2, "--trust-code")[0] == 0
    first = (pick_run / "CARD.md").read_text()
    assert cli(capsys, "card", pick_run, "--episodes", 2, "--trust-code")[0] == 0
    assert (pick_run / "CARD.md").read_text() == first
    assert "marl train --config config.yaml --out runs/run-again --trust-code" in first
    steps = re.search(r"\| environment steps \| ([\d,]+) \(latest.pt", first)
    assert steps is not None and int(steps.group(1).replace(",", "")) > 0
    wall = re.search(r"\| wall time \| ([\d.]+) s \(metrics.csv\) \|", first)
    metrics = np.genfromtxt(pick_run / "metrics.csv", delimiter=",", names=True)
    assert wall is not None and float(wall.group(1)) == pytest.approx(np.nanmax(metrics["wall_time"]), abs=0.05)
    assert "![learning curves](plots/learning_curves.png)" in first


def test_card_refusals_are_one_line(pick_run, capsys, tmp_path):
    for arguments, phrase in (
        ((pick_run, "--episodes", 0), "--episodes must be >= 1"),
        ((pick_run,), "--trust-code"),
        ((tmp_path,), "not a run folder"),
    ):
        code, _, err = cli(capsys, "card", *arguments)
        assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1, err


def test_the_command_stops_where_the_cards_checkpoint_stopped():
    from types import SimpleNamespace

    from marl.card import reproduce_command

    def run(steps: int, budget: int):
        return SimpleNamespace(
            steps=steps,
            config=SimpleNamespace(env="navigation_v0", steps=budget),
            folder=SimpleNamespace(root=Path("runs/nav")),
        )

    assert reproduce_command(run(40, 100)) == "marl train --config config.yaml --out runs/nav-again --steps 40"
    assert reproduce_command(run(100, 100)) == "marl train --config config.yaml --out runs/nav-again"
