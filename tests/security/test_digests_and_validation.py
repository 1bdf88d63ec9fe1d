"""Checkpoints and replays carry sha256 digests, and replays are validated before anything is built."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
import torch
from crafted import assert_one_line_refusal, replay_arrays, run_marl, write_replay

from agents import PPO
from agents.checkpoint import CheckpointError, UncheckedCheckpointWarning, content_digest
from marl.checkpoints import CheckpointError as RunCheckpointError
from marl.checkpoints import load_checkpoint


def largest_member(path) -> tuple[int, int]:
    """(offset, size) in the file of the largest stored member of a torch zip (a weight tensor)."""
    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda item: item.file_size)
        assert info.compress_type == zipfile.ZIP_STORED
    data = path.read_bytes()
    header = data[info.header_offset :]
    name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + name_length + extra_length, info.file_size


def flipped(source, target, offset: int, length: int = 64):
    data = bytearray(source.read_bytes())
    for index in range(offset, min(offset + length, len(data))):
        data[index] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def test_a_flipped_weight_tensor_is_refused_by_eval_and_never_used(capsys, run_copy):
    latest = run_copy / "checkpoints" / "latest.pt"
    offset, size = largest_member(latest)
    flipped(latest, latest, offset + size // 2)
    code, _, err = run_marl(capsys, "eval", run_copy, "--episodes", 1)
    assert_one_line_refusal(code, err, "latest.pt is corrupt", "do not match the sha256 digest")


def test_no_flip_anywhere_in_a_checkpoint_is_used_unnoticed(trained_run, tmp_path):
    """Twelve 64-byte flips spread over the file: each is refused, or changed nothing that is read."""
    original = trained_run / "checkpoints" / "latest.pt"
    reference = content_digest(load_checkpoint(original))
    size = original.stat().st_size
    refused = 0
    for index, offset in enumerate(np.linspace(0, size - 64, 12).astype(int)):
        broken = flipped(original, tmp_path / f"flip{index}.pt", int(offset))
        try:
            payload = load_checkpoint(broken)
        except RunCheckpointError:
            refused += 1
            continue
        assert content_digest(payload) == reference, f"a flip at byte {offset} changed what was loaded"
    assert refused >= 10


def test_learner_checkpoints_carry_a_digest_and_refuse_corruption(tmp_path):
    learner = PPO("CartPole-v1", n_steps=32)
    path = learner.save(tmp_path / "ppo.pt")
    assert isinstance(torch.load(path, weights_only=True)["digest"], str)
    offset, size = largest_member(path)
    flipped(path, path, offset + size // 2)
    with pytest.raises(CheckpointError, match="is corrupt: its contents do not match the sha256 digest"):
        PPO.load(path)


def test_checkpoints_from_before_digests_load_with_a_warning(capsys, run_copy, tmp_path):
    latest = run_copy / "checkpoints" / "latest.pt"
    payload = torch.load(latest, weights_only=True)
    payload.pop("digest")
    payload["version"] = 1
    torch.save(payload, latest)
    code, out, err = run_marl(capsys, "eval", run_copy, "--episodes", 1)
    assert code == 0 and "written before checkpoints carried digests" in err

    state = PPO("CartPole-v1", n_steps=32).state_dict()
    state["format"] = 1
    torch.save(state, tmp_path / "old.pt")
    with pytest.warns(UncheckedCheckpointWarning, match="written before checkpoints carried digests"):
        PPO.load(tmp_path / "old.pt")


def with_changes(arrays, **changes):
    arrays = dict(arrays)
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    return arrays


def text(value) -> np.ndarray:
    return np.array(value, dtype=np.str_)


REPLAY_CASES = {
    "a billion agents": (
        lambda a: with_changes(a, env_kwargs_json=text(json.dumps({"n_agents": 10**9}))),
        "sets n_agents=1000000000 but records at most",
    ),
    "a missing frame key": (
        lambda a: with_changes(a, **{"frame/landmark_pos": None}),
        "has no frame array 'landmark_pos'",
    ),
    "infinite positions": (
        lambda a: with_changes(a, **{"frame/agent_pos": np.full_like(a["frame/agent_pos"], np.inf)}),
        "frame/agent_pos holds values that are not finite",
    ),
    "fewer agents than recorded": (
        lambda a: with_changes(a, env_kwargs_json=text(json.dumps({"n_agents": 2}))),
        "but its environment has",
    ),
    "a wrong reward shape": (lambda a: with_changes(a, rewards=a["rewards"][:, :1]), "rewards has shape"),
    "an infinite frame rate": (lambda a: with_changes(a, fps=np.array(np.inf, np.float32)), "fps must be in"),
    "a repeated agent": (
        lambda a: with_changes(a, agents=text(["agent_0", "agent_0", "agent_1"])),
        "agents lists a name twice",
    ),
    "NaN in the settings": (
        lambda a: with_changes(a, env_kwargs_json=text('{"max_cycles": NaN}')),
        "NaN is not a finite number",
    ),
    "settings that are a list": (
        lambda a: with_changes(a, env_kwargs_json=text("[1, 2]")),
        "env_kwargs_json is not a JSON object",
    ),
    "a negative seed": (lambda a: with_changes(a, seed=np.array(-7)), "seed must be >= 0"),
    "positions a universe away": (
        lambda a: with_changes(a, **{"frame/agent_pos": np.full_like(a["frame/agent_pos"], 1e30)}),
        "recorded values are out of the range its environment gives them",
    ),
    "action widths past the array": (
        lambda a: with_changes(a, action_dims=np.full_like(a["action_dims"], 99)),
        "action_dims must be",
    ),
}


@pytest.mark.parametrize("case", sorted(REPLAY_CASES))
def test_a_bad_replay_is_one_line_before_anything_is_built(capsys, recorded_replay, tmp_path, case):
    change, phrase = REPLAY_CASES[case]
    path = write_replay(change(replay_arrays(recorded_replay)), tmp_path / "bad.npz")
    code, _, err = run_marl(capsys, "replay", path, "--out", tmp_path / "clip.mp4", "--width", 64, "--height", 48)
    assert_one_line_refusal(code, err, phrase)
    assert not (tmp_path / "clip.mp4").exists()


def test_an_edited_replay_without_a_new_digest_is_refused(capsys, recorded_replay, tmp_path):
    arrays = replay_arrays(recorded_replay)
    arrays["rewards"] = arrays["rewards"] + 1
    path = write_replay(arrays, tmp_path / "edited.npz", fresh_digest=False)
    code, _, err = run_marl(capsys, "replay", path, "--stats")
    assert_one_line_refusal(code, err, "do not match the sha256 digest")


def test_a_member_that_claims_terabytes_is_refused_before_decompression(capsys, recorded_replay, tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(recorded_replay) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "rewards.npy":
                data = header.getvalue() + bytes(64)
            target.writestr(info.filename, data)
    code, _, err = run_marl(capsys, "replay", path, "--stats")
    assert_one_line_refusal(code, err, "rewards.npy declares 4000000000000 bytes")


def test_replays_from_before_digests_load_with_a_warning(capsys, recorded_replay, tmp_path):
    arrays = replay_arrays(recorded_replay)
    arrays.pop("digest")
    arrays["format_version"] = np.array(1, dtype=np.int32)
    path = tmp_path / "old.npz"
    np.savez_compressed(path, **arrays)
    code, out, err = run_marl(capsys, "replay", path, "--stats")
    assert code == 0 and "written before replays carried digests" in err and "episode_length" in out
    from replays import load_episode
    from replays.file_format import UncheckedReplayWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_episode(path)
    assert any(issubclass(w.category, UncheckedReplayWarning) for w in caught)
