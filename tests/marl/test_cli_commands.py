"""The ``marl`` command end to end, on tiny budgets: train, resume, eval, plot, runs, envs, errors."""

from __future__ import annotations

import signal
import sys
import textwrap
import threading
from pathlib import Path

import matplotlib.image
import pytest
import torch
import yaml
from tiny_flags import tiny_flags

import marl.metrics
from marl.checkpoints import load_checkpoint
from marl.cli import main
from marl.metrics import read_metrics, read_metrics_rows

# Two env copies x 64 steps = 128 steps per update; small, fast updates.
TINY = tiny_flags(checkpoint_interval=128)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``marl`` in-process; returns (exit code, stdout, stderr)."""
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def model_tensors(path: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint(path)["state"]
    return {key: value for key, value in state["models"].items()}


def test_a_cartpole_run_writes_every_file_of_the_run_folder(tmp_path: Path, capsys):
    run = tmp_path / "cartpole"
    code, out, err = cli(
        capsys, "train", "CartPole-v1", "--algo", "ppo", "--steps", 512, "--seed", 0, "--out", run, *TINY
    )
    assert code == 0, err
    for relative in (
        "config.yaml",
        "metrics.csv",
        "checkpoints/latest.pt",
        "checkpoints/best.pt",
        "plots/learning_curves.png",
    ):
        assert (run / relative).is_file(), relative
    assert (run / "replays").is_dir()
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["env"] == "CartPole-v1" and config["preset"] == "cartpole" and config["steps"] == 512
    assert config["algo_config"]["n_envs"] == 2 and config["algo_config"]["n_steps"] == 64
    columns = read_metrics(run / "metrics.csv")
    training = columns["updates"][~torch.tensor(columns["updates"]).isnan().numpy()]
    assert list(training) == [1, 2, 3, 4]
    assert "episode_return/agent" in columns and "loss/policy" in columns
    evaluated = columns["steps"][~torch.tensor(columns["eval/return/agent"]).isnan().numpy()]
    assert list(evaluated) == [256, 512]
    latest = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert latest["steps"] == 512 and latest["algo"] == "ppo"
    assert latest["spaces"] == {"agent": {"observation": "Box(4,)", "action": "Discrete(2)"}}
    assert str(run) in out and "return agent" in out

    code, out, err = cli(capsys, "eval", run, "--episodes", 3, "--deterministic")
    assert code == 0, err
    assert "3 episodes" in out and "return agent" in out and "±" in out

    code, out, _ = cli(capsys, "plot", run, "--out", tmp_path / "curves.png")
    assert code == 0 and out.strip() == str(tmp_path / "curves.png")
    image = matplotlib.image.imread(tmp_path / "curves.png")
    assert image[..., :3].std() > 0.05

    code, out, _ = cli(capsys, "runs", tmp_path)
    assert code == 0 and "cartpole" in out and "512/512" in out and "CartPole-v1" in out

    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 256, "--out", run, *TINY)
    assert code == 2 and "already exists" in err and "--resume" in err and "Traceback" not in err


def interrupt_at_update(monkeypatch, update: int, hard: bool) -> None:
    """Press Ctrl-C once (graceful) or raise KeyboardInterrupt while logging the given update."""
    original = marl.metrics.MetricsLogger.log

    def log(self, steps, metrics):
        row = original(self, steps, metrics)
        if metrics.get("updates") == update:
            if hard:
                raise KeyboardInterrupt
            signal.raise_signal(signal.SIGINT)
        return row

    monkeypatch.setattr(marl.metrics.MetricsLogger, "log", log)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_then_resume_ends_with_the_parameters_of_an_uninterrupted_run(tmp_path: Path, capsys, monkeypatch):
    arguments = [
        "CartPole-v1",
        "--algo",
        "ppo",
        "--steps",
        512,
        "--seed",
        3,
        *TINY,
        "--set",
        "eval_deterministic=false",
    ]
    code, _, err = cli(capsys, "train", *arguments, "--out", tmp_path / "straight")
    assert code == 0, err

    with monkeypatch.context() as patch:
        interrupt_at_update(patch, update=2, hard=False)
        code, out, err = cli(capsys, "train", *arguments, "--out", tmp_path / "stopped")
    assert code == 130 and "stopping after this update" in err and "--resume" in out
    assert load_checkpoint(tmp_path / "stopped" / "checkpoints" / "latest.pt")["steps"] == 256

    code, _, err = cli(capsys, "train", "--resume", tmp_path / "stopped")
    assert code == 0, err
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "latest.pt")
    resumed = load_checkpoint(tmp_path / "stopped" / "checkpoints" / "latest.pt")
    assert straight["steps"] == resumed["steps"] == 512
    assert straight["state"]["models"].keys() == resumed["state"]["models"].keys()
    for key, value in straight["state"]["models"].items():
        assert torch.equal(value, resumed["state"]["models"][key]), key
    steps = read_metrics(tmp_path / "stopped" / "metrics.csv")["updates"]
    assert [int(u) for u in steps[~torch.tensor(steps).isnan().numpy()]] == [1, 2, 3, 4]


def test_a_hard_interrupt_saves_a_checkpoint_that_resumes(tmp_path: Path, capsys, monkeypatch):
    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        interrupt_at_update(patch, update=1, hard=True)
        code, out, err = cli(capsys, "train", "CartPole-v1", "--steps", 384, "--out", run, *TINY)
    assert code == 130 and f"marl train --resume {run}" in out
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["steps"] == 128
    code, out, err = cli(capsys, "train", "--resume", run, "--steps", 256)
    assert code == 0, err
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["steps"] == 256
    assert yaml.safe_load((run / "config.yaml").read_text())["steps"] == 256
    code, _, err = cli(capsys, "train", "--resume", run)
    assert code == 2 and "already trained for 256 steps" in err
    code, _, err = cli(capsys, "train", "--resume", run, "--seed", 1)
    assert code == 2 and "--seed cannot change it" in err


def test_resume_sets_only_what_a_resume_may_change(tmp_path: Path, capsys):
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 128, "--out", run, *TINY)
    assert code == 0, err
    saved = (run / "config.yaml").read_text()
    code, _, err = cli(capsys, "train", "--resume", run, "--steps", 256, "--set", "algo.learning_rate=0.5")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--set algo.learning_rate cannot change it" in lines[0], err
    assert "snapshot_interval" in lines[0]  # the refusal names what may change
    assert (run / "config.yaml").read_text() == saved
    code, _, err = cli(capsys, "train", "--resume", run, "--steps", 256, "--set", "snapshot_interval=128")
    assert code == 0, err
    assert "snapshot_interval 0 -> 128 since the checkpoint; applied" in err
    assert yaml.safe_load((run / "config.yaml").read_text())["snapshot_interval"] == 128
    assert (run / "checkpoints" / "step_0000000256.pt").is_file()


def test_a_config_whose_spaces_differ_from_the_checkpoint_is_refused_with_both_shapes(tmp_path: Path, capsys):
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 128, "--out", run, *TINY)
    assert code == 0, err
    config = yaml.safe_load((run / "config.yaml").read_text())
    config.update(env="Acrobot-v1", steps=1000, preset=None)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    code, _, err = cli(capsys, "train", "--resume", run)
    assert code == 2 and "Traceback" not in err
    assert "env is 'Acrobot-v1' there but 'CartPole-v1' in the checkpoint" in err
    code, _, err = cli(capsys, "eval", run, "--episodes", 1)
    assert code == 2 and "Traceback" not in err
    assert "Box(6,)" in err and "Box(4,)" in err and str(run / "checkpoints" / "latest.pt") in err

    (run / "checkpoints" / "latest.pt").write_bytes(b"not a checkpoint at all")
    code, _, err = cli(capsys, "eval", run)
    assert code == 2 and "latest.pt is corrupt" in err and "Traceback" not in err


TEAM_ENV = '''
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class ChaseEnv(ParallelEnv):
    """red_0 flees blue_0 along a line; the reward is the gap (red) or minus the gap (blue)."""

    metadata = {"name": "chase_v0"}

    def __init__(self, horizon=8):
        self.horizon = horizon
        self.possible_agents = ["red_0", "blue_0"]
        self.agents = []

    def observation_space(self, agent):
        return spaces.Box(-1.0, 1.0, (3,), np.float32)

    def action_space(self, agent):
        return spaces.Discrete(3)

    def _observations(self):
        row = np.array([self.position[0], self.position[1], self.t / self.horizon], np.float32)
        return {agent: row.copy() for agent in self.agents}

    def reset(self, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.position = self.rng.uniform(-1.0, 1.0, 2)
        self.t = 0
        self.agents = list(self.possible_agents)
        return self._observations(), {agent: {} for agent in self.agents}

    def step(self, actions):
        for index, agent in enumerate(self.possible_agents):
            self.position[index] = np.clip(self.position[index] + 0.2 * (int(actions[agent]) - 1), -1.0, 1.0)
        self.t += 1
        gap = float(abs(self.position[0] - self.position[1]))
        observations = self._observations()
        done = self.t >= self.horizon
        rewards = {"red_0": gap, "blue_0": -gap}
        infos = {agent: ({"episode_stats": {"final_gap": gap}} if done else {}) for agent in self.agents}
        ended = {agent: done for agent in self.agents}
        if done:
            self.agents = []
        return observations, rewards, {a: False for a in ended}, ended, infos


def make_env(horizon=8):
    return ChaseEnv(horizon)
'''


def test_a_user_environment_given_as_module_factory_trains_and_two_runs_play_each_other(
    tmp_path: Path, capsys, monkeypatch
):
    (tmp_path / "chase_module.py").write_text(textwrap.dedent(TEAM_ENV))
    monkeypatch.syspath_prepend(str(tmp_path))
    runs = []
    for seed in (0, 1):
        run = tmp_path / f"chase{seed}"
        code, _, err = cli(
            capsys,
            "train",
            "chase_module:make_env",
            "--algo",
            "ippo",
            "--steps",
            256,
            "--seed",
            seed,
            "--out",
            run,
            "--set",
            "env.horizon=6",
            "--set",
            "algo.recurrent=false",
            *TINY,
        )
        assert code == 0, err
        runs.append(run)
    columns = read_metrics(runs[0] / "metrics.csv")
    assert {"episode_return/red", "episode_return/blue", "eval/return/red", "eval/env/final_gap"} <= set(columns)

    code, out, err = cli(capsys, "eval", runs[0], "--episodes", 4, "--against", runs[1])
    assert code == 2 and "names the environment 'chase_module:make_env'" in err and "--trust-code" in err
    code, out, err = cli(capsys, "eval", runs[0], "--episodes", 4, "--against", runs[1], "--trust-code")
    assert code == 0, err
    assert f"red from {runs[0]}" in out and f"blue from {runs[1]}" in out
    assert "return red" in out and "return blue" in out and "final_gap" in out
    red = float(out.split("return red")[1].split("±")[0])
    blue = float(out.split("return blue")[1].split("±")[0])
    assert red == pytest.approx(-blue, abs=1e-3)  # a zero-sum game

    code, _, err = cli(capsys, "plot", *runs)
    assert code == 0, err
    for run in runs:
        assert (run / "plots" / "comparison.png").is_file()
        assert (run / "plots" / "comparison_statistics.png").is_file()  # final_gap over training
        assert (run / "plots" / "episode_statistics.png").is_file()  # drawn at the end of training


def test_a_multi_agent_suite_environment_trains_with_mappo_records_replays_and_a_video(tmp_path: Path, capsys):
    run = tmp_path / "navigation"
    code, out, err = cli(
        capsys,
        "train",
        "navigation_v0",
        "--steps",
        200,
        "--out",
        run,
        *TINY[:-4],
        "--set",
        "algo.n_steps=25",
        "--set",
        "algo.recurrent=false",
        "--set",
        "record_interval=100",
        "--video",
    )
    assert code == 0, err
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["algo"] == "mappo" and config["preset"] == "navigation"
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["spaces"].keys() == {"agent_0", "agent_1", "agent_2"}
    assert "landmarks_covered" in out
    replays = sorted(path.name for path in (run / "replays").iterdir())
    assert replays == [
        "final_0000000200_0000.mp4",
        "final_0000000200_0000.npz",
        "step_0000000100_0000.npz",
        "step_0000000200_0000.npz",
    ]
    assert (run / "replays" / "final_0000000200_0000.mp4").stat().st_size > 1000
    assert f"video:       {run / 'replays' / 'final_0000000200_0000.mp4'}" in out
    logged = read_metrics_rows(run / "metrics.csv")
    behaviour = [row for row in logged if "behaviour/episode_length" in row]
    assert [row["steps"] for row in behaviour] == [100, 200]  # one row per recording
    assert all(row["behaviour/episode_length"] == 25 for row in behaviour)

    code, out, err = cli(capsys, "eval", run, "--episodes", 2, "--record")
    assert code == 0, err
    recorded = sorted((run / "replays").glob("eval_*.npz"))
    assert len(recorded) == 2 and "recorded 2 episodes" in out


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["train", "CartPol-v1"], "CartPole-v1"),
        (["train", "CartPole-v1", "--algo", "mapo"], "did you mean 'mappo'"),
        (["train", "CartPole-v1", "--preset", "cartpol"], "did you mean 'cartpole'"),
        (["train", "CartPole-v1", "--set", "algo.learnig_rate=1e-3"], "did you mean algo_config.learning_rate"),
        (["train", "CartPole-v1", "--set", "eval_intervall=5"], "did you mean eval_interval"),
        (["train", "CartPole-v1", "--set", "algo.clip_range=-0.2"], "clip_range must be a finite number > 0"),
        (["train", "CartPole-v1", "--set", "algo.n_epochs=2.5"], "algo_config.n_epochs: expected an integer"),
        (["train", "CartPole-v1", "--set", "steps"], "--set expects key=value"),
        (["train", "navigation_v0", "--set", "env.n_agent=2"], "did you mean n_agents"),
        (["train", "CartPole-v1", "--steps", "0"], "--steps must be >= 1"),
        (["train", "CartPole-v1", "--set", "best_team=agnet"], "unknown best_team 'agnet'; did you mean 'agent'?"),
        (["train"], "no environment given"),
        (["train", "--config", "missing.yaml"], "config file missing.yaml does not exist"),
        (["eval", "no_such_run"], "run folder no_such_run does not exist"),
        (["plot", "."], "not a run folder"),
        (["envs", "CartPol-v1"], "CartPole-v1"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(arguments, expected, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, *arguments)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing is created before the input is checked


def test_envs_lists_the_suite_and_the_presets(capsys):
    code, out, _ = cli(capsys, "envs")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "navigation_v0" in lines and "hide_and_seek_v0" in lines
    assert "landmarks" in lines["navigation_v0"]
    code, out, _ = cli(capsys, "envs", "--presets")
    assert code == 0 and "hide_and_seek_quadrant" in out and "hopper" in out and "mpe_spread" in out


def test_help_lists_every_command(capsys):
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    for command in ("train", "eval", "plot", "runs", "envs"):
        assert command in out
    assert "replay" in out or "marl.commands.replay" not in sys.modules


def test_every_command_line_in_the_cli_guide_parses():
    import shlex

    from marl.cli import build_parser

    guide = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    blocks = guide.read_text().split("```")
    lines = [
        line.split("#")[0].strip()
        for index, block in enumerate(blocks)
        if index % 2 == 1 and block.startswith("bash")
        for line in block.splitlines()[1:]
        if line.strip().startswith("marl ")
    ]
    assert len(lines) >= 15
    parser = build_parser()
    for line in lines:
        parser.parse_args(shlex.split(line)[1:])


def test_bench_measures_the_environment_alone_and_training(capsys):
    code, out, err = cli(
        capsys,
        "bench",
        "CartPole-v1",
        "--env-steps",
        300,
        "--train-steps",
        128,
        "--set",
        "algo.n_envs=2",
        "--set",
        "algo.n_steps=64",
        "--set",
        "algo.n_epochs=1",
    )
    assert code == 0, err
    alone = float(out.split("one copy):")[1].split("steps/s")[0])
    training = float(out.split("training (ppo):")[1].split("steps/s")[0])
    ratio = float(out.split("training / environment alone:")[1].split()[0])
    assert alone > 0 and training > 0
    assert ratio == pytest.approx(training / alone, rel=0.05, abs=0.01)
    assert "(128 steps in" in out and "(300 steps" in out


def test_a_non_finite_loss_stops_with_one_line_and_keeps_the_last_checkpoint(tmp_path: Path, capsys, monkeypatch):
    import agents.learner

    real_update = agents.PPO.rule.update
    calls = {"count": 0}

    def update_then_blow_up(learner, group, batch):
        calls["count"] += 1
        if calls["count"] == 3:
            for parameter in learner.models.parameters():
                parameter.data.fill_(float("nan"))
        return real_update(learner, group, batch)

    monkeypatch.setattr(agents.PPO.rule, "update", update_then_blow_up)
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 512, "--out", run, *TINY)
    assert code == 1
    assert (
        "non-finite loss at update 3" in err
        and f"last good checkpoint: {run / 'checkpoints' / 'latest.pt'} (step 256)" in err
    )
    assert "Traceback" not in err
    payload = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert payload["steps"] == 256
    assert all(torch.isfinite(tensor).all() for tensor in payload["state"]["models"].values())


def test_the_parser_loads_without_torch_scipy_or_mujoco():
    """``marl --help`` and flag errors must not pay for the learners' imports."""
    import subprocess
    import sys

    probe = (
        "import sys, marl.cli; marl.cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'scipy', 'mujoco', 'matplotlib', 'pettingzoo') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
