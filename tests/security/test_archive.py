"""Run archives are files from others: ``marl import`` refuses every broken or crafted one in one
line, before it writes anything, and never runs code an archive names.

Each crafted archive starts from a real ``marl export`` and is changed one way: cut short,
a member's bytes changed, a member added or left out, a name that would escape the target
folder (zip slip), a size or digest that lies, a manifest of another format or version, a
pickled object behind a digest that matches. A seeded fuzzer then flips and cuts bytes at
random. After every refusal the target folder does not exist, nothing was left beside it, and
a user's file next to it is untouched.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from crafted import CODE_IDS, assert_one_line_refusal, run_marl

from marl.archive import MANIFEST_NAME

SEED = 21
FUZZ_ROUNDS = 12


@pytest.fixture()
def exported(capsys, trained_run, tmp_path) -> Path:
    """A fresh archive of the trained run, and the user's notes beside where it is imported."""
    archive = tmp_path / "run.zip"
    code, _, err = run_marl(capsys, "export", trained_run, archive)
    assert code == 0, err
    (tmp_path / "notes.txt").write_text("the user's notes")
    return archive


def members_of(archive: Path) -> dict[str, bytes]:
    """Every member of an archive, in order."""
    with zipfile.ZipFile(archive) as opened:
        return {info.filename: opened.read(info) for info in opened.infolist()}


def write_zip(path: Path, members: dict[str, bytes], fresh_manifest: bool = False) -> Path:
    """Write ``members`` as a zip; with ``fresh_manifest`` the manifest is rebuilt to match them."""
    members = dict(members)
    if fresh_manifest:
        manifest = json.loads(members[MANIFEST_NAME])
        manifest["members"] = {
            name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in members.items()
            if name != MANIFEST_NAME
        }
        members[MANIFEST_NAME] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as opened:
        for name, data in members.items():
            opened.writestr(name, data)
    return path


def assert_refused_without_trace(capsys, archive: Path, *phrases: str) -> None:
    """Import is refused in one line; no target, no staging folder, the user's notes intact."""
    folder = archive.parent
    before = sorted(path.name for path in folder.iterdir())
    code, _, err = run_marl(capsys, "import", archive, "--out", folder / "imported")
    assert_one_line_refusal(code, err, *phrases)
    assert sorted(path.name for path in folder.iterdir()) == before
    assert (folder / "notes.txt").read_text() == "the user's notes"


def test_a_truncated_archive_is_refused(capsys, exported):
    data = exported.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 30):
        exported.write_bytes(data[:cut])
        assert_refused_without_trace(capsys, exported, "run.zip")


def test_a_tampered_member_is_refused_by_its_digest(capsys, exported):
    original = members_of(exported)
    assert b"\nseed: 0\n" in original["config.yaml"]
    config = original["config.yaml"].replace(b"\nseed: 0\n", b"\nseed: 9\n")  # the same size
    write_zip(exported, {**original, "config.yaml": config})
    assert_refused_without_trace(capsys, exported, "config.yaml", "does not match the sha256")
    write_zip(exported, {**original, "checkpoints/best.pt": bytes(reversed(original["checkpoints/best.pt"]))})
    assert_refused_without_trace(capsys, exported, "best.pt", "does not match the sha256")


def test_extra_missing_and_unlisted_members_are_refused(capsys, exported):
    original = members_of(exported)
    write_zip(exported, {**original, "run.py": b"import os\n"})
    assert_refused_without_trace(capsys, exported, "'run.py'", "manifest does not list")
    write_zip(exported, {**original, "run.py": b"import os\n"}, fresh_manifest=True)
    assert_refused_without_trace(capsys, exported, "'run.py'", "never holds")
    write_zip(exported, {name: data for name, data in original.items() if name != "metrics.csv"})
    assert_refused_without_trace(capsys, exported, "lacks 'metrics.csv'")
    write_zip(exported, {name: data for name, data in original.items() if name != MANIFEST_NAME})
    assert_refused_without_trace(capsys, exported, "no manifest.json")
    without_latest = {name: data for name, data in original.items() if name != "checkpoints/latest.pt"}
    write_zip(exported, without_latest, fresh_manifest=True)
    assert_refused_without_trace(capsys, exported, "has no checkpoints/latest.pt")


@pytest.mark.parametrize(
    "name",
    [
        "../escaped.txt",
        "/tmp/escaped.txt",
        "checkpoints/../../escaped.txt",
        "C:/escaped.txt",
        "checkpoints\\..\\escaped.txt",
        "./config.yaml",
    ],
)
def test_a_name_that_would_escape_the_folder_is_refused(capsys, exported, name):
    members = members_of(exported)
    write_zip(exported, {**members, name: b"escaped"})
    assert_refused_without_trace(capsys, exported, "member named")
    assert not (exported.parent.parent / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()


def test_duplicate_members_and_lying_sizes_are_refused(capsys, exported):
    members = members_of(exported)
    with zipfile.ZipFile(exported, "a") as opened, pytest.warns(UserWarning, match="Duplicate name"):
        opened.writestr("config.yaml", b"env: CartPole-v1\n")
    assert_refused_without_trace(capsys, exported, "'config.yaml' twice")
    manifest = json.loads(members[MANIFEST_NAME])
    manifest["members"]["metrics.csv"]["size"] += 1
    write_zip(exported, {**members, MANIFEST_NAME: json.dumps(manifest).encode()})
    assert_refused_without_trace(capsys, exported, "metrics.csv", "by the manifest")
    manifest["members"]["metrics.csv"]["size"] = 10**12
    write_zip(exported, {**members, MANIFEST_NAME: json.dumps(manifest).encode()})
    assert_refused_without_trace(capsys, exported, "metrics.csv", "at most")
    write_zip(exported, {**members, MANIFEST_NAME: b" " * (65 * 1024)})
    assert_refused_without_trace(capsys, exported, "manifest.json is larger than")


@pytest.mark.parametrize(
    "manifest, phrase",
    [
        ({"format": "other"}, "not a marl run archive manifest"),
        ({"format": "marl-run-archive", "version": 7}, "version 7; this marl reads version 1"),
        ({"format": "marl-run-archive", "version": 1, "members": []}, "no mapping of members"),
        (
            {"format": "marl-run-archive", "version": 1, "members": {"config.yaml": {"size": "1", "sha256": "x"}}},
            "needs an integer size and a sha256",
        ),
        ("[1, 2", "cannot be read"),
    ],
)
def test_a_manifest_of_another_kind_is_refused(capsys, exported, manifest, phrase):
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    write_zip(exported, {**members_of(exported), MANIFEST_NAME: text.encode()})
    assert_refused_without_trace(capsys, exported, phrase)


def test_a_pickle_behind_a_matching_digest_is_refused_and_never_runs(capsys, exported, canary):
    members = members_of(exported)
    buffer = io.BytesIO()
    torch.save({"format": "marl-checkpoint", "version": 2, "state": os.system}, buffer)
    members["checkpoints/latest.pt"] = buffer.getvalue()
    write_zip(exported, members, fresh_manifest=True)
    assert_refused_without_trace(capsys, exported, "latest.pt", "not loaded")
    assert not canary.exists()


def test_an_archive_naming_code_imports_as_data_and_runs_nothing(capsys, exported, canary):
    members = members_of(exported)
    config = yaml.safe_load(members["config.yaml"])
    config["env"] = CODE_IDS[0]
    members["config.yaml"] = yaml.safe_dump(config).encode()
    write_zip(exported, members, fresh_manifest=True)
    target = exported.parent / "imported"
    code, _, err = run_marl(capsys, "import", exported, "--out", target)
    assert code == 0, err
    code, _, err = run_marl(capsys, "eval", target, "--episodes", 1)
    assert_one_line_refusal(code, err, "--trust-code")
    assert not canary.exists()


def test_fuzzed_archives_are_imported_whole_or_refused_in_one_line(capsys, exported, canary):
    rng = np.random.default_rng(SEED)
    original = exported.read_bytes()
    for round_index in range(FUZZ_ROUNDS):
        data = bytearray(original)
        if rng.random() < 0.5:
            offset, length = int(rng.integers(len(data))), int(rng.integers(1, 33))
            for index in range(offset, min(offset + length, len(data))):
                data[index] ^= int(rng.integers(1, 256))
            description = f"round {round_index}: bytes {offset}..{offset + length} flipped"
        else:
            cut = int(rng.integers(len(data)))
            data = data[:cut]
            description = f"round {round_index}: cut at byte {cut}"
        exported.write_bytes(bytes(data))
        target = exported.parent / "imported"
        code, _, err = run_marl(capsys, "import", exported, "--out", target)
        assert "Traceback" not in err and code in (0, 2), f"{description}: {err}"
        if code == 2:
            assert len(err.strip().splitlines()) == 1 and "error:" in err, f"{description}: {err}"
            assert not target.exists(), description
        else:  # only bytes the zip format does not read (a comment, padding) were changed
            assert (target / "checkpoints" / "latest.pt").read_bytes() == members_of_bytes(original)[
                "checkpoints/latest.pt"
            ], description
            shutil.rmtree(target)
        assert not [path for path in exported.parent.iterdir() if path.name.startswith(".")], description
        assert (exported.parent / "notes.txt").read_text() == "the user's notes", description
        assert not canary.exists(), description


def members_of_bytes(data: bytes) -> dict[str, bytes]:
    """Every member of an archive given as bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        return {info.filename: opened.read(info) for info in opened.infolist()}
