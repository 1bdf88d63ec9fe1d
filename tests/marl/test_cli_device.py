"""``marl train --device``: set in the run config, checked before any work, changeable on resume,
and runs from before the option (or trained on a GPU) still resume and evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from marl.checkpoints import load_checkpoint, save_checkpoint
from marl.cli import main

TINY = [
    "--no-progress",
    "--set",
    "algo.n_envs=2",
    "--set",
    "algo.n_steps=64",
    "--set",
    "algo.n_epochs=2",
    "--set",
    "algo.minibatch_size=64",
    "--set",
    "eval_episodes=2",
    "--set",
    "eval_interval=128",
    "--set",
    "checkpoint_interval=128",
]


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def algo_config(run: Path) -> dict:
    return yaml.safe_load((run / "config.yaml").read_text())["algo_config"]


def test_the_device_goes_into_the_run_config_and_may_change_on_resume(tmp_path: Path, capsys):
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 128, "--device", "cpu", "--out", run, *TINY)
    assert code == 0, err
    assert algo_config(run)["device"] == "cpu"
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["state"]["config"]["device"] == "cpu"
    code, _, err = cli(capsys, "train", "--resume", run, "--steps", 256, "--device", "auto")
    assert code == 0, err
    assert "algo_config.device 'cpu' -> 'auto'" in err
    assert algo_config(run)["device"] == "auto"
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["steps"] == 256


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without a CUDA GPU")
def test_cuda_without_a_gpu_is_one_line_before_any_work(tmp_path: Path, capsys):
    run = tmp_path / "run"
    code, out, err = cli(capsys, "train", "CartPole-v1", "--steps", 128, "--device", "cuda", "--out", run, *TINY)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "device 'cuda' was asked for, but torch sees no CUDA GPU" in err and "--device" in err
    assert not run.exists()
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 128, "--set", "algo.device=cuda", "--out", run)
    assert code == 2 and "no CUDA GPU" in err and not run.exists()


def test_an_unknown_device_names_the_choices(tmp_path: Path, capsys):
    code, _, err = cli(capsys, "train", "CartPole-v1", "--device", "gpu", "--out", tmp_path / "run", *TINY)
    assert code == 2 and "device must be one of 'auto', 'cpu', 'cuda', got 'gpu'" in err
    assert not (tmp_path / "run").exists()


def test_a_run_from_before_the_option_resumes_and_a_gpu_run_evaluates_anywhere(tmp_path: Path, capsys):
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 128, "--out", run, *TINY)
    assert code == 0, err
    # Remove every trace of the field, as a run folder written before it existed.
    config = yaml.safe_load((run / "config.yaml").read_text())
    del config["algo_config"]["device"]
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    latest = run / "checkpoints" / "latest.pt"
    payload = load_checkpoint(latest)
    del payload["run_config"]["algo_config"]["device"]
    del payload["state"]["config"]["device"]
    save_checkpoint(
        latest,
        algo=payload["algo"],
        steps=payload["steps"],
        spaces=payload["spaces"],
        state=payload["state"],
        best_score=payload["best_score"],
        run_config=payload["run_config"],
    )
    code, _, err = cli(capsys, "train", "--resume", run, "--steps", 256)
    assert code == 0, err
    assert "device" not in err
    # A run whose config asks for the GPU opens for evaluation on any machine (evaluation acts on the CPU).
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["algo_config"]["device"] = "cuda"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    code, out, err = cli(capsys, "eval", run, "--episodes", 1)
    assert code == 0, err
