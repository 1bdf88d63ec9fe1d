"""Run folders: nothing of the user's is deleted, resumes match their checkpoint, errors are one line."""

from __future__ import annotations

import errno
import os
import time

import pytest
import yaml
from crafted import TINY, assert_one_line_refusal, edit_config, run_marl

import marl.training
from marl.checkpoints import load_checkpoint
from marl.run_folder import MARKER_NAME


def test_overwrite_never_deletes_a_folder_marl_did_not_create(capsys, trained_run, tmp_path):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "important.txt").write_text("keep")
    (project / "config.yaml").write_text((trained_run / "config.yaml").read_text())
    code, _, err = run_marl(capsys, "train", "CartPole-v1", "--out", project, "--overwrite", *TINY)
    assert_one_line_refusal(code, err, "no .marl-run file", "neither write into it nor delete it")
    assert (project / "important.txt").read_text() == "keep" and (project / "src").is_dir()


def test_out_refuses_an_existing_folder_even_empty_and_uncreatable_paths(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("x")
    for target, phrase in (
        (tmp_path / "empty", "exists and is empty, but not a run folder"),
        (tmp_path / "a_file" / "sub", "a_file is a file, not a folder"),
        (tmp_path / "a_file", "exists and is not a folder"),
    ):
        code, _, err = run_marl(capsys, "train", "CartPole-v1", "--out", target, *TINY)
        assert_one_line_refusal(code, err, phrase)
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = run_marl(capsys, "train", "CartPole-v1", "--out", locked / "run", *TINY)
        assert_one_line_refusal(code, err, "is not writable")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_file", "empty"] + (
        ["locked"] if os.geteuid() else []
    )


def test_overwrite_replaces_a_run_folder_unless_it_holds_the_users_files(capsys, run_copy):
    assert (run_copy / MARKER_NAME).is_file()
    (run_copy / "notes.md").write_text("my notes")
    code, _, err = run_marl(capsys, "train", "CartPole-v1", "--out", run_copy, "--overwrite", "--steps", 64, *TINY)
    assert_one_line_refusal(code, err, "holds files marl did not write (notes.md)")
    assert (run_copy / "notes.md").read_text() == "my notes"
    (run_copy / "notes.md").unlink()
    code, _, err = run_marl(
        capsys, "train", "CartPole-v1", "--out", run_copy, "--overwrite", "--steps", 64, "--seed", 5, *TINY
    )
    assert code == 0, err
    assert yaml.safe_load((run_copy / "config.yaml").read_text())["seed"] == 5


def test_resume_refuses_a_config_edited_since_the_checkpoint_naming_each_field(capsys, run_copy):
    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    config["algo_config"]["learning_rate"] = 0.5
    config["seed"] = 9
    (run_copy / "config.yaml").write_text(yaml.safe_dump(config))
    before = (run_copy / "checkpoints" / "latest.pt").read_bytes()
    code, _, err = run_marl(capsys, "train", "--resume", run_copy, "--steps", 128)
    assert_one_line_refusal(
        code,
        err,
        "algo_config.learning_rate is 0.5 there but 0.001 in the checkpoint",
        "seed is 9 there but 0 in the checkpoint",
    )
    assert (run_copy / "checkpoints" / "latest.pt").read_bytes() == before


def test_resume_applies_changes_that_do_not_change_learning_and_says_so(capsys, run_copy):
    edit_config(run_copy, eval_episodes=2, checkpoint_interval=32)
    code, out, err = run_marl(capsys, "train", "--resume", run_copy, "--steps", 128)
    assert code == 0, err
    assert "eval_episodes 1 -> 2" in err and "checkpoint_interval 64 -> 32" in err
    assert load_checkpoint(run_copy / "checkpoints" / "latest.pt")["steps"] == 128


def test_resume_removes_temporary_files_of_killed_writes(capsys, run_copy):
    stale = run_copy / "checkpoints" / ".latest.pt.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = run_copy / "checkpoints" / ".best.pt.wr1t1ng.tmp"  # perhaps another process writing now
    fresh.write_bytes(b"being written")
    code, _, err = run_marl(capsys, "train", "--resume", run_copy, "--steps", 128)
    assert code == 0, err
    assert not stale.exists() and fresh.exists() and "left by an interrupted write" in err


def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(capsys, run_copy, monkeypatch):
    before = load_checkpoint(run_copy / "checkpoints" / "latest.pt")["steps"]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(run_copy / "checkpoints" / "latest.pt"))

    monkeypatch.setattr(marl.training, "save_checkpoint", full)
    code, _, err = run_marl(capsys, "train", "--resume", run_copy, "--steps", 128)
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("marl train: error: no space left on the device while writing")
    assert f"(latest.pt: step {before}); continue with: marl train --resume {run_copy}" in line
    assert load_checkpoint(run_copy / "checkpoints" / "latest.pt")["steps"] == before


def test_argument_errors_are_one_line_with_a_pointer_to_help(capsys):
    for argv in (("train", "--steps", "many"), ("eval",), ("nonsense",), ("train", "--bogus")):
        code, out, err = run_marl(capsys, *argv)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert "usage:" not in err and "--help" in err


def test_runs_lists_every_run_and_names_those_it_cannot_read(capsys, trained_run, tmp_path):
    import shutil

    for name, text in (
        ("tagged", "env: !!python/object/apply:os.system ['touch x']\n"),
        ("invalid", "env: [unclosed\n"),
        ("binary", None),
    ):
        folder = tmp_path / name
        shutil.copytree(trained_run, folder)
        if text is None:
            (folder / "config.yaml").write_bytes(b"\xff\xfe\x00garbage")
        else:
            (folder / "config.yaml").write_text(text)
    shutil.copytree(trained_run, tmp_path / "good")
    (tmp_path / "bad_metrics").mkdir()
    shutil.copytree(trained_run, tmp_path / "bad_metrics" / "run")
    (tmp_path / "bad_metrics" / "run" / "metrics.csv").write_bytes(b"steps,x\n1,\x00\x00\n")
    code, out, err = run_marl(capsys, "runs", tmp_path)
    assert code == 0 and "Traceback" not in err, err
    assert "CartPole-v1" in out and not (tmp_path / "x").exists()
    for name in ("tagged", "invalid", "binary"):
        assert f"{tmp_path / name}: " in out
    code, _, err = run_marl(capsys, "plot", tmp_path / "tagged")
    assert_one_line_refusal(code, err, "config.yaml is not valid YAML")


def test_eval_record_on_an_environment_without_replays_refuses_before_playing(capsys, run_copy, monkeypatch):
    import marl.evaluation

    monkeypatch.setattr(marl.evaluation, "run_episodes", lambda *a, **k: pytest.fail("evaluated before refusing"))
    code, _, err = run_marl(capsys, "eval", run_copy, "--record")
    assert_one_line_refusal(code, err, "cannot record CartPole-v1")


def test_a_network_shape_mismatch_names_both_shapes(capsys, run_copy):
    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    config["algo_config"]["hidden_sizes"] = [8, 8]
    (run_copy / "config.yaml").write_text(yaml.safe_dump(config))
    code, _, err = run_marl(capsys, "eval", run_copy, "--episodes", 1)
    assert_one_line_refusal(code, err, "size mismatch", "torch.Size([8")


def test_impossible_memory_requests_are_refused_before_building(capsys, tmp_path):
    code, _, err = run_marl(
        capsys, "train", "CartPole-v1", "--set", "algo.n_steps=1000000000", "--envs", 1000, "--out", tmp_path / "big"
    )
    assert_one_line_refusal(code, err, "rollout storage needs at least", "lower algo.n_steps or --envs")
    assert not (tmp_path / "big").exists()


def test_a_config_whose_aliases_expand_to_billions_of_values_is_refused(capsys, tmp_path):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefg", "bcdefgh"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    lines += ["env: CartPole-v1", "env_kwargs: {x: *h}"]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_marl(capsys, "train", "--config", path, "--out", tmp_path / "run")
    assert_one_line_refusal(code, err, "holds more than 100000 values once its YAML aliases are expanded")
    path.write_text("env: CartPole-v1\nenv_kwargs: " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = run_marl(capsys, "train", "--config", path, "--out", tmp_path / "run")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
