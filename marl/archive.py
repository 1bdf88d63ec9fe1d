"""Run archives: a run's config, metrics, checkpoints and model card as one checked zip file.

::

    manifest.json            {"format": "marl-run-archive", "version": 1, "run": NAME,
                              "members": {"config.yaml": {"size": BYTES, "sha256": HEX}, ...}}
    config.yaml              the run config
    metrics.csv              the metrics (when the run has them)
    checkpoints/latest.pt    the latest checkpoint
    checkpoints/best.pt      the best checkpoint (when the run has one)
    CARD.md                  the model card (when ``marl card`` wrote one)

An archive is a file from others. Importing one checks, before anything is written, that it is
a zip file whose members are exactly the manifest's, each a name a run archive may hold (so no
absolute path, ``..`` or stray file), of the size the manifest gives and within a bound, not
encrypted, and with the sha256 the manifest lists. The members are then written into a
temporary folder beside the target, the config and checkpoints are read back with their own
checks, and only then is the folder renamed into place. Nothing in an archive is executed:
checkpoints are read with ``weights_only=True`` and the config with YAML's safe loader.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from marl.algorithms import config_class
from marl.checkpoints import load_checkpoint
from marl.config import load_run_config
from marl.errors import UsageError
from marl.files import atomic_write_with
from marl.run_folder import DEFAULT_ROOT, RunFolder, check_creatable, slug

ARCHIVE_FORMAT = "marl-run-archive"
ARCHIVE_VERSION = 1
MANIFEST_NAME = "manifest.json"
MANIFEST_LIMIT = 64 * 1024
MEBIBYTE = 1024 * 1024
#: The members an archive may hold, in the order they are written, with the most bytes each may have.
MEMBER_LIMITS = {
    "config.yaml": MEBIBYTE,
    "metrics.csv": 256 * MEBIBYTE,
    "checkpoints/latest.pt": 2048 * MEBIBYTE,
    "checkpoints/best.pt": 2048 * MEBIBYTE,
    "CARD.md": MEBIBYTE,
}
REQUIRED_MEMBERS = ("config.yaml", "checkpoints/latest.pt")
CHUNK = MEBIBYTE
#: Every member gets this time stamp, so one run always makes the same archive bytes.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


class ArchiveError(UsageError):
    """An archive that cannot be imported: not a zip, damaged, tampered with or holding the wrong files."""


@dataclass(frozen=True)
class Member:
    """One file of an archive as its manifest describes it."""

    name: str
    size: int
    sha256: str


def run_members(folder: RunFolder) -> list[tuple[str, Path]]:
    """The files of ``folder`` an archive holds, as (member name, path), in archive order."""
    return [(name, folder.root / name) for name in MEMBER_LIMITS if (folder.root / name).is_file()]


def check_exportable(run_dir: str | Path) -> RunFolder:
    """A run folder whose config and checkpoints pass their own checks; refused in one line otherwise."""
    folder = RunFolder.open(run_dir)
    if not folder.latest.is_file():
        raise UsageError(f"{folder.root} has no checkpoint yet ({folder.latest}); train it before exporting")
    load_run_config(folder.config, config_class)
    for path in (folder.latest, folder.best):
        if path.is_file():
            load_checkpoint(path)
    for name, path in run_members(folder):
        if path.stat().st_size > MEMBER_LIMITS[name]:
            raise UsageError(
                f"{path} is larger than the {MEMBER_LIMITS[name] // MEBIBYTE} MiB a run archive holds for it"
            )
    return folder


def check_archive_target(path: Path, overwrite: bool) -> None:
    """Refuse an archive path without ``.zip``, an existing file (unless ``overwrite``) or an unwritable place."""
    if path.suffix.lower() != ".zip":
        raise UsageError(f"{path}: a run archive is a .zip file; name it e.g. {path.with_suffix('.zip').name}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the path of the .zip file to write")
    if path.exists() and not overwrite:
        raise UsageError(f"{path} already exists; replace it with --overwrite or choose another name")
    check_creatable(path.parent, "folder of the archive")


def copy_hashing(source: IO[bytes], target: IO[bytes] | None, limit: int) -> tuple[int, str]:
    """Copy ``source`` to ``target`` (if any) in chunks; (bytes, sha256). Stops one byte past ``limit``."""
    digest = hashlib.sha256()
    size = 0
    while size <= limit:
        chunk = source.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        digest.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return size, digest.hexdigest()


def zip_info(name: str) -> zipfile.ZipInfo:
    """A member header with a fixed date, compression and ordinary file permissions."""
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write_archive(folder: RunFolder, handle: IO[bytes]) -> dict[str, Any]:
    """Write the archive of ``folder`` into ``handle``; returns the manifest written last.

    Each file is read once, hashing exactly the bytes that go into the archive.
    """
    members: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(handle, "w") as archive:
        for name, path in run_members(folder):
            with path.open("rb") as source, archive.open(zip_info(name), "w", force_zip64=True) as target:
                size, sha256 = copy_hashing(source, target, MEMBER_LIMITS[name])
            members[name] = {"size": size, "sha256": sha256}
        manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "run": folder.root.name, "members": members}
        archive.writestr(zip_info(MANIFEST_NAME), json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def export_run(run_dir: str | Path, archive_path: str | Path, overwrite: bool = False) -> dict[str, Any]:
    """Check the run, then write its archive atomically; returns the manifest."""
    archive_path = Path(archive_path)
    check_archive_target(archive_path, overwrite)
    folder = check_exportable(run_dir)
    manifest: dict[str, Any] = {}

    def write(handle: IO[bytes]) -> None:
        manifest.update(write_archive(folder, handle))

    atomic_write_with(archive_path, write)
    return manifest


# ---------------------------------------------------------------------------------------------
# Import


def unsafe_name_problem(name: str) -> str | None:
    """Why a member name could write outside the target folder, or None when it cannot."""
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if "\\" in name or "\0" in name:
        return "holds a backslash or NUL"
    if any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
        return "holds an empty, '.' or '..' part"
    return None


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open ``path`` as a zip file, or refuse in one line."""
    if not path.is_file():
        raise ArchiveError(f"archive {path} does not exist" if not path.exists() else f"{path} is not a file")
    limit = MANIFEST_LIMIT + sum(MEMBER_LIMITS.values()) + MEBIBYTE
    if path.stat().st_size > limit:
        raise ArchiveError(f"{path} is larger than any run archive can be ({limit // MEBIBYTE} MiB)")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as error:
        raise ArchiveError(
            f"{path} is not a readable zip archive (truncated or another kind of file): {first_line(error)}"
        ) from None


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def read_manifest(path: Path, archive: zipfile.ZipFile) -> list[Member]:
    """The members the manifest lists, after checking the archive holds exactly those, safely named."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    for name in names:
        problem = unsafe_name_problem(name)
        if problem is not None:
            raise ArchiveError(f"{path} holds a member named {name[:80]!r}, which {problem}; it was not imported")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ArchiveError(f"{path} holds the member {repeated[0]!r} twice; it was not imported")
    if MANIFEST_NAME not in names:
        raise ArchiveError(f"{path} has no {MANIFEST_NAME}, so it is not a marl run archive (marl export makes one)")
    manifest = parse_manifest(path, archive, archive.getinfo(MANIFEST_NAME))
    members = [Member(name, entry["size"], entry["sha256"]) for name, entry in manifest["members"].items()]
    listed = {member.name for member in members}
    extra = sorted(set(names) - listed - {MANIFEST_NAME})
    if extra:
        raise ArchiveError(f"{path} holds {extra[0]!r}, which its manifest does not list; it was not imported")
    missing = sorted(listed - set(names))
    if missing:
        raise ArchiveError(f"{path} lacks {missing[0]!r}, which its manifest lists; the archive is incomplete")
    for member in members:
        check_member_header(path, archive.getinfo(member.name), member)
    return sorted(members, key=lambda member: list(MEMBER_LIMITS).index(member.name))


def parse_manifest(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, Any]:
    """The manifest as checked data: format, version, and a size and sha256 for each allowed member."""
    if info.file_size > MANIFEST_LIMIT:
        raise ArchiveError(f"{path}: {MANIFEST_NAME} is larger than {MANIFEST_LIMIT // 1024} KiB; not a run archive")
    try:
        with archive.open(info) as handle:
            manifest = json.loads(handle.read(MANIFEST_LIMIT + 1).decode("utf-8"))
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        UnicodeDecodeError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as error:
        raise ArchiveError(f"{path}: {MANIFEST_NAME} cannot be read: {first_line(error)}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(f"{path}: {MANIFEST_NAME} is not a marl run archive manifest (no {ARCHIVE_FORMAT!r} format)")
    if manifest.get("version") != ARCHIVE_VERSION:
        raise ArchiveError(
            f"{path} is a run archive of version {manifest.get('version')!r}; this marl reads version {ARCHIVE_VERSION}"
        )
    members = manifest.get("members")
    if not isinstance(members, dict):
        raise ArchiveError(f"{path}: {MANIFEST_NAME} has no mapping of members")
    for name, entry in members.items():
        if name not in MEMBER_LIMITS:
            raise ArchiveError(
                f"{path}: the manifest lists {str(name)[:80]!r}, which a run archive never holds "
                f"(only {', '.join(MEMBER_LIMITS)})"
            )
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("size"), int)
            or isinstance(entry["size"], bool)
            or not isinstance(entry.get("sha256"), str)
            or not SHA256_PATTERN.fullmatch(entry["sha256"])
        ):
            raise ArchiveError(f"{path}: the manifest entry of {name} needs an integer size and a sha256 hex digest")
        if not 0 <= entry["size"] <= MEMBER_LIMITS[name]:
            raise ArchiveError(
                f"{path}: {name} is {entry['size']} bytes by the manifest; at most {MEMBER_LIMITS[name]} are allowed"
            )
    for name in REQUIRED_MEMBERS:
        if name not in members:
            raise ArchiveError(f"{path} has no {name}; a run archive needs {' and '.join(REQUIRED_MEMBERS)}")
    return manifest


def check_member_header(path: Path, info: zipfile.ZipInfo, member: Member) -> None:
    """The zip header of a member must agree with the manifest and be readable without secrets."""
    if info.is_dir():
        raise ArchiveError(f"{path}: {member.name} is a folder in the archive, not a file")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{path}: {member.name} is encrypted; a run archive is not")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(
            f"{path}: {member.name} uses compression method {info.compress_type}; run archives use deflate"
        )
    if info.file_size != member.size:
        raise ArchiveError(
            f"{path}: {member.name} is {info.file_size} bytes in the zip but {member.size} by the "
            "manifest; the archive was altered"
        )


def read_member(path: Path, archive: zipfile.ZipFile, member: Member, target: IO[bytes] | None) -> None:
    """Stream one member (into ``target`` when given) and refuse it unless size and sha256 match the manifest."""
    # Reading errors are the archive's fault; a failed write (a full disk) goes to the caller as it is.
    try:
        with archive.open(member.name) as source:
            size, sha256 = copy_hashing(source, target, member.size)
    except OSError as error:
        if target is not None:
            raise
        raise ArchiveError(f"{path}: {member.name} is damaged: {first_line(error)}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        raise ArchiveError(f"{path}: {member.name} is damaged: {first_line(error)}") from None
    if size != member.size or sha256 != member.sha256:
        raise ArchiveError(
            f"{path}: {member.name} does not match the sha256 its manifest lists; the archive is "
            "corrupt or was altered, and nothing was imported"
        )


def verify_archive(path: str | Path) -> list[Member]:
    """Every check of an archive that needs no writing: structure, names, sizes and digests."""
    path = Path(path)
    with open_zip(path) as archive:
        members = read_manifest(path, archive)
        for member in members:
            read_member(path, archive, member, None)
    return members


def default_import_path(name: str, root: Path = DEFAULT_ROOT) -> Path:
    """``runs/<name>`` for an archive named ``name`` (made safe as a folder name)."""
    return root / slug(name)


def check_imported(folder: Path) -> None:
    """Read the written config and checkpoints back through their own checks (digests, formats, keys)."""
    load_run_config(folder / "config.yaml", config_class)
    for name in ("checkpoints/latest.pt", "checkpoints/best.pt"):
        if (folder / name).is_file():
            load_checkpoint(folder / name)


def import_archive(path: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Check the archive, then unpack it into the run folder ``out``, atomically; returns ``out``.

    ``out`` must not exist, or, with ``overwrite``, be a run folder marl created holding only
    what marl writes (as ``marl train --overwrite``). Every check of the archive happens
    before anything is written; the members are then written to a temporary folder beside
    ``out``, read back through the checks of configs and checkpoints, and renamed into place.
    """
    path, target = Path(path), RunFolder(out)
    replace = target.check_available(overwrite)
    with open_zip(path) as archive:
        members = read_manifest(path, archive)
        for member in members:
            read_member(path, archive, member, None)
        target.root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.root.name}.", suffix=".import", dir=target.root.parent))
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staging, 0o777 & ~umask)  # mkdtemp's folder is private; a run folder is not
            for member in members:
                destination = staging / member.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                with destination.open("wb") as handle:
                    read_member(path, archive, member, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
            RunFolder(staging).make_directories()
            try:
                check_imported(staging)
            except UsageError as error:  # name the member, not the temporary folder that is about to go
                raise ArchiveError(f"{path}: " + str(error).replace(f"{staging}{os.sep}", "")) from None
            move_into_place(staging, target.root, replace)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target.root


def move_into_place(staging: Path, target: Path, replace: bool) -> None:
    """Rename ``staging`` to ``target``; an old ``target`` (``replace``) is moved aside first, then deleted."""
    if not replace:
        os.rename(staging, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rename(target, aside / target.name)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(aside / target.name, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)
