"""Nothing read from a file imports or calls code it names, on every path that reads one.

Each crafted file names the canary (a ``module:factory`` id, or a module outside the known
environment packages); the canary leaves a mark when imported or called. Without --trust-code
(``trust_code=True`` in Python) every path refuses in one line and the mark never appears;
with it, the same file runs the canary, which shows that the tests can see code running.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from crafted import CODE_IDS, assert_one_line_refusal, edit_config, replay_arrays, run_marl, write_replay

from agents import PPO, Learner
from agents import checkpoint as learner_checkpoint
from agents.checkpoint import CheckpointError
from replays import load_episode
from replays.playback import EpisodePlayer
from replays.video import render_episode


@pytest.fixture(params=CODE_IDS)
def code_id(request) -> str:
    return request.param


@pytest.fixture()
def code_run(run_copy, code_id):
    """A run folder whose config.yaml names the canary as its environment."""
    edit_config(run_copy, env=code_id, env_kwargs={})
    return run_copy


@pytest.fixture()
def code_replay(recorded_replay, tmp_path, code_id):
    """An episode file (with a valid digest) that names the canary as its environment."""
    arrays = replay_arrays(recorded_replay)
    arrays["env_id"] = np.array(code_id, dtype=np.str_)
    return write_replay(arrays, tmp_path / "episode.npz")


@pytest.fixture()
def code_checkpoint(tmp_path, code_id):
    """A learner checkpoint (with a valid digest) whose env_id names the canary."""
    learner = PPO("CartPole-v1", n_steps=32)
    state = learner.state_dict()
    state["env_id"] = code_id
    return learner_checkpoint.save(state, tmp_path / "learner.pt")


@pytest.mark.parametrize(
    "command",
    [
        ("eval", "{run}", "--episodes", 1),
        ("train", "--resume", "{run}", "--steps", 128),
        ("train", "--config", "{run}/config.yaml", "--out", "{tmp}/new"),
        ("bench", "--config", "{run}/config.yaml", "--env-steps", 10, "--train-steps", 64),
    ],
)
def test_commands_refuse_a_run_or_config_that_names_code(capsys, canary, code_run, code_id, tmp_path, command):
    argv = [str(part).format(run=code_run, tmp=tmp_path) for part in command]
    code, _, err = run_marl(capsys, *argv)
    assert_one_line_refusal(code, err, f"names the environment {code_id!r}", "--trust-code")
    assert not canary.exists()
    assert not (tmp_path / "new").exists()


def test_listing_and_plotting_a_run_that_names_code_runs_none_of_it(capsys, canary, code_run):
    assert run_marl(capsys, "runs", code_run.parent)[0] == 0
    assert run_marl(capsys, "plot", code_run)[0] == 0
    assert not canary.exists()


def test_replay_refuses_to_build_an_environment_named_as_code(capsys, canary, code_replay, code_id, tmp_path):
    code, _, err = run_marl(
        capsys, "replay", code_replay, "--out", tmp_path / "clip.mp4", "--width", 64, "--height", 48
    )
    assert_one_line_refusal(code, err, f"names the environment {code_id!r}", "--trust-code")
    code, out, err = run_marl(capsys, "replay", code_replay, "--stats")  # needs no environment
    assert code == 0 and "episode_length" in out, err
    with pytest.raises(ValueError, match="trust_code=True"):
        render_episode(code_replay, tmp_path / "api.mp4", width=64, height=48)
    with pytest.raises(ValueError, match="trust_code=True"):
        EpisodePlayer(load_episode(code_replay), "2d", 64, 48)
    assert not canary.exists() and not (tmp_path / "clip.mp4").exists()


def test_learner_load_refuses_a_checkpoint_that_names_code(canary, code_checkpoint, code_id):
    for load in (PPO.load, Learner.load):
        with pytest.raises(CheckpointError, match=rf"names the environment '{code_id}'.*trust_code=True"):
            load(code_checkpoint)
    assert not canary.exists()
    restored = PPO.load(code_checkpoint, env="CartPole-v1")  # the caller names the environment
    assert restored.steps == 0 and not canary.exists()


def test_a_ray_address_from_a_file_needs_the_users_say_so(capsys, run_copy, tmp_path):
    edit_config(run_copy, backend="ray", address="192.0.2.1:6379")
    code, _, err = run_marl(capsys, "train", "--resume", run_copy, "--steps", 128)
    assert_one_line_refusal(code, err, "asks to join the Ray cluster at '192.0.2.1:6379'", "--address")
    code, _, err = run_marl(capsys, "train", "--config", run_copy / "config.yaml", "--out", tmp_path / "new")
    assert_one_line_refusal(code, err, "asks to join the Ray cluster")


def test_trusting_the_file_runs_its_code(capsys, canary, run_copy, recorded_replay, tmp_path):
    """The positive control: with the user's opt-in the canary runs, so the refusals above are real."""
    edit_config(run_copy, env="canary_factory:make_env", env_kwargs={})
    code, out, err = run_marl(capsys, "eval", run_copy, "--episodes", 1, "--trust-code")
    assert code == 0, err
    assert "called canary_factory.make_env" in canary.read_text()
    canary.unlink()
    learner = PPO("CartPole-v1", n_steps=32)
    state = learner.state_dict()
    state["env_id"] = "canary_factory:make_env"
    path = learner_checkpoint.save(state, tmp_path / "learner.pt")
    assert PPO.load(path, trust_code=True).steps == 0 and canary.exists()


def test_registry_ids_from_files_still_work(capsys, run_copy, tmp_path):
    """Gymnasium ids, the suite's ids and PettingZoo module paths are data, not code."""
    from agents.env_resolver import code_reference as learner_reference
    from envs.registry import code_reference

    for env_id in (
        "CartPole-v1",
        "navigation_v0",
        "hide_and_seek_v0",
        "mpe2.simple_spread_v3",
        "pettingzoo.sisl.multiwalker_v9",
    ):
        assert code_reference(env_id) is None, env_id
    for env_id in ("os:system", "tempfile:mkdtemp", "os.path", "antigravity.sub", "envs.registry:make"):
        assert code_reference(env_id) is not None, env_id
    assert learner_reference("CartPole-v1") is None and learner_reference("antigravity.sub") is not None
    learner = PPO("CartPole-v1", n_steps=32)
    path = learner.save(tmp_path / "cartpole.pt")
    assert PPO.load(path).env_id == "CartPole-v1"
    code, _, err = run_marl(capsys, "eval", run_copy, "--episodes", 1)
    assert code == 0, err
    assert torch.is_tensor(learner.state_dict()["torch_rng"])
