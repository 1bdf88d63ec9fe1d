"""``marl train --seeds``: one run folder per seed, in turn or side by side, Ctrl-C, bad flags."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_flags import tiny_flags

from marl.checkpoints import load_checkpoint
from marl.cli import main
from marl.metrics import read_metrics
from marl.seeds import SeedJob, run_jobs

ROOT = Path(__file__).resolve().parents[2]
TINY = tiny_flags("--algo", "ppo", checkpoint_interval=128)


def cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_each_seed_trains_its_own_run_folder_exactly_as_a_single_run_with_that_seed(tmp_path: Path, capsys):
    out = tmp_path / "seeds"
    code, stdout, err = cli(
        capsys, "train", "CartPole-v1", "--steps", 512, "--seeds", 3, 5, "--parallel", 2, "--out", out, *TINY
    )
    assert code == 0, err
    assert "seed 3: done" in stdout and "seed 5: done" in stdout and f"marl report {out}" in stdout
    for seed in (3, 5):
        config = yaml.safe_load((out / f"seed_{seed}" / "config.yaml").read_text())
        assert config["seed"] == seed and config["steps"] == 512 and config["algo_config"]["n_steps"] == 64
        assert load_checkpoint(out / f"seed_{seed}" / "checkpoints" / "latest.pt")["steps"] == 512
        assert "last evaluation" in (out / "logs" / f"seed_{seed}.log").read_text()  # side by side: one log each

    single = tmp_path / "single"
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 512, "--seed", 5, "--out", single, *TINY)
    assert code == 0, err
    from_seeds, alone = read_metrics(out / "seed_5" / "metrics.csv"), read_metrics(single / "metrics.csv")
    for column in ("loss/policy", "eval/return/agent"):
        np.testing.assert_array_equal(from_seeds[column], alone[column])
    other = read_metrics(out / "seed_3" / "metrics.csv")
    assert not np.array_equal(other["loss/policy"], alone["loss/policy"], equal_nan=True)


def sleeper(tmp_path: Path, seed: int) -> SeedJob:
    """A child that notes when it starts and ends, in the order the parent sees."""
    script = (
        "import pathlib, sys, time; log = pathlib.Path(sys.argv[1]); "
        "log.open('a').write(f'start {sys.argv[2]}\\n'); time.sleep(1.0); log.open('a').write(f'end {sys.argv[2]}\\n')"
    )
    command = [sys.executable, "-c", script, str(tmp_path / "events.txt"), str(seed)]
    return SeedJob(seed, tmp_path / f"seed_{seed}", command)


@pytest.mark.parametrize("parallel, most_at_once", [(1, 1), (2, 2)])
def test_jobs_run_in_turn_or_at_most_parallel_at_a_time(tmp_path: Path, parallel: int, most_at_once: int):
    jobs = [sleeper(tmp_path, seed) for seed in range(4)]
    assert run_jobs(jobs, parallel, say=lambda line: None) is False
    assert [job.exit_code for job in jobs] == [0, 0, 0, 0]
    running, peak = 0, 0
    for event in (tmp_path / "events.txt").read_text().split("\n")[:-1]:
        running += 1 if event.startswith("start") else -1
        peak = max(peak, running)
    assert peak == most_at_once
    if parallel == 1:
        assert (tmp_path / "events.txt").read_text().split() == [
            word for seed in range(4) for word in ("start", str(seed), "end", str(seed))
        ]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--parallel", "2"], "give them with --seeds"),
        (["--seeds", "0", "1", "--seed", "3"], "not both"),
        (["--seeds", "0", "1", "0"], "seed 0 twice"),
        (["--seeds", "0", "-1"], ">= 0"),
        (["--seeds", "0", "--parallel", "0"], "--parallel must be >= 1"),
        (["--seeds", "0", "--set", "algo.n_step=3"], "unknown config key"),
    ],
)
def test_bad_seed_flags_are_one_line_before_any_run_starts(tmp_path: Path, capsys, flags, message):
    out = tmp_path / "seeds"
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 256, "--out", out, *flags)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_an_existing_seed_folder_or_a_run_folder_as_out_is_refused_before_any_run_starts(tmp_path: Path, capsys):
    out = tmp_path / "seeds"
    (out / "seed_1").mkdir(parents=True)
    (out / "seed_1" / "notes.txt").write_text("mine")
    code, _, err = cli(capsys, "train", "CartPole-v1", "--steps", 256, "--seeds", 0, 1, "--out", out)
    assert code == 2 and "seed_1" in err and not (out / "seed_0").exists()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("env: CartPole-v1\n")
    code, _, err = cli(capsys, "train", "CartPole-v1", "--seeds", 0, "--out", tmp_path / "run")
    assert code == 2 and "is a run folder" in err
    code, _, err = cli(capsys, "train", "--resume", tmp_path / "run", "--seeds", 0)
    assert code == 2 and "--seeds" in err


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_ctrl_c_stops_every_parallel_run_with_a_checkpoint_each_can_resume_from(tmp_path: Path):
    out = tmp_path / "seeds"
    environment = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marl.cli",
            "train",
            "CartPole-v1",
            "--steps",
            "1000000",
            "--seeds",
            "0",
            "1",
            "2",
            "--parallel",
            "2",
            "--out",
            str(out),
            *TINY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    try:

        def both_training() -> bool:
            if parent.poll() is not None:
                raise AssertionError(parent.stdout.read())
            return all(len(read_metrics(out / f"seed_{seed}" / "metrics.csv").get("steps", [])) >= 2 for seed in (0, 1))

        wait_for(both_training, timeout=120)
        parent.send_signal(signal.SIGINT)
        output, _ = parent.communicate(timeout=120)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 130, output
    for seed in (0, 1):
        steps = load_checkpoint(out / f"seed_{seed}" / "checkpoints" / "latest.pt")["steps"]
        assert 0 < steps < 1_000_000
        assert f"seed {seed}: interrupted" in output
        assert f"continue seed {seed} with: marl train --resume {out / f'seed_{seed}'}" in output
    assert not (out / "seed_2").exists() and "seeds not started: 2" in output
    assert "Traceback" not in output
    steps = load_checkpoint(out / "seed_0" / "checkpoints" / "latest.pt")["steps"]
    assert main(["train", "--resume", str(out / "seed_0"), "--steps", str(steps + 128), "--no-progress"]) == 0
    assert load_checkpoint(out / "seed_0" / "checkpoints" / "latest.pt")["steps"] == steps + 128
