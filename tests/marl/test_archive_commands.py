"""``marl export`` / ``marl import``: a run survives the round trip byte for byte and stays usable;
the Hugging Face Hub calls are checked on a fake client (no network)."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import zipfile
from pathlib import Path

import pytest

from marl.archive import ARCHIVE_FORMAT, MANIFEST_NAME, import_archive
from marl.archive_hub import HUB_ARCHIVE_NAME
from marl.cli import main

#: One update of 2 x 16 steps of navigation_v0 with five-step episodes; one evaluation episode.
TINY = [
    "--no-progress",
    "--steps",
    "32",
    "--set",
    "algo.n_envs=2",
    "--set",
    "algo.n_steps=16",
    "--set",
    "algo.n_epochs=1",
    "--set",
    "algo.minibatch_size=32",
    "--set",
    "eval_episodes=1",
    "--set",
    "env.max_cycles=5",
]


def run_marl(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def navigation_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("archive") / "nav"
    assert main(["train", "navigation_v0", "--algo", "ippo", "--out", str(run), *TINY]) == 0
    (run / "CARD.md").write_text("# nav\n\nA card.\n")
    return run


def test_the_archive_holds_the_runs_files_with_their_digests(navigation_run, tmp_path, capsys):
    archive = tmp_path / "nav.zip"
    code, out, err = run_marl(capsys, "export", navigation_run, archive)
    assert code == 0, err
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        manifest = json.loads(opened.read(MANIFEST_NAME))
        contents = {name: opened.read(name) for name in names if name != MANIFEST_NAME}
    assert names == [
        "config.yaml",
        "metrics.csv",
        "checkpoints/latest.pt",
        "checkpoints/best.pt",
        "CARD.md",
        MANIFEST_NAME,
    ]
    assert manifest["format"] == ARCHIVE_FORMAT and manifest["version"] == 1 and manifest["run"] == "nav"
    for name, data in contents.items():
        assert data == (navigation_run / name).read_bytes()
        assert manifest["members"][name] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert run_marl(capsys, "export", navigation_run, tmp_path / "again.zip")[0] == 0
    assert (tmp_path / "again.zip").read_bytes() == archive.read_bytes()  # fixed dates: one run, one archive


def test_an_imported_run_is_the_same_run_and_marl_eval_and_replay_accept_it(navigation_run, tmp_path, capsys):
    archive = tmp_path / "nav.zip"
    assert run_marl(capsys, "export", navigation_run, archive)[0] == 0
    target = tmp_path / "imported"
    code, out, err = run_marl(capsys, "import", archive, "--out", target)
    assert code == 0, err
    for name in ("config.yaml", "metrics.csv", "checkpoints/latest.pt", "checkpoints/best.pt", "CARD.md"):
        assert (target / name).read_bytes() == (navigation_run / name).read_bytes()
    assert (target / ".marl-run").is_file()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging left behind
    evaluations = []
    for run in (navigation_run, target):
        code, out, err = run_marl(capsys, "eval", run, "--json", "--episodes", 2, "--deterministic")
        assert code == 0, err
        evaluations.append(json.loads(out))
    assert evaluations[0] == evaluations[1]
    code, out, err = run_marl(capsys, "eval", target, "--record", "--episodes", 1)
    assert code == 0, err
    code, out, err = run_marl(capsys, "replay", target, "--stats")
    assert code == 0, err


def test_import_refuses_an_existing_folder_unless_overwrite_and_replaces_it_whole(navigation_run, tmp_path, capsys):
    archive = tmp_path / "nav.zip"
    assert run_marl(capsys, "export", navigation_run, archive)[0] == 0
    target = tmp_path / "runs" / "nav"
    assert run_marl(capsys, "import", archive, "--out", target)[0] == 0
    (target / "checkpoints" / "step_0000000016.pt").write_bytes(b"old snapshot")
    code, _, err = run_marl(capsys, "import", archive, "--out", target)
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert run_marl(capsys, "import", archive, "--out", target, "--overwrite")[0] == 0
    assert not (target / "checkpoints" / "step_0000000016.pt").exists()
    assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == ["nav"]
    code, _, err = run_marl(capsys, "export", navigation_run, archive)
    assert code == 2 and "already exists; replace it with --overwrite" in err


def test_export_refuses_what_is_not_an_exportable_run_in_one_line(tmp_path, capsys):
    for arguments, phrase in (
        ((tmp_path, tmp_path / "a.zip"), "not a run folder"),
        ((tmp_path, tmp_path / "a.tar"), "a run archive is a .zip file"),
        ((tmp_path,), "give the archive to write"),
    ):
        code, _, err = run_marl(capsys, "export", *arguments)
        assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1, err


class FakeHub:
    """Records the calls ``huggingface_hub.HfApi`` would get; downloads serve what was uploaded.

    When huggingface_hub is installed, every call's arguments are bound to the real method's
    signature, so a misspelt or missing argument fails here as it would against the Hub.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls: list[tuple[str, dict]] = []
        self.files: dict[tuple[str, str], bytes] = {}

    def record(self, name: str, arguments: dict) -> None:
        self.calls.append((name, arguments))
        if importlib.util.find_spec("huggingface_hub") is not None:
            from huggingface_hub import HfApi

            inspect.signature(getattr(HfApi, name)).bind(HfApi, **arguments)

    def create_repo(self, **arguments):
        self.record("create_repo", arguments)

    def create_branch(self, **arguments):
        self.record("create_branch", arguments)

    def upload_file(self, **arguments):
        self.record("upload_file", arguments)
        self.files[(arguments["repo_id"], arguments["path_in_repo"])] = Path(arguments["path_or_fileobj"]).read_bytes()

    def hf_hub_download(self, **arguments):
        self.record("hf_hub_download", arguments)
        key = (arguments["repo_id"], arguments["filename"])
        if key not in self.files:
            raise FileNotFoundError(f"404 Client Error: {arguments['filename']} not found in {arguments['repo_id']}")
        local = self.folder / "cache" / arguments["repo_id"] / arguments["filename"]
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(self.files[key])
        return str(local)


def test_hub_push_and_pull_make_the_expected_calls_and_the_same_run(navigation_run, tmp_path, capsys, monkeypatch):
    hub = FakeHub(tmp_path)
    monkeypatch.setattr("marl.commands.export.hub_client", lambda: hub)
    monkeypatch.setattr("marl.commands.import_.hub_client", lambda: hub)
    code, out, err = run_marl(capsys, "export", navigation_run, "--hub", "alice/nav-ippo")
    assert code == 0, err
    assert [name for name, _ in hub.calls] == ["create_repo", "upload_file", "upload_file"]
    assert hub.calls[0][1] == {"repo_id": "alice/nav-ippo", "repo_type": "model", "exist_ok": True}
    uploads = [(call["path_in_repo"], call["repo_type"], call["revision"]) for _, call in hub.calls[1:]]
    assert uploads == [(HUB_ARCHIVE_NAME, "model", None), ("README.md", "model", None)]
    assert hub.files[("alice/nav-ippo", "README.md")] == (navigation_run / "CARD.md").read_bytes()
    local = tmp_path / "local.zip"
    assert run_marl(capsys, "export", navigation_run, local)[0] == 0
    assert hub.files[("alice/nav-ippo", HUB_ARCHIVE_NAME)] == local.read_bytes()
    code, out, err = run_marl(capsys, "export", navigation_run, "--hub", "alice/nav-ippo", "--revision", "v1")
    assert code == 0, err
    assert hub.calls[-3] == (
        "create_branch",
        {"repo_id": "alice/nav-ippo", "branch": "v1", "repo_type": "model", "exist_ok": True},
    )
    assert [call["revision"] for _, call in hub.calls[-2:]] == ["v1", "v1"]

    code, out, err = run_marl(
        capsys, "import", "--hub", "alice/nav-ippo", "--revision", "v1", "--out", tmp_path / "got"
    )
    assert code == 0, err
    assert hub.calls[-1] == (
        "hf_hub_download",
        {"repo_id": "alice/nav-ippo", "filename": HUB_ARCHIVE_NAME, "repo_type": "model", "revision": "v1"},
    )
    assert (tmp_path / "got" / "checkpoints" / "latest.pt").read_bytes() == (
        navigation_run / "checkpoints" / "latest.pt"
    ).read_bytes()

    code, _, err = run_marl(capsys, "import", "--hub", "alice/missing", "--out", tmp_path / "none")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "download of marl-run.zip from alice/missing failed: 404 Client Error" in err
    for bad in ("alice", "../etc/passwd", "alice/../x", "a/b/c", "alice/x y"):
        code, _, err = run_marl(capsys, "import", "--hub", bad)
        assert code == 2 and "is not a Hugging Face repository id" in err, bad
    assert not (tmp_path / "none").exists()


def test_hub_needs_the_extra_and_a_card(navigation_run, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    code, _, err = run_marl(capsys, "import", "--hub", "alice/nav")
    assert code == 2 and "pip install 'marl-arena[hub]'" in err
    monkeypatch.setattr("marl.commands.export.hub_client", lambda: FakeHub(tmp_path))
    bare = tmp_path / "bare.zip"
    assert run_marl(capsys, "export", navigation_run, bare)[0] == 0
    import_archive(bare, tmp_path / "no-card")
    (tmp_path / "no-card" / "CARD.md").unlink()
    code, _, err = run_marl(capsys, "export", tmp_path / "no-card", "--hub", "alice/nav")
    assert code == 2 and "has no CARD.md" in err and "marl card" in err
