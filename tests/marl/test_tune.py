"""``marl tune``: trials, pruning, a study that resumes, the best config for ``marl train --config``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from tiny_flags import tiny_flags

from marl.algorithms import config_class
from marl.checkpoints import load_checkpoint
from marl.cli import main
from marl.config import RunConfig, run_config_from_dict
from marl.resolution import TrainRequest, resolve_run_config
from marl.tuning import DEFAULT_SPACES, build_trial_trainer, load_space, parse_space, with_values

optuna = pytest.importorskip("optuna")

TINY = tiny_flags("--algo", "ppo", "--steps", 768, checkpoint_interval=0)
SMALL_SPACE = "algo.learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}\nalgo.clip_range: {choices: [0.1, 0.3]}\n"


def cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def load_study(out: Path):
    return optuna.load_study(study_name="marl-tune", storage=f"sqlite:///{out / 'study.db'}")


def test_a_stopped_search_resumes_and_its_best_config_trains(tmp_path: Path, capsys):
    out, space = tmp_path / "search", tmp_path / "space.yaml"
    space.write_text(SMALL_SPACE)
    command = ["tune", "CartPole-v1", "--space", space, "--out", out, "--seed", 4, *TINY]
    code, stdout, err = cli(capsys, *command, "--trials", 2)
    assert code == 0, err
    assert "trial 0:" in stdout and "trial 1:" in stdout and "best config" in stdout
    assert sorted(path.name for path in (out / "trials").iterdir()) == ["trial_0", "trial_1"]
    assert yaml.safe_load((out / "space.yaml").read_text()) == yaml.safe_load(SMALL_SPACE)

    # A command killed during a trial leaves it running in the study: the next command runs its values again.
    study = load_study(out)
    stopped = study.ask()
    for dimension in parse_space(yaml.safe_load(SMALL_SPACE), "space"):
        dimension.suggest(stopped)
    code, stdout, err = cli(capsys, *command, "--trials", 3)
    assert code == 0, err
    assert "trial 2 was stopped" in err and "2 of 3 trials done" in err
    study = load_study(out)
    states = [trial.state for trial in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 1 and len(study.trials) == 4
    assert study.trials[3].params == study.trials[2].params
    finished = [
        t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    ]
    assert len(finished) == 3

    # Each complete trial's value is the mean of its run's last three evaluation returns.
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            rows = (out / "trials" / f"trial_{trial.number}" / "metrics.csv").read_text().splitlines()
            header = rows[0].split(",")
            column = header.index("eval/return/agent")
            returns = [float(row.split(",")[column]) for row in rows[1:] if row.split(",")[column]]
            assert trial.value == pytest.approx(sum(returns[-3:]) / 3)

    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best["algo_config"]["learning_rate"] == pytest.approx(study.best_trial.params["algo.learning_rate"])
    assert best["algo_config"]["clip_range"] == study.best_trial.params["algo.clip_range"]
    config = resolve_run_config(TrainRequest(config_file=out / "best.yaml"))
    assert config.algo_config.learning_rate == pytest.approx(study.best_trial.params["algo.learning_rate"])
    run = tmp_path / "best-run"
    code, _, err = cli(capsys, "train", "--config", out / "best.yaml", "--steps", 256, "--out", run, "--no-progress")
    assert code == 0, err
    trained = yaml.safe_load((run / "config.yaml").read_text())
    assert (
        trained["algo_config"] == best["algo_config"]
        and load_checkpoint(run / "checkpoints" / "latest.pt")["steps"] == 256
    )

    # The same folder with other settings is refused before any trial.
    code, _, err = cli(capsys, *command, "--steps", 1024, "--trials", 5)
    assert code == 2 and "other settings (steps differs)" in err
    assert len(load_study(out).trials) == 4


def tiny_config(tmp_path: Path) -> RunConfig:
    return resolve_run_config(
        TrainRequest(
            "CartPole-v1",
            "ppo",
            steps=2048,
            seed=0,
            assignments=[
                "algo.n_envs=2",
                "algo.n_steps=64",
                "algo.n_epochs=1",
                "algo.minibatch_size=64",
                "eval_episodes=1",
                "eval_interval=256",
                "checkpoint_interval=0",
                "tensorboard=false",
            ],
        )
    )


def test_a_trial_the_pruner_rejects_stops_after_that_evaluation(tmp_path: Path):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1e9))
    trial = study.ask()
    trainer = build_trial_trainer(tiny_config(tmp_path), tmp_path / "trial", trial, show_progress=False)
    outcome = trainer.run()
    assert trainer.pruned and outcome.interrupted and outcome.steps == 256
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert study.trials[0].intermediate_values.keys() == {256}
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    trainer = build_trial_trainer(tiny_config(tmp_path), tmp_path / "kept", trial, show_progress=False)
    outcome = trainer.run()
    assert not trainer.pruned and outcome.steps == 2048
    study.tell(trial, 0.0)
    assert sorted(study.trials[0].intermediate_values) == list(range(256, 2048, 256))


@pytest.mark.parametrize("algo", sorted(DEFAULT_SPACES))
def test_every_default_space_makes_valid_configs_at_its_bounds(algo: str):
    base = run_config_from_dict({"env": "CartPole-v1", "algo": algo}, config_class)
    space = load_space(None, algo)
    for dimension in space:
        for value in dimension.extremes():
            config = with_values(base, {dimension.key: value})
            assert getattr(config.algo_config, dimension.key.split(".", 1)[1]) == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("algo.learnin_rate: {low: 1.0e-4, high: 1.0e-2}\n", "did you mean algo_config.learning_rate"),
        ("algo.learning_rate: {low: 1.0e-2, high: 1.0e-4}\n", "low < high"),
        ("algo.learning_rate: {low: 0, high: 1.0e-2, log: true}\n", "low > 0"),
        ("algo.n_epochs: {type: int, low: 1.5, high: 4}\n", "whole numbers"),
        ("algo.clip_range: {choices: []}\n", "non-empty list"),
        ("algo.clip_range: {choices: [0.1], low: 0}\n", "alone"),
        ("algo.clip_range: {values: [0.1]}\n", "unknown field 'values'"),
        ("algo.clip_range: [0.1, 0.2]\n", "must be a mapping"),
        ("algo.n_epochs: {type: int, low: 0, high: 4}\n", "n_epochs"),
        ("algo.learning_rate: !!python/object/apply:os.system ['touch CANARY']\n", "not valid YAML"),
        ("", "holds no dimension"),
    ],
)
def test_a_bad_space_file_is_one_line_before_any_trial(tmp_path: Path, capsys, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text(text)
    code, _, err = cli(capsys, "tune", "CartPole-v1", "--trials", 1, "--space", "space.yaml", "--out", "search")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "search").exists() and not (tmp_path / "CANARY").exists()


def test_without_optuna_the_command_says_how_to_install_it(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    code, _, err = cli(capsys, "tune", "CartPole-v1", "--trials", 1, "--out", tmp_path / "search")
    assert code == 2 and "pip install 'marl-arena[tune]'" in err


def test_ctrl_c_during_a_trial_exits_130_and_the_same_command_runs_its_values_first(
    tmp_path: Path, capsys, monkeypatch
):
    import marl.tuning

    out, space = tmp_path / "search", tmp_path / "space.yaml"
    space.write_text(SMALL_SPACE)
    command = ["tune", "CartPole-v1", "--trials", 1, "--space", space, "--out", out, *TINY]
    real_builder = marl.tuning.build_trial_trainer

    def interrupted_trainer(*arguments, **keywords):
        trainer = real_builder(*arguments, **keywords)

        def press_ctrl_c():
            raise KeyboardInterrupt

        trainer.run = press_ctrl_c
        return trainer

    monkeypatch.setattr(marl.tuning, "build_trial_trainer", interrupted_trainer)
    code, stdout, _ = cli(capsys, *command)
    assert code == 130 and "continue the search with the same command" in stdout
    assert not (out / "best.yaml").exists()
    stopped = load_study(out).trials[0]
    assert stopped.state == optuna.trial.TrialState.FAIL

    monkeypatch.setattr(marl.tuning, "build_trial_trainer", real_builder)
    code, stdout, err = cli(capsys, *command)
    assert code == 0, err
    study = load_study(out)
    assert [trial.state for trial in study.trials] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert study.trials[1].params == stopped.params and (out / "best.yaml").is_file()
