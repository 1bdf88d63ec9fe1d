"""A small deterministic fuzzer over run folders, configs, checkpoints and replays.

Each round takes a real file, breaks it one way chosen by a seeded generator (a value of the
wrong type or range, a code id, a YAML tag, flipped or cut bytes, an array of the wrong shape,
dtype or values, a pickled object, a digest made to match), and runs the commands that read it.
A round fails if anything escapes as an exception (a traceback), if a refusal is not exactly one
line with exit code 2, if the canary ran, or if the user's file next to the run changed. The
rounds are few and small so that the whole fuzzer takes seconds; the seed and the mutation are
in every failure message, so a failure can be replayed.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
import yaml
from crafted import CODE_IDS, replay_arrays, run_marl, write_replay

SEED = 15
ROUNDS_PER_KIND = 8
HOSTILE_VALUES = [
    None,
    -1,
    0,
    10**12,
    1e308,
    float("nan"),
    "",
    "x" * 5000,
    [],
    {},
    [[[[]]]],
    True,
    {"nested": {"deeper": [1, "two", None]}},
    *CODE_IDS,
    "os:system",
    "tempfile:mkdtemp",
]
HOSTILE_TEXTS = [
    "env: !!python/object/apply:os.system ['touch canary']\n",
    "env: [unclosed\n",
    "- a list\n",
    "env: CartPole-v1\nenv_kwargs: !!python/name:canary_factory.make_env\n",
    "{{{{",
    "env: CartPole-v1\nalgo_config: {n_steps: !!binary aGVsbG8=}\n",
]


def check_round(code: int, err: str, canary, sentinel, description: str) -> None:
    """The rules every round must keep."""
    lines = [
        line for line in err.strip().splitlines() if not line.startswith(("marl: warning", "marl replay: warning"))
    ]
    assert "Traceback" not in err, f"{description}: {err}"
    assert code in (0, 2), f"{description}: exit code {code}: {err}"
    if code == 2:
        assert len(lines) == 1 and "error:" in lines[0], f"{description}: {err}"
    assert not canary.exists(), f"{description}: code named by a file ran"
    assert sentinel.read_text() == "the user's notes", f"{description}: a user file changed"


def mutate_config(rng: np.random.Generator, run) -> str:
    path = run / "config.yaml"
    if rng.random() < 0.25:
        text = HOSTILE_TEXTS[rng.integers(len(HOSTILE_TEXTS))]
        path.write_text(text)
        return f"config.yaml replaced by {text!r}"
    config = yaml.safe_load(path.read_text())
    section = [config, config["algo_config"], config["env_kwargs"]][rng.integers(3)]
    keys = list(section) or ["n_agents"]
    key = keys[rng.integers(len(keys))]
    value = HOSTILE_VALUES[rng.integers(len(HOSTILE_VALUES))]
    section[key] = value
    path.write_text(yaml.safe_dump(config))
    return f"config key {key} set to {value!r:.60}"


def mutate_checkpoint(rng: np.random.Generator, run) -> str:
    path = run / "checkpoints" / "latest.pt"
    data = bytearray(path.read_bytes())
    choice = rng.integers(4)
    if choice == 0:
        offset, length = int(rng.integers(len(data))), int(rng.integers(1, 65))
        for index in range(offset, min(offset + length, len(data))):
            data[index] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        return f"checkpoint bytes {offset}..{offset + length} flipped"
    if choice == 1:
        cut = int(rng.integers(len(data)))
        path.write_bytes(bytes(data[:cut]))
        return f"checkpoint cut at byte {cut}"
    if choice == 2:
        torch.save({"format": "marl-checkpoint", "version": 2, "state": os.system}, path)
        return "checkpoint holding a pickled reference to os.system"
    payload = torch.load(path, weights_only=True)
    from agents.checkpoint import with_digest

    key = ["steps", "spaces", "algo", "state"][rng.integers(4)]
    payload[key] = HOSTILE_VALUES[rng.integers(len(HOSTILE_VALUES))]
    torch.save(with_digest({k: v for k, v in payload.items() if k != "digest"}), path)
    return f"checkpoint {key} replaced, digest made to match"


def mutate_replay(rng: np.random.Generator, source, target) -> str:
    arrays = replay_arrays(source)
    keys = sorted(arrays)
    key = keys[rng.integers(len(keys))]
    choice = rng.integers(8)
    if choice == 0:
        arrays.pop(key)
        change = f"{key} removed"
    elif choice == 1:
        arrays[key] = np.full(np.shape(arrays[key]) or (), np.inf, dtype=np.float32)
        change = f"{key} set to inf"
    elif choice == 2:
        whole = np.atleast_1d(arrays[key])
        arrays[key] = whole[: max(0, len(whole) - 2)]
        change = f"{key} shortened"
    elif choice == 3:
        arrays[key] = np.array(str(HOSTILE_VALUES[rng.integers(len(HOSTILE_VALUES))])[:200], dtype=np.str_)
        change = f"{key} replaced by text"
    elif choice == 4:
        arrays["env_id"] = np.array(CODE_IDS[rng.integers(len(CODE_IDS))], dtype=np.str_)
        change = "env_id names code"
    elif choice == 5:
        kwargs = {"n_agents": int(rng.choice([0, -3, 2, 10**9])), "max_cycles": int(rng.choice([1, 10**9]))}
        arrays["env_kwargs_json"] = np.array(json.dumps(kwargs), dtype=np.str_)
        change = f"env_kwargs {kwargs}"
    elif choice == 6:
        value = np.asarray(arrays[key])
        if value.dtype.kind in "iu":
            extreme = np.iinfo(value.dtype).max if rng.random() < 0.5 else np.iinfo(value.dtype).min
        else:
            extreme = 1e30 if rng.random() < 0.5 else -3e38
        arrays[key] = np.full_like(value, extreme) if value.dtype.kind in "iuf" else value
        change = f"{key} set to {extreme}"
    else:
        arrays[key] = (
            np.asarray(arrays[key]).astype(np.float64) * 1e300
            if np.asarray(arrays[key]).dtype.kind in "fiu"
            else np.zeros((3, 3))
        )
        change = f"{key} scaled to 1e300"
    fresh = bool(rng.random() < 0.8)
    write_replay(arrays, target, fresh_digest=fresh)
    if rng.random() < 0.2:
        data = bytearray(target.read_bytes())
        offset = int(rng.integers(len(data)))
        data[offset] ^= 0xFF
        target.write_bytes(bytes(data))
        change += f", byte {offset} flipped"
    return change + ("" if fresh else ", old digest kept")


@pytest.fixture()
def sentinel(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("the user's notes")
    return path


def test_fuzzed_run_folders_and_configs(capsys, canary, trained_run, tmp_path, sentinel):
    rng = np.random.default_rng(SEED)
    for round_index in range(ROUNDS_PER_KIND):
        run = tmp_path / f"run{round_index}"
        shutil.copytree(trained_run, run)
        description = f"seed {SEED}, config round {round_index}: " + mutate_config(rng, run)
        for argv in (
            ("eval", run, "--episodes", 1),
            ("train", "--resume", run, "--steps", 128, "--no-progress"),
            (
                "train",
                "--config",
                run / "config.yaml",
                "--out",
                tmp_path / f"new{round_index}",
                "--steps",
                64,
                "--no-progress",
            ),
            ("runs", run),
            ("plot", run),
        ):
            code, _, err = run_marl(capsys, *argv)
            check_round(code, err, canary, sentinel, f"{description}; marl {argv[0]}")


def test_fuzzed_checkpoints(capsys, canary, trained_run, tmp_path, sentinel):
    rng = np.random.default_rng(SEED + 1)
    for round_index in range(ROUNDS_PER_KIND * 2):
        run = tmp_path / f"run{round_index}"
        shutil.copytree(trained_run, run)
        description = f"seed {SEED + 1}, checkpoint round {round_index}: " + mutate_checkpoint(rng, run)
        for argv in (("eval", run, "--episodes", 1), ("train", "--resume", run, "--steps", 128, "--no-progress")):
            code, _, err = run_marl(capsys, *argv)
            check_round(code, err, canary, sentinel, f"{description}; marl {argv[0]}")


def test_fuzzed_replays(capsys, canary, recorded_replay, recorded_arena, tmp_path, sentinel):
    rng = np.random.default_rng(SEED + 2)
    for round_index in range(ROUNDS_PER_KIND * 4):
        path = tmp_path / f"episode{round_index}.npz"
        source = (recorded_replay, recorded_arena)[round_index % 2]
        description = f"seed {SEED + 2}, replay round {round_index} of {source.name}: " + mutate_replay(
            rng, source, path
        )
        for argv in (
            ("replay", path, "--stats"),
            ("replay", path, "--out", tmp_path / "clip.gif", "--width", 32, "--height", 32),
        ):
            code, _, err = run_marl(capsys, *argv)
            check_round(code, err, canary, sentinel, f"{description}; marl {' '.join(map(str, argv[:3]))}")
