"""Policy groups: teams from names, sharing modes, splits by space."""

import pytest
from gymnasium import spaces

from agents.groups import build_policy_groups, team_of

SMALL, LARGE = spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (4,))


def groups(space_of, sharing="auto"):
    return [(g.name, g.agents) for g in build_policy_groups(list(space_of), space_of.get, space_of.get, sharing)]


def test_team_is_the_name_without_its_number():
    assert [team_of(n) for n in ("hider_0", "seeker_12", "agent-3", "knight", "player_a")] == [
        "hider",
        "seeker",
        "agent",
        "knight",
        "player_a",
    ]


def test_sharing_modes():
    arena = {"hider_0": SMALL, "hider_1": SMALL, "seeker_0": SMALL, "seeker_1": SMALL}
    assert groups(arena) == [("hider", ["hider_0", "hider_1"]), ("seeker", ["seeker_0", "seeker_1"])]
    assert groups(arena, "team") == groups(arena)
    assert groups(arena, "all") == [("shared", list(arena))]
    assert groups(arena, "agent") == [(a, [a]) for a in arena]
    spread = {"agent_0": SMALL, "agent_1": SMALL, "agent_2": SMALL}
    assert groups(spread) == [("agent", list(spread))]


def test_different_spaces_never_share_a_policy():
    mixed = {"agent_0": SMALL, "adversary_0": LARGE, "agent_1": SMALL}
    assert groups(mixed, "all") == [("shared_0", ["agent_0", "agent_1"]), ("shared_1", ["adversary_0"])]
    same_team = {"agent_0": SMALL, "agent_1": LARGE}
    assert groups(same_team) == [("agent_0", ["agent_0"]), ("agent_1", ["agent_1"])]
    built = build_policy_groups(list(mixed), mixed.get, mixed.get, "all")
    assert built[1].observation_space == LARGE and built[0].index == {"agent_0": 0, "agent_1": 1}


def test_unknown_sharing_mode_is_refused():
    with pytest.raises(ValueError, match="policy_sharing must be one of"):
        build_policy_groups(["a"], lambda a: SMALL, lambda a: SMALL, "teams")
