"""Policy groups: which agents share one set of parameters.

``all``: every agent with the same spaces shares one policy (an agent-id one-hot tells them
apart). ``team``: one policy per team, where an agent's team is its name without the trailing
``_<number>`` (``hider_0`` and ``hider_1`` are team ``hider``). ``agent``: one policy per
agent. ``auto`` is ``team``, which is ``all`` when every name has the same prefix. Agents
whose observation or action spaces differ always land in different groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

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


def _space_signature(space: Any) -> str:
    return repr(space)


def build_policy_groups(
    agents: list[str],
    observation_space: Callable[[str], Any],
    action_space: Callable[[str], Any],
    sharing: str = "auto",
) -> list[PolicyGroup]:
    """Split ``agents`` into policy groups by the ``sharing`` rule and by their spaces."""
    if sharing not in ("auto", "all", "team", "agent"):
        raise ValueError(f"policy_sharing must be one of 'auto', 'all', 'team', 'agent', got {sharing!r}")
    keyed: dict[tuple[str, str, str], list[str]] = {}
    for agent in agents:
        if sharing == "all":
            label = "shared"
        elif sharing == "agent":
            label = agent
        else:
            label = team_of(agent)
        key = (label, _space_signature(observation_space(agent)), _space_signature(action_space(agent)))
        keyed.setdefault(key, []).append(agent)
    labels = [key[0] for key in keyed]
    groups = []
    seen: dict[str, int] = {}
    for (label, _, _), members in keyed.items():
        name = label
        if labels.count(label) > 1:
            seen[label] = seen.get(label, 0) + 1
            name = f"{label}_{seen[label] - 1}"
            if name in agents or name in labels:
                name = f"{label}_group{seen[label] - 1}"
        if sharing == "all" and labels.count(label) == 1 and len(keyed) == 1:
            name = team_of(members[0]) if len({team_of(a) for a in members}) == 1 else "shared"
        groups.append(PolicyGroup(name, members, observation_space(members[0]), action_space(members[0])))
    return groups


def agent_one_hot(group: PolicyGroup) -> "Any":
    """The [n_agents, n_agents] identity matrix as float32 numpy (row i = agent i's id)."""
    import numpy as np

    return np.eye(group.size, dtype=np.float32)
