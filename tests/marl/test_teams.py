"""Training and evaluation read the same teams from agent names."""

from __future__ import annotations

import pytest
from gymnasium import spaces

from agents.groups import build_policy_groups
from marl.environments import teams_of
from marl.evaluation import team_policy

NAMES = [
    ["player1", "player2"],
    ["hider_0", "hider_1", "seeker_0", "seeker_1"],
    ["red-0", "red-1", "blue-0"],
    ["agent"],
]


@pytest.mark.parametrize("agents", NAMES)
def test_evaluation_teams_are_the_training_groups(agents: list[str]) -> None:
    box = spaces.Box(-1.0, 1.0, (2,))
    groups = build_policy_groups(agents, lambda _: box, lambda _: spaces.Discrete(2), sharing="team")
    assert teams_of(agents) == [group.name for group in groups]


def test_team_policy_routes_player1_to_the_player_team() -> None:
    def constant(value: int):
        return lambda observations: {agent: value for agent in observations}

    policy = team_policy({"player": constant(1)}, default=constant(0))
    assert policy({"player1": 0, "player2": 0}) == {"player1": 1, "player2": 1}
