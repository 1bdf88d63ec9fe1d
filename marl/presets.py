"""Run presets: named starting points of a run (an environment, its keyword arguments, tuned
hyperparameters and the run length), chosen with ``marl train --preset NAME``.

Three things the project once all called "preset" have distinct names: a *run preset* (this
module, the ``--preset`` option and the ``preset:`` key of a run config), a *hyperparameter
set* (:data:`agents.config.HYPERPARAMETER_SETS`, the ``preset=`` keyword of a learner) and the
*arena settings* (:mod:`envs.hide_and_seek.presets`, the ``preset=`` keyword of the arena).

A run preset gives, for one environment, the settings that are known to work for each algorithm
it lists (the hyperparameters are fields of that algorithm's ``Config``) and the run length.
``marl train ENV`` with no ``--preset`` uses the environment's default preset, so
``marl train hide_and_seek_v0`` trains MAPPO self-play on the quadrant game.

Sources: CartPole from rl-baselines3-zoo's tuned PPO; MuJoCo tasks from CleanRL's
``ppo_continuous_action`` (the PPO paper's settings) and sb3-contrib/rl-zoo's TRPO; MPE spread
and navigation from the MAPPO paper's MPE scripts (fewer parallel copies, for one CPU); the
arena from OpenAI's hide-and-seek (gamma 0.998, lambda 0.95, entropy 0.01, LSTM/GRU policy,
one policy per team), scaled down to run on a laptop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.config import MAPPO_MPE_HYPERPARAMETERS, MAPPO_PAPER_HYPERPARAMETERS, PPO_PAPER_HYPERPARAMETERS
from marl.errors import UsageError, unknown_name_message


@dataclass(frozen=True)
class RunPreset:
    """A run preset: settings for one environment; ``hyperparameters`` maps algorithm name -> Config fields."""

    name: str
    env: str
    description: str
    algo: str
    hyperparameters: Mapping[str, Mapping[str, Any]]
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    run: Mapping[str, Any] = field(default_factory=dict)
    default_for_env: bool = True

    def config_layer(self, algo: str | None) -> dict[str, Any]:
        """The preset as a partial run config for ``algo`` (its own algorithm when None).

        An algorithm the preset has no tuned values for keeps its own defaults.
        """
        chosen = (algo or self.algo).lower()
        layer: dict[str, Any] = {
            "env": self.env,
            "env_kwargs": dict(self.env_kwargs),
            "algo": chosen,
            "preset": self.name,
            "algo_config": dict(self.hyperparameters.get(chosen, {})),
        }
        layer.update(self.run)
        return layer

    def tuned_for(self, algo: str) -> bool:
        """Whether the preset holds tuned hyperparameters for ``algo``."""
        return algo.lower() in self.hyperparameters


# Single-agent MuJoCo locomotion (CleanRL ppo_continuous_action / the PPO paper; rl-zoo TRPO).
MUJOCO_PPO = {
    **PPO_PAPER_HYPERPARAMETERS,
    "n_envs": 1,
    "n_steps": 2048,
    "learning_rate": 3e-4,
    "n_epochs": 10,
    "minibatch_size": 64,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "entropy_coef": 0.0,
    "value_coef": 0.5,
    "max_grad_norm": 0.5,
    "normalize_observations": True,
    "normalize_rewards": True,
}
# rl-zoo's tuned TRPO for MuJoCo (hyperparams/trpo.yml): 2 copies of 1024 steps, 25 CG
# iterations, 20 critic epochs of minibatch 128 at 1e-3, observations and rewards normalised.
MUJOCO_TRPO = {
    "n_envs": 2,
    "n_steps": 1024,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "max_kl": 0.01,
    "cg_iterations": 25,
    "cg_damping": 0.1,
    "critic_learning_rate": 1e-3,
    "critic_epochs": 20,
    "critic_minibatch_size": 128,
    "normalize_observations": True,
    "normalize_rewards": True,
}
MUJOCO_NPG = {
    "n_envs": 2,
    "n_steps": 1024,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "cg_iterations": 15,
    "critic_learning_rate": 1e-3,
    "critic_epochs": 20,
    "critic_minibatch_size": 128,
    "normalize_observations": True,
}
MUJOCO_TASKS = {
    "hopper": "Hopper-v5",
    "halfcheetah": "HalfCheetah-v5",
    "walker2d": "Walker2d-v5",
    "swimmer": "Swimmer-v5",
    "inverted_pendulum": "InvertedPendulum-v5",
    "inverted_double_pendulum": "InvertedDoublePendulum-v5",
}

# The MAPPO paper's MPE settings (agents.config.MAPPO_MPE_HYPERPARAMETERS: 25-step episodes, lr
# 7e-4 for actor and critic, 10 epochs, one minibatch, tanh, recurrent policy) on 32 parallel
# copies instead of 128.
MPE_MAPPO = {
    **MAPPO_MPE_HYPERPARAMETERS,
    "n_envs": 32,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "entropy_coef": 0.01,
}

# OpenAI hide-and-seek (Baker et al. 2020, table of hyperparameters): gamma 0.998, GAE lambda
# 0.95, entropy 0.01, clip 0.2, Adam 3e-4, a recurrent policy, one policy per team.
ARENA_MAPPO = {
    **MAPPO_PAPER_HYPERPARAMETERS,
    "n_envs": 8,
    "n_steps": 160,
    "learning_rate": 3e-4,
    "critic_learning_rate": 3e-4,
    "gamma": 0.998,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "entropy_coef": 0.01,
    "n_epochs": 4,
    "minibatch_size": 1280,
    "policy_sharing": "team",
    "recurrent": True,
    "chunk_length": 10,
}

RUN_PRESETS: dict[str, RunPreset] = {}


def register(preset: RunPreset) -> RunPreset:
    """Add a run preset to the table (names are unique)."""
    if preset.name in RUN_PRESETS:
        raise ValueError(f"preset {preset.name!r} is defined twice")
    RUN_PRESETS[preset.name] = preset
    return preset


register(
    RunPreset(
        name="cartpole",
        env="CartPole-v1",
        description="CartPole-v1 with rl-zoo's tuned PPO (reaches 500 within 100k steps)",
        algo="ppo",
        hyperparameters={
            "ppo": {
                **PPO_PAPER_HYPERPARAMETERS,
                "n_envs": 8,
                "n_steps": 32,
                "minibatch_size": 256,
                "n_epochs": 20,
                "learning_rate": 1e-3,
                "gamma": 0.98,
                "gae_lambda": 0.8,
                "clip_range": 0.2,
                "entropy_coef": 0.0,
            },
            "trpo": {
                "n_envs": 2,
                "n_steps": 512,
                "gamma": 0.99,
                "gae_lambda": 0.98,
                "critic_learning_rate": 1e-3,
                "critic_epochs": 20,
            },
            "npg": {
                "n_envs": 2,
                "n_steps": 512,
                "gamma": 0.99,
                "gae_lambda": 0.98,
                "critic_learning_rate": 1e-3,
                "critic_epochs": 20,
            },
            "reinforce": {"n_envs": 4, "n_steps": 500, "learning_rate": 1e-3, "gamma": 0.99},
        },
        run={"steps": 100_000, "eval_interval": 10_000, "eval_episodes": 10},
    )
)

for _name, _env in MUJOCO_TASKS.items():
    register(
        RunPreset(
            name=_name,
            env=_env,
            description=f"{_env}: PPO as in the PPO paper/CleanRL, TRPO and NPG as in rl-zoo, 1M steps",
            algo="ppo",
            hyperparameters={"ppo": MUJOCO_PPO, "trpo": MUJOCO_TRPO, "npg": MUJOCO_NPG},
            run={"steps": 1_000_000, "eval_interval": 50_000, "eval_episodes": 10, "checkpoint_interval": 50_000},
        )
    )

register(
    RunPreset(
        name="mpe_spread",
        env="mpe2.simple_spread_v3",
        description="MPE simple spread (3 agents, 25 steps) with the MAPPO paper's hyperparameters",
        algo="mappo",
        env_kwargs={"N": 3, "local_ratio": 0.5, "max_cycles": 25, "continuous_actions": False},
        # The authors' MPE runner gives MAPPO's critic all agents' observations joined (mpe2's
        # state() is the same vector, rebuilt from scratch every step).
        hyperparameters={"mappo": {**MPE_MAPPO, "critic_input": "joined"}, "ippo": MPE_MAPPO},
        run={"steps": 2_000_000, "eval_interval": 50_000, "eval_episodes": 20, "checkpoint_interval": 50_000},
    )
)

register(
    RunPreset(
        name="navigation",
        env="navigation_v0",
        description="cooperative navigation, 3 agents cover 3 landmarks: MAPPO with the MPE settings",
        algo="mappo",
        env_kwargs={"n_agents": 3, "max_cycles": 25},
        hyperparameters={"mappo": MPE_MAPPO, "ippo": MPE_MAPPO},
        run={"steps": 1_000_000, "eval_interval": 50_000, "eval_episodes": 20, "checkpoint_interval": 50_000},
    )
)

register(
    RunPreset(
        name="hide_and_seek_quadrant",
        env="hide_and_seek_v0",
        description="the quadrant game, 2 hiders v 2 seekers, 2 boxes, 1 ramp: MAPPO self-play per team",
        algo="mappo",
        env_kwargs={"preset": "quadrant"},
        hyperparameters={"mappo": ARENA_MAPPO, "ippo": ARENA_MAPPO},
        run={
            "steps": 102_400,
            "eval_interval": 12_800,
            "eval_episodes": 10,
            "checkpoint_interval": 12_800,
            "record_interval": 25_600,
            "record_episodes": 1,
        },
    )
)

register(
    RunPreset(
        name="hide_and_seek_full",
        env="hide_and_seek_v0",
        description="the full game: random rooms, 1-3 hiders v 1-3 seekers, 3-9 boxes, 2 ramps, 240 steps",
        algo="mappo",
        env_kwargs={"preset": "full_game"},
        hyperparameters={
            "mappo": {**ARENA_MAPPO, "n_steps": 240, "minibatch_size": 1920},
            "ippo": {**ARENA_MAPPO, "n_steps": 240, "minibatch_size": 1920},
        },
        run={
            "steps": 20_000_000,
            "eval_interval": 200_000,
            "eval_episodes": 10,
            "checkpoint_interval": 200_000,
            "record_interval": 1_000_000,
            "record_episodes": 2,
        },
        default_for_env=False,
    )
)


def run_preset_names() -> list[str]:
    """Every run preset name."""
    return sorted(RUN_PRESETS)


def get_run_preset(name: str) -> RunPreset:
    """The run preset called ``name``; an unknown name lists the closest ones."""
    if name not in RUN_PRESETS:
        raise UsageError(unknown_name_message("preset", name, RUN_PRESETS))
    return RUN_PRESETS[name]


def default_run_preset(env: str) -> RunPreset | None:
    """The run preset used for ``env`` when none is named (None if the environment has none)."""
    for preset in RUN_PRESETS.values():
        if preset.env == env and preset.default_for_env:
            return preset
    return None
