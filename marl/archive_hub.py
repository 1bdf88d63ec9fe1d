"""Run archives on the Hugging Face Hub: push one to a model repository, pull one back.

A model repository holds the archive as ``marl-run.zip`` and the run's model card as its
``README.md``. Pulling downloads ``marl-run.zip`` and imports it through exactly the checks of a
local archive (:func:`marl.archive.import_archive`). The client is ``huggingface_hub.HfApi``
(the optional extra ``hub``; it finds the token of ``huggingface-cli login`` or ``HF_TOKEN``);
any object with its ``create_repo``, ``create_branch``, ``upload_file`` and ``hf_hub_download`` methods
will do.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from marl.errors import UsageError

#: The archive's file name inside a model repository.
HUB_ARCHIVE_NAME = "marl-run.zip"
HUB_CARD_NAME = "README.md"
#: ``user/name``: letters, digits, ``-``, ``_`` and ``.``, as the Hub allows repository ids.
REPO_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


def check_repo_id(repo_id: str) -> str:
    """Refuse anything but ``user/name`` (no ``..``, no ``--``, no trailing ``.``)."""
    if not REPO_ID_PATTERN.fullmatch(repo_id) or ".." in repo_id or "--" in repo_id or repo_id.endswith("."):
        raise UsageError(
            f"--hub {repo_id!r} is not a Hugging Face repository id; write it as user/name, e.g. "
            "alice/hide-and-seek-mappo"
        )
    return repo_id


def hub_client() -> Any:
    """``huggingface_hub.HfApi()``, or one line naming the extra that installs it."""
    if importlib.util.find_spec("huggingface_hub") is None:
        raise UsageError("--hub needs the huggingface_hub package: pip install 'marl-arena[hub]'")
    from huggingface_hub import HfApi

    return HfApi()


def hub_call(what: str, call: Any, **arguments: Any) -> Any:
    """Run one client call; any failure (network, permission, missing repository) is one line."""
    try:
        return call(**arguments)
    except Exception as error:  # the client raises HTTP, network and validation errors of many types
        lines = str(error).strip().splitlines()
        reason = lines[0] if lines else type(error).__name__
        raise UsageError(f"the Hugging Face Hub {what} failed: {reason}") from None


def push_run(client: Any, repo_id: str, archive: Path, card: Path, revision: str | None = None) -> str:
    """Create the model repository (and the branch ``revision``) if needed and upload the archive and the card."""
    check_repo_id(repo_id)
    hub_call(f"creation of {repo_id}", client.create_repo, repo_id=repo_id, repo_type="model", exist_ok=True)
    if revision is not None:
        hub_call(
            f"creation of the branch {revision} of {repo_id}",
            client.create_branch,
            repo_id=repo_id,
            branch=revision,
            repo_type="model",
            exist_ok=True,
        )
    for source, name in ((archive, HUB_ARCHIVE_NAME), (card, HUB_CARD_NAME)):
        hub_call(
            f"upload of {name} to {repo_id}",
            client.upload_file,
            path_or_fileobj=str(source),
            path_in_repo=name,
            repo_id=repo_id,
            repo_type="model",
            revision=revision,
            commit_message=f"marl export: {name}",
        )
    return repo_id


def pull_archive(client: Any, repo_id: str, revision: str | None = None) -> Path:
    """Download the repository's ``marl-run.zip`` (into the Hub's cache); returns its local path."""
    check_repo_id(repo_id)
    local = hub_call(
        f"download of {HUB_ARCHIVE_NAME} from {repo_id}",
        client.hf_hub_download,
        repo_id=repo_id,
        filename=HUB_ARCHIVE_NAME,
        repo_type="model",
        revision=revision,
    )
    return Path(local)
