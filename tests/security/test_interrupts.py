"""Ctrl-C twice: never a traceback, always the line that says how to continue, and a checkpoint
that matches the step it reports, so the resumed run ends exactly where an unbroken one ends."""

from __future__ import annotations

import signal
import threading

import pytest
import torch
from crafted import TINY, run_marl

import marl.commands.train as train_command
import marl.metrics
import marl.training
from agents.backends import InProcessBackend
from marl.checkpoints import load_checkpoint

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)

ARGUMENTS = ["CartPole-v1", "--algo", "ppo", "--seed", 2, *TINY]


def press_ctrl_c(times: int = 1) -> None:
    for _ in range(times):
        signal.raise_signal(signal.SIGINT)


def models(path):
    return load_checkpoint(path)["state"]["models"]


def test_two_presses_during_collection_save_the_last_whole_update(capsys, tmp_path, monkeypatch):
    code, _, err = run_marl(capsys, "train", *ARGUMENTS, "--steps", 192, "--out", tmp_path / "straight")
    assert code == 0, err

    original = InProcessBackend.collect
    calls = []

    def collect(self, *args, **kwargs):
        calls.append(1)
        original(self, *args, **kwargs)  # the env copies have moved on: the learner is mid-update
        if len(calls) == 2:
            press_ctrl_c(2)

    with monkeypatch.context() as patch:
        patch.setattr(InProcessBackend, "collect", collect)
        code, out, err = run_marl(capsys, "train", *ARGUMENTS, "--steps", 192, "--out", tmp_path / "stopped")
    assert code == 130 and "Traceback" not in err
    assert f"continue with: marl train --resume {tmp_path / 'stopped'}" in out
    saved = load_checkpoint(tmp_path / "stopped" / "checkpoints" / "latest.pt")
    assert saved["steps"] == saved["state"]["steps"] == 64

    code, _, err = run_marl(capsys, "train", "--resume", tmp_path / "stopped")
    assert code == 0, err
    resumed = load_checkpoint(tmp_path / "stopped" / "checkpoints" / "latest.pt")
    assert resumed["steps"] == 192  # no overshoot
    straight = models(tmp_path / "straight" / "checkpoints" / "latest.pt")
    for key, value in straight.items():
        assert torch.equal(value, resumed["state"]["models"][key]), key


def test_a_second_press_while_the_curves_are_drawn_still_says_how_to_continue(capsys, tmp_path, monkeypatch):
    original_log = marl.metrics.MetricsLogger.log

    def log(self, steps, metrics):
        row = original_log(self, steps, metrics)
        if metrics.get("updates") == 1:
            press_ctrl_c()  # the first press: stop after this update
        return row

    def draw_curves(folder):
        raise KeyboardInterrupt  # the second press lands in matplotlib's import

    monkeypatch.setattr(marl.metrics.MetricsLogger, "log", log)
    monkeypatch.setattr(train_command, "draw_curves", draw_curves)
    code, out, err = run_marl(capsys, "train", *ARGUMENTS, "--steps", 192, "--out", tmp_path / "run")
    assert code == 130 and "Traceback" not in err
    assert f"continue with: marl train --resume {tmp_path / 'run'}" in out
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")["steps"] == 64


def test_presses_while_a_checkpoint_is_written_wait_for_it(capsys, tmp_path, monkeypatch):
    original = marl.training.save_checkpoint
    saves = []

    def save_checkpoint(*args, **kwargs):
        saves.append(1)
        if len(saves) == 1:
            press_ctrl_c(2)  # both presses arrive while the file is being written
        return original(*args, **kwargs)

    monkeypatch.setattr(marl.training, "save_checkpoint", save_checkpoint)
    code, out, err = run_marl(capsys, "train", *ARGUMENTS, "--steps", 192, "--out", tmp_path / "run")
    assert code == 130 and "Traceback" not in err and "continue with" in out
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")  # whole, and its digest holds
    assert saved["steps"] == saved["state"]["steps"]
    assert not list((tmp_path / "run" / "checkpoints").glob(".*.tmp"))
