"""Policy groups: which agents share one set of parameters.

``all``: every agent with the same spaces shares one policy (an agent-id one-hot tells them
apart). ``team``: one policy per team, where an agent's team is its name without the trailing
``_<number>`` (``hider_0`` and ``hider_1`` are team ``hider``). ``agent``: one policy per
agent. ``auto`` is ``team``, which is ``all`` when every name has the same prefix. Agents
whose observation or action spaces differ always land in different groups.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TEAM_SUFFIX = re.compile(r"^(.*?)[_\-]?(\d+)$")


def team_of(agent: str) -> str:
    """The team an agent name carries: the name without a trailing ``_<number>``."""
    match = _TEAM_SUFFIX.match(agent)
    if match and match.group(1):
        return match.group(1)
    return agent


@dataclass
class PolicyGroup:
    """Agents that share a policy, with their common spaces.

    ``agents`` is in the environment's ``possible_agents`` order; an agent's index in it is
    the position of its agent-id one-hot and of its slot in the rollout storage.
    """

    name: str
    agents: list[str]
    observation_space: Any
    action_space: Any
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {agent: i for i, agent in enumerate(self.agents)}

    @property
    def size(self) -> int:
        """Number of agents in the group."""
        return len(self.agents)


def _label(agent: str, agents: list[str], sharing: str) -> str:
    """The sharing rule's group name for ``agent`` (before any split by spaces)."""
    if sharing == "agent":
        return agent
    if sharing == "all":
        teams = {team_of(a) for a in agents}
        return teams.pop() if len(teams) == 1 else "shared"
    return team_of(agent)


def build_policy_groups(
    agents: list[str],
    observation_space: Callable[[str], Any],
    action_space: Callable[[str], Any],
    sharing: str = "auto",
) -> list[PolicyGroup]:
    """Split ``agents`` into policy groups by the ``sharing`` rule and by their spaces.

    A label whose agents have several different space pairs becomes ``<label>_0``,
    ``<label>_1``, ... in order of first appearance.
    """
    if sharing not in ("auto", "all", "team", "agent"):
        raise ValueError(f"policy_sharing must be one of 'auto', 'all', 'team', 'agent', got {sharing!r}")
    keyed: dict[tuple[str, str, str], list[str]] = {}
    for agent in agents:
        key = (_label(agent, agents, sharing), repr(observation_space(agent)), repr(action_space(agent)))
        keyed.setdefault(key, []).append(agent)
    splits: dict[str, int] = {}
    for label, _, _ in keyed:
        splits[label] = splits.get(label, 0) + 1
    groups = []
    seen: dict[str, int] = {}
    for (label, _, _), members in keyed.items():
        name = label
        if splits[label] > 1:
            name = f"{label}_{seen.get(label, 0)}"
            seen[label] = seen.get(label, 0) + 1
        groups.append(PolicyGroup(name, members, observation_space(members[0]), action_space(members[0])))
    return groups
