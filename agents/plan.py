"""What collection and the networks are built from.

A :class:`CollectionPlan` describes, per policy group, the agents and spaces, the flat
observation layouts of actor and critic, the action codec and whether an agent-id one-hot is
appended; and, for all groups, what the critic sees and the recurrent state size. It is plain
picklable data: the learner makes it once from a probe environment, and the learner and every
rollout worker build their collector and storage from it with
:func:`agents.collection.build_collection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.config import LearnerConfig
from agents.core.distributions import ActionCodec, UnsupportedSpaceError
from agents.curriculum import CurriculumSettings, check_resettable
from agents.environments import has_state, notice
from agents.groups import PolicyGroup, build_policy_groups
from agents.models import ACTION_MASK_KEY, ObservationLayout, Part


@dataclass
class GroupPlan:
    """One policy group as collection and the networks see it."""

    group: PolicyGroup
    layout: ObservationLayout
    critic_layout: ObservationLayout | None
    agent_id_one_hot: bool
    codec: ActionCodec = field(init=False)
    #: Where the observation carries the action mask, if it does.
    mask_part: Part | None = field(init=False)

    def __post_init__(self) -> None:
        self.codec = ActionCodec(self.group.action_space)
        self.mask_part = self.layout.part(ACTION_MASK_KEY)

    @property
    def one_hot_size(self) -> int:
        """Width of the agent-id one-hot appended to actor and critic inputs (0: none)."""
        return self.group.size if self.agent_id_one_hot else 0

    @property
    def critic_dim(self) -> int | None:
        """Width of the critic's own input, or None when it reads the observation."""
        return self.critic_layout.dim if self.critic_layout is not None else None


@dataclass
class CollectionPlan:
    """Every group's plan, what the critic sees (``observation``, ``state`` or ``joined``),
    the recurrent state size (0: none) and the reward normalisation."""

    groups: list[GroupPlan]
    critic_mode: str
    hidden_size: int
    gamma: float
    normalize_rewards: bool
    #: The subgame curriculum's settings (None: every episode starts with a normal reset).
    curriculum: CurriculumSettings | None = None

    @property
    def policy_groups(self) -> list[PolicyGroup]:
        """The policy groups, in order."""
        return [plan.group for plan in self.groups]


def plan_collection(probe: Any, config: LearnerConfig) -> CollectionPlan:
    """The plan for ``config`` on the environment ``probe`` (a parallel environment).

    Refuses an unsupported observation or action space naming the agent, and a curriculum on an
    environment that cannot start from a saved state; a centralised critic asked for ``state``
    that the environment lacks sees all observations joined (with a notice).
    """
    policy_groups = build_policy_groups(
        list(probe.possible_agents), probe.observation_space, probe.action_space, config.policy_sharing
    )
    layouts = []
    for group in policy_groups:
        agent = group.agents[0]
        layouts.append(ObservationLayout(group.observation_space, owner=f"agent {agent!r}"))
        try:
            ActionCodec(group.action_space)
        except UnsupportedSpaceError as error:
            raise UnsupportedSpaceError(f"agent {agent!r}: {error}") from None
    critic_mode, critic_layout = "observation", None
    if config.critic_input in ("state", "joined"):
        if config.critic_input == "state" and has_state(probe) and _state_works(probe):
            critic_mode = "state"
            critic_layout = ObservationLayout(probe.state_space, owner="state()")
        else:
            critic_mode = "joined"
            width = sum(layout.dim * group.size for layout, group in zip(layouts, policy_groups))
            critic_layout = ObservationLayout(spaces.Box(-np.inf, np.inf, (width,), np.float32), owner="joined")
            if config.critic_input == "state":
                notice(
                    f"{type(probe).__name__} has no state(); the centralised critic sees all agents' "
                    "observations joined"
                )
    groups = [
        GroupPlan(group, layout, critic_layout, config.agent_id_one_hot and group.size > 1)
        for group, layout in zip(policy_groups, layouts)
    ]
    hidden_size = config.recurrent_hidden_size if config.recurrent else 0
    curriculum = None
    if config.curriculum == "sacl":
        check_resettable(probe)
        curriculum = CurriculumSettings(config.curriculum_probability, config.curriculum_buffer_size)
    return CollectionPlan(groups, critic_mode, hidden_size, config.gamma, config.normalize_rewards, curriculum)


def _state_works(env: Any) -> bool:
    try:
        env.reset(seed=0)
        env.state()
    except (NotImplementedError, AttributeError):
        return False
    return True
