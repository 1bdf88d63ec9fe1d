"""Typed, validated hyperparameters.

Every algorithm has a dataclass ``Config``. Each field carries its allowed range in the
field metadata; ``__post_init__`` checks every field and raises a ``ValueError`` naming the
field and its range, so a bad value is reported before any environment is built. Unknown
names are rejected by :func:`build_config` with the closest valid names.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """A predicate on a field value plus the human-readable range it enforces."""

    accepts: Callable[[Any], bool]
    description: str


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive() -> Check:
    """A finite number > 0."""
    return Check(lambda v: _is_number(v) and v > 0, "a finite number > 0")


def non_negative() -> Check:
    """A finite number >= 0."""
    return Check(lambda v: _is_number(v) and v >= 0, "a finite number >= 0")


def positive_int() -> Check:
    """An integer >= 1."""
    return Check(lambda v: _is_int(v) and v >= 1, "an integer >= 1")


def discount() -> Check:
    """A number in (0, 1]."""
    return Check(lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]")


def unit_closed() -> Check:
    """A number in [0, 1]."""
    return Check(lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]")


def open_unit() -> Check:
    """A number in (0, 1)."""
    return Check(lambda v: _is_number(v) and 0 < v < 1, "a number in (0, 1)")


def optional(check: Check) -> Check:
    """``None`` or a value accepted by ``check``."""
    return Check(lambda v: v is None or check.accepts(v), f"None or {check.description}")


def one_of(*choices: str) -> Check:
    """One of the given strings."""
    return Check(lambda v: v in choices, "one of " + ", ".join(repr(c) for c in choices))


def boolean() -> Check:
    """True or False."""
    return Check(lambda v: isinstance(v, bool), "True or False")


def boolean_or(*choices: str) -> Check:
    """True, False or one of the given strings."""
    names = ", ".join(repr(c) for c in choices)
    return Check(lambda v: isinstance(v, bool) or v in choices, f"True, False or {names}")


def sizes() -> Check:
    """A non-empty sequence of integers >= 1."""
    return Check(
        lambda v: isinstance(v, (tuple, list)) and len(v) > 0 and all(_is_int(x) and x >= 1 for x in v),
        "a non-empty sequence of integers >= 1",
    )


def option(default: Any, check: Check, help: str = "") -> Any:
    """A dataclass field with a default, a validity check and a one-line description."""
    if isinstance(default, (list, tuple)):
        value = tuple(default)
        return field(default_factory=lambda: value, metadata={"check": check, "help": help})
    return field(default=default, metadata={"check": check, "help": help})


#: Where the update may run (``auto``: ``cuda`` when torch sees a GPU, else ``cpu``); see :mod:`agents.device`.
DEVICES = ("auto", "cpu", "cuda")

CRITIC_INPUT_HELP = (
    "what the critic sees: the agent's observation, the environment's state() (all observations joined "
    "when there is none), or all agents' observations joined"
)


@dataclass
class LearnerConfig:
    """Hyperparameters shared by every algorithm: collection, advantages, networks."""

    n_envs: int = option(1, positive_int(), "copies of the environment stepped in lockstep")
    n_steps: int = option(2048, positive_int(), "steps per environment copy between updates (horizon)")
    gamma: float = option(0.99, discount(), "discount factor")
    gae_lambda: float = option(0.95, unit_closed(), "GAE lambda (1.0 gives Monte-Carlo returns)")
    normalize_advantage: bool = option(True, boolean(), "normalise advantages over living agents")
    hidden_sizes: tuple[int, ...] = option((64, 64), sizes(), "hidden layer sizes of actor and critic")
    activation: str = option("tanh", one_of("tanh", "relu"), "hidden activation")
    feature_normalization: bool = option(False, boolean(), "LayerNorm on the network inputs and hidden layers")
    normalize_observations: bool | str = option(
        False, boolean_or("auto"), "running mean/std normalisation of observations ('auto': of unbounded Box inputs)"
    )
    normalize_rewards: bool = option(
        False, boolean(), "divide rewards by the running std of the discounted return (as Gymnasium's NormalizeReward)"
    )
    value_normalization: bool = option(False, boolean(), "ValueNorm on value targets (MAPPO paper)")
    critic_input: str = option("observation", one_of("observation", "state", "joined"), CRITIC_INPUT_HELP)
    policy_sharing: str = option(
        "auto",
        one_of("auto", "all", "team", "agent"),
        "which agents share a policy ('auto': per team if names carry teams)",
    )
    agent_id_one_hot: bool = option(True, boolean(), "append an agent-id one-hot when a group has several agents")
    entity_embed_dim: int = option(
        64, positive_int(), "width of the entity encoder's embeddings and attention (observations with entity lists)"
    )
    attention_heads: int = option(4, positive_int(), "attention heads of the entity encoder (divide entity_embed_dim)")
    recurrent: bool = option(False, boolean(), "GRU after the encoder in actor and critic")
    recurrent_hidden_size: int = option(64, positive_int(), "GRU hidden size")
    chunk_length: int = option(10, positive_int(), "sequence length for training recurrent policies")
    max_grad_norm: float | None = option(0.5, optional(positive()), "gradient clipping norm (None: off)")
    adam_epsilon: float = option(1e-5, positive(), "Adam epsilon")
    update_threads: int | None = option(
        None,
        optional(positive_int()),
        "threads for the independent parts of an update: policy groups, and a group's policy and value passes "
        "(None: the CPUs available; each place keeps threads only where timing shows they are faster)",
    )
    torch_threads: int | None = option(
        1, optional(positive_int()), "torch threads (small networks run fastest on one; None: leave torch's setting)"
    )
    device: str = option(
        "cpu",
        one_of(*DEVICES),
        "where the update runs ('auto': cuda when torch sees a GPU, else cpu); rollouts always run on the CPU",
    )
    # Subgame curriculum for self-play (agents.curriculum: SACL, Chen, Xu et al., AAAI 2024).
    curriculum: str = option(
        "none", one_of("none", "sacl"), "start a share of episodes from visited states whose values still move"
    )
    curriculum_probability: float = option(
        0.7, unit_closed(), "share of resets that start from a buffer state (SACL's prob_curriculum)"
    )
    curriculum_buffer_size: int = option(1000, positive_int(), "visited states the curriculum keeps per collector")

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            check: Check | None = spec.metadata.get("check")
            value = getattr(self, spec.name)
            if isinstance(value, list):
                value = tuple(value)
                setattr(self, spec.name, value)
            if check is not None and not check.accepts(value):
                raise ValueError(f"{type(self).__qualname__}.{spec.name} must be {check.description}, got {value!r}")
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses extend it."""
        if self.entity_embed_dim % self.attention_heads:
            raise ValueError(
                f"{type(self).__qualname__}.attention_heads ({self.attention_heads}) must divide "
                f"entity_embed_dim ({self.entity_embed_dim})"
            )
        if self.recurrent and self.chunk_length > self.n_steps:
            raise ValueError(
                f"{type(self).__qualname__}.chunk_length ({self.chunk_length}) must be <= n_steps ({self.n_steps})"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain field -> value mapping (tuples become lists), for logs and checkpoints."""
        out = {}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            out[spec.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass
class PPOConfig(LearnerConfig):
    """Clipped-surrogate update: K epochs of minibatches.

    The defaults were chosen by measuring candidates on PettingZoo environments nobody tuned
    for (docs/agents.md, "Defaults"): 8 copies of 128 steps, minibatches of 256, observations
    normalised where a Box is unbounded, and a KL limit that stops an update's epochs early as
    a guard against collapse.
    The PPO paper's / Stable-Baselines3's settings are the hyperparameter set ``"sb3"``.
    """

    n_envs: int = option(8, positive_int(), "copies of the environment stepped in lockstep")
    n_steps: int = option(128, positive_int(), "steps per environment copy between updates (horizon)")
    normalize_observations: bool | str = option(
        "auto", boolean_or("auto"), "running mean/std normalisation of observations ('auto': of unbounded Box inputs)"
    )
    learning_rate: float = option(
        3e-4, positive(), "Adam learning rate of the actor (and critic unless critic_learning_rate)"
    )
    critic_learning_rate: float | None = option(
        None, optional(positive()), "separate critic learning rate (None: learning_rate)"
    )
    separate_optimizers: bool = option(False, boolean(), "separate Adam optimisers for actor and critic")
    n_epochs: int = option(10, positive_int(), "passes over each rollout")
    minibatch_size: int | None = option(256, optional(positive_int()), "transitions per minibatch (None: whole batch)")
    clip_range: float = option(0.2, positive(), "PPO clip epsilon")
    value_clip_range: float | None = option(None, optional(positive()), "clip of the value change (None: off)")
    huber_delta: float | None = option(None, optional(positive()), "Huber value loss delta (None: squared error)")
    entropy_coef: float = option(0.0, non_negative(), "entropy bonus weight")
    value_coef: float = option(0.5, non_negative(), "value loss weight")
    target_kl: float | None = option(
        0.02, optional(positive()), "stop the epochs early when a minibatch's approx KL exceeds 1.5 x this"
    )


@dataclass
class IPPOConfig(PPOConfig):
    """Independent PPO (critic sees the agent's observation) with the MAPPO paper's optimiser,
    networks and value loss, and collection chosen on the same panel as PPO's: 8 copies of 128
    steps, minibatches of 1024, 5 epochs, no GRU. The paper's own settings are the hyperparameter
    set ``"paper"``."""

    learning_rate: float = option(5e-4, positive(), "actor learning rate")
    critic_learning_rate: float | None = option(5e-4, optional(positive()), "critic learning rate")
    separate_optimizers: bool = option(True, boolean(), "separate Adam optimisers for actor and critic")
    n_epochs: int = option(5, positive_int(), "passes over each rollout")
    minibatch_size: int | None = option(1024, optional(positive_int()), "transitions per minibatch (None: whole batch)")
    value_clip_range: float | None = option(0.2, optional(positive()), "clip of the value change (None: off)")
    huber_delta: float | None = option(10.0, optional(positive()), "Huber value loss delta (None: squared error)")
    entropy_coef: float = option(0.01, non_negative(), "entropy bonus weight")
    value_coef: float = option(1.0, non_negative(), "value loss weight")
    max_grad_norm: float | None = option(10.0, optional(positive()), "gradient clipping norm (None: off)")
    activation: str = option("relu", one_of("tanh", "relu"), "hidden activation")
    feature_normalization: bool = option(True, boolean(), "LayerNorm on the network inputs and hidden layers")
    value_normalization: bool = option(True, boolean(), "ValueNorm on value targets (MAPPO paper)")


@dataclass
class MAPPOConfig(IPPOConfig):
    """MAPPO: IPPO's settings with a centralised critic that sees the global state."""

    critic_input: str = option("state", one_of("observation", "state", "joined"), CRITIC_INPUT_HELP)


@dataclass
class CriticFitConfig(LearnerConfig):
    """Update rules whose value function is fitted separately with Adam (TRPO, NPG, REINFORCE)."""

    critic_learning_rate: float = option(1e-3, positive(), "Adam learning rate of the value function")
    critic_epochs: int = option(10, positive_int(), "passes of value fitting per rollout")
    critic_minibatch_size: int | None = option(128, optional(positive_int()), "transitions per value minibatch")
    max_grad_norm: float | None = option(
        None, optional(positive()), "gradient clipping norm of the value fit (None: off)"
    )


@dataclass
class TRPOConfig(CriticFitConfig):
    """TRPO (Schulman et al. 2015) with sb3-contrib's defaults."""

    max_kl: float = option(0.01, positive(), "trust region delta: largest mean KL per update")
    cg_iterations: int = option(10, positive_int(), "conjugate gradient iterations")
    cg_damping: float = option(0.1, non_negative(), "damping added to the Fisher-vector product")
    line_search_shrink: float = option(0.8, open_unit(), "backtracking factor")
    line_search_max_tries: int = option(10, positive_int(), "backtracking steps before giving up")


@dataclass
class NPGConfig(CriticFitConfig):
    """Truncated natural policy gradient with the Peters step alpha / sqrt(g^T F^-1 g)."""

    step_size: float = option(
        math.sqrt(2 * 0.01), positive(), "alpha of the step alpha / sqrt(g^T F^-1 g) (sqrt(2*0.01): a 0.01 KL step)"
    )
    cg_iterations: int = option(10, positive_int(), "conjugate gradient iterations")
    cg_damping: float = option(0.1, non_negative(), "damping added to the Fisher-vector product")


@dataclass
class REINFORCEConfig(CriticFitConfig):
    """REINFORCE: Monte-Carlo returns, plain gradient, optional learned baseline."""

    learning_rate: float = option(1e-3, positive(), "Adam learning rate of the policy")
    gae_lambda: float = option(1.0, unit_closed(), "1.0 gives Monte-Carlo returns")
    baseline: bool = option(True, boolean(), "subtract a learned value baseline")
    entropy_coef: float = option(0.0, non_negative(), "entropy bonus weight")
    max_grad_norm: float | None = option(None, optional(positive()), "gradient clipping norm (None: off)")


PPO_PAPER_HYPERPARAMETERS: dict[str, Any] = {
    # The PPO paper's MuJoCo settings as Stable-Baselines3 and CleanRL default to them: one copy
    # of 2048 steps, minibatches of 64, raw observations, no KL limit.
    "n_envs": 1,
    "n_steps": 2048,
    "minibatch_size": 64,
    "normalize_observations": False,
    "target_kl": None,
}

MAPPO_PAPER_HYPERPARAMETERS: dict[str, Any] = {
    # What IPPO and MAPPO defaulted to before the panel: the MAPPO paper's update (Yu et al.
    # 2022: episodes of 200 steps, 15 epochs over the whole batch, a recurrent policy) on one
    # environment copy, raw observations, no KL limit.
    "n_envs": 1,
    "n_steps": 200,
    "n_epochs": 15,
    "minibatch_size": None,
    "recurrent": True,
    "normalize_observations": False,
    "target_kl": None,
}

MAPPO_MPE_HYPERPARAMETERS: dict[str, Any] = {
    **MAPPO_PAPER_HYPERPARAMETERS,
    # The MAPPO paper's MPE settings (train_mpe_spread.sh in the authors' code): 128 rollout
    # threads, 25-step episodes, lr 7e-4 for actor and critic, 10 epochs, one minibatch,
    # tanh (the script passes --use_ReLU, which switches ReLU off), recurrent policy.
    "n_envs": 128,
    "n_steps": 25,
    "learning_rate": 7e-4,
    "critic_learning_rate": 7e-4,
    "n_epochs": 10,
    "minibatch_size": None,
    "activation": "tanh",
}

#: Hyperparameter sets: named, published settings per config class, chosen with a learner's
#: ``preset=`` keyword (kept under that name for users; not to be confused with ``marl``'s run
#: presets or the arena settings of ``envs.hide_and_seek``).
HYPERPARAMETER_SETS: dict[str, dict[str, dict[str, Any]]] = {
    "PPOConfig": {"sb3": PPO_PAPER_HYPERPARAMETERS},
    # The authors' MPE runner gives the centralised critic all agents' observations joined.
    "MAPPOConfig": {
        "paper": MAPPO_PAPER_HYPERPARAMETERS,
        "mpe": {**MAPPO_MPE_HYPERPARAMETERS, "critic_input": "joined"},
    },
    "IPPOConfig": {"paper": MAPPO_PAPER_HYPERPARAMETERS, "mpe": MAPPO_MPE_HYPERPARAMETERS},
}


def build_config(
    config_class: type[LearnerConfig], hyperparameter_set: str | None = None, **overrides: Any
) -> LearnerConfig:
    """Make a validated config from an optional named hyperparameter set plus overrides.

    Unknown hyperparameter names raise a ``ValueError`` listing the closest valid names.
    """
    names = [spec.name for spec in dataclasses.fields(config_class)]
    values: dict[str, Any] = {}
    if hyperparameter_set is not None:
        available = HYPERPARAMETER_SETS.get(config_class.__name__, {})
        if hyperparameter_set not in available:
            close = difflib.get_close_matches(str(hyperparameter_set), list(available), n=3)
            raise ValueError(
                f"unknown hyperparameter set (preset=) {hyperparameter_set!r} for {config_class.__qualname__}; "
                f"available: {sorted(available) or 'none'}" + (f" (did you mean {close}?)" if close else "")
            )
        values.update(available[hyperparameter_set])
    for name in overrides:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise ValueError(f"unknown hyperparameter {name!r} for {config_class.__qualname__}{hint}")
    values.update(overrides)
    return config_class(**values)
