"""Run configs: typed conversion, --set overrides, YAML round trips, presets and layering."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from agents import ALGORITHMS
from marl.algorithms import config_class
from marl.config import (
    RunConfig,
    coerce_value,
    dataclass_from_dict,
    load_run_config,
    run_config_from_dict,
    write_run_config,
)
from marl.errors import UsageError, closest_names
from marl.overrides import apply_overrides, parse_assignment, parse_value
from marl.presets import RUN_PRESETS, default_run_preset, get_run_preset
from marl.resolution import TrainRequest, resolve_run_config


@dataclasses.dataclass
class Small:
    rate: float = 0.1
    count: int = 3
    sizes: tuple[int, ...] = (8, 8)
    flag: bool = False
    limit: float | None = None

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be > 0, got {self.rate}")


def test_values_are_read_like_yaml_scalars_with_exponent_floats():
    assert parse_value("1e-4") == pytest.approx(1e-4)
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("true") is True
    assert parse_value("null") is None
    assert parse_value("[64, 64]") == [64, 64]
    assert parse_value("quadrant") == "quadrant"


def test_assignment_paths_accept_the_short_section_names():
    assert parse_assignment("algo.learning_rate=1e-4") == (["algo_config", "learning_rate"], 1e-4)
    assert parse_assignment("env.n_agents=2") == (["env_kwargs", "n_agents"], 2)
    assert parse_assignment("algo=trpo") == (["algo"], "trpo")
    assert parse_assignment("steps=5000") == (["steps"], 5000)
    for bad in ("steps", "=3", "algo..lr=1"):
        with pytest.raises(UsageError, match="algo.lr=1e-4"):
            parse_assignment(bad)


def test_overrides_apply_in_order_and_leave_the_input_alone():
    base = {"algo_config": {"n_envs": 1}, "steps": 10}
    result = apply_overrides(base, ["algo.n_envs=4", "steps=20", "env.n_agents=2", "steps=30"])
    assert result == {"algo_config": {"n_envs": 4}, "steps": 30, "env_kwargs": {"n_agents": 2}}
    assert base == {"algo_config": {"n_envs": 1}, "steps": 10}
    with pytest.raises(UsageError, match="steps is a single value"):
        apply_overrides(base, ["steps.x=1"])


def test_coercion_follows_the_annotations():
    assert coerce_value(3, float, "x") == 3.0 and isinstance(coerce_value(3, float, "x"), float)
    assert coerce_value([32, 32], tuple[int, ...], "x") == (32, 32)
    assert coerce_value(None, float | None, "x") is None
    assert coerce_value("0.5", float | None, "x") == 0.5
    assert coerce_value(2.0, int, "x") == 2
    with pytest.raises(UsageError, match="x: expected an integer"):
        coerce_value(2.5, int, "x")
    with pytest.raises(UsageError, match="x: expected true or false"):
        coerce_value("maybe", bool, "x")
    with pytest.raises(UsageError, match=r"x\[1\]: expected an integer"):
        coerce_value([3, "a"], tuple[int, ...], "x")


def test_unknown_keys_name_the_closest_fields_and_validation_errors_pass_through():
    with pytest.raises(UsageError, match="unknown config key algo_config.rat; did you mean algo_config.rate"):
        dataclass_from_dict(Small, {"rat": 1.0}, "algo_config")
    with pytest.raises(UsageError, match="rate must be > 0, got -1.0"):
        dataclass_from_dict(Small, {"rate": -1})
    small = dataclass_from_dict(Small, {"rate": 1, "sizes": [4], "limit": 2})
    assert small == Small(rate=1.0, sizes=(4,), limit=2.0)
    assert closest_names("PPo", ["ppo", "mappo", "trpo"])[0] == "ppo"


def test_run_config_round_trips_through_yaml(tmp_path: Path):
    config = run_config_from_dict(
        {
            "env": "CartPole-v1",
            "algo": "ppo",
            "steps": 1234,
            "algo_config": {"hidden_sizes": [32, 16], "learning_rate": 1e-3},
        },
        config_class,
    )
    assert isinstance(config.algo_config, ALGORITHMS["ppo"].Config)
    assert config.algo_config.hidden_sizes == (32, 16)
    path = tmp_path / "config.yaml"
    write_run_config(config, path)
    raw = yaml.safe_load(path.read_text())
    assert raw["algo_config"]["hidden_sizes"] == [32, 16] and raw["steps"] == 1234
    assert load_run_config(path, config_class) == config


def test_run_config_fields_are_validated():
    for data, message in (
        ({"env": "CartPole-v1", "steps": 0}, "steps must be >= 1"),
        ({"env": "CartPole-v1", "eval_interval": -1}, "eval_interval must be >= 0"),
        ({"env": "CartPole-v1", "algo_config": {"gamma": 1.5}}, r"gamma must be a number in \(0, 1\]"),
        ({"env": "CartPole-v1", "algo": "pppo"}, "did you mean 'ppo'"),
        ({"steps": 3}, "no environment given"),
    ):
        with pytest.raises(UsageError, match=message):
            run_config_from_dict(data, config_class)


@pytest.mark.parametrize("name", sorted(RUN_PRESETS))
def test_every_preset_is_valid_for_every_algorithm_it_tunes(name: str):
    preset = RUN_PRESETS[name]
    assert preset.algo in preset.hyperparameters
    for algo, values in preset.hyperparameters.items():
        config = run_config_from_dict(preset.config_layer(algo), config_class)
        for key, value in values.items():
            expected = tuple(value) if isinstance(value, list) else value
            assert getattr(config.algo_config, key) == expected
        assert config.preset == name and config.env == preset.env


def test_each_environment_has_at_most_one_default_preset():
    defaults = [preset.env for preset in RUN_PRESETS.values() if preset.default_for_env]
    assert len(defaults) == len(set(defaults))
    assert default_run_preset("hide_and_seek_v0").name == "hide_and_seek_quadrant"
    with pytest.raises(UsageError, match="did you mean 'hide_and_seek_quadrant'"):
        get_run_preset("hide_and_seek_quadrnt")


def test_layers_preset_then_file_then_flags_then_set(tmp_path: Path):
    file = tmp_path / "run.yaml"
    file.write_text("steps: 5000\nseed: 3\nalgo_config:\n  n_epochs: 7\n  learning_rate: 0.002\n")
    request = TrainRequest(
        env="CartPole-v1",
        config_file=file,
        seed=4,
        n_envs=3,
        assignments=["algo.learning_rate=5e-4", "eval_episodes=2"],
    )
    config = resolve_run_config(request)
    cartpole = RUN_PRESETS["cartpole"].hyperparameters["ppo"]
    assert config.preset == "cartpole" and config.algo == "ppo"
    assert config.algo_config.n_steps == cartpole["n_steps"]  # from the preset
    assert config.steps == 5000 and config.algo_config.n_epochs == 7  # from the file
    assert config.seed == 4 and config.algo_config.n_envs == 3  # from the flags
    assert config.algo_config.learning_rate == 5e-4 and config.eval_episodes == 2  # from --set


def test_an_algorithm_the_preset_does_not_tune_keeps_its_defaults(capsys):
    config = resolve_run_config(TrainRequest(env="navigation_v0", algo="trpo"))
    assert config.algo == "trpo" and config.env_kwargs == dict(RUN_PRESETS["navigation"].env_kwargs)
    assert config.algo_config == ALGORITHMS["trpo"].Config()
    assert "no tuned hyperparameters for trpo" in capsys.readouterr().err
    assert resolve_run_config(TrainRequest(env="Acrobot-v1")).algo == "ppo"
    with pytest.raises(UsageError, match="preset 'cartpole' is for CartPole-v1, not Acrobot-v1"):
        resolve_run_config(TrainRequest(env="Acrobot-v1", preset="cartpole"))


def test_run_config_defaults_are_sensible():
    config = RunConfig(env="x")
    assert config.steps > 0 and config.eval_episodes >= 1 and config.algo == "ppo"


def test_a_saved_run_config_used_as_config_file_gives_the_same_config(tmp_path: Path):
    original = resolve_run_config(
        TrainRequest(
            env="navigation_v0", algo="ippo", seed=5, assignments=["env.n_agents=4", "algo.hidden_sizes=[32,32]"]
        )
    )
    write_run_config(original, tmp_path / "config.yaml")
    again = resolve_run_config(TrainRequest(config_file=tmp_path / "config.yaml"))
    assert again == original
    assert again.env_kwargs["n_agents"] == 4 and again.algo_config.hidden_sizes == (32, 32)
    changed = resolve_run_config(TrainRequest(config_file=tmp_path / "config.yaml", seed=6))
    assert changed.seed == 6 and changed.algo_config == original.algo_config


@pytest.mark.parametrize("name", sorted(RUN_PRESETS))
def test_every_preset_builds_its_environment(name: str):
    from marl.environments import inspect_environment, make_env_factory

    preset = RUN_PRESETS[name]
    info = inspect_environment(make_env_factory(preset.env, dict(preset.env_kwargs)))
    assert info.agents and info.teams
    multi_agent = preset.algo in ("mappo", "ippo")
    assert info.single_agent is not multi_agent
