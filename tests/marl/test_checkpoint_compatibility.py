"""One compatibility check serves the learner's checkpoints and the run folder's."""

from __future__ import annotations

import pytest

from agents.checkpoint import compatibility_problem
from marl.checkpoints import CheckpointError, check_compatible

SPACES = {
    "hider_0": {"observation": "Box(4,)", "action": "Discrete(3)"},
    "seeker_0": {"observation": "Box(4,)", "action": "Discrete(3)"},
}


def test_identical_signatures_fit_nested_or_flat():
    assert compatibility_problem("ppo", SPACES, "ppo", dict(SPACES), "config") is None
    flat = {"team/observation": [4], "team/action": [3, 0]}
    assert compatibility_problem("PPO", flat, "PPO", dict(flat), "environment") is None


def test_every_differing_entry_is_named_with_both_values():
    changed = {**SPACES, "seeker_0": {"observation": "Box(6,)", "action": "Discrete(5)"}}
    problem = compatibility_problem("ppo", SPACES, "ppo", changed, "config")
    assert problem == (
        "seeker_0/observation: checkpoint Box(4,) vs config Box(6,); "
        "seeker_0/action: checkpoint Discrete(3) vs config Discrete(5)"
    )


def test_a_missing_agent_and_a_new_order_are_refused():
    only_hider = {"hider_0": SPACES["hider_0"]}
    assert "seeker_0/observation: checkpoint Box(4,) vs config None" in compatibility_problem(
        "ppo", SPACES, "ppo", only_hider, "config"
    )
    swapped = {"seeker_0": SPACES["seeker_0"], "hider_0": SPACES["hider_0"]}
    assert "order" in compatibility_problem("ppo", SPACES, "ppo", swapped, "config")


def test_the_run_folder_check_is_the_learner_check():
    payload = {"algo": "ppo", "spaces": SPACES}
    with pytest.raises(
        CheckpointError, match=r"^checkpoint c.pt does not fit the config: it was trained with 'ppo', not 'trpo'$"
    ):
        check_compatible(payload, "c.pt", "trpo", SPACES)
    check_compatible(payload, "c.pt", "ppo", SPACES)
