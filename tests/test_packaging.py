"""The distribution as users receive it: ``python -m build`` makes an sdist and, from it, a wheel
that holds every file of the four packages, declares the ``marl`` command and the environment
registry, carries the one version that ``marl --version`` prints and every extra the docs name;
installed alone into a clean virtual environment, the wheel's ``marl envs`` lists the arena.

The sources are copied to a temporary folder first, so that the build writes nothing into the
repository; the build runs without isolation (``build`` and ``setuptools`` come with the dev
extra), so it needs no network.
"""

from __future__ import annotations

import configparser
import email.parser
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

import marl
from marl.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "envs", "replays", "marl")
#: What the build reads besides the packages (pyproject.toml names README.md as the long description).
BUILD_INPUTS = ("pyproject.toml", "README.md")
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "benchmarks" / "README.md"]


@dataclass(frozen=True)
class Distributions:
    """The sdist and the wheel that ``python -m build`` made from one copy of the sources."""

    sdist: Path
    wheel: Path


def package_files(root: Path) -> set[str]:
    """Every file of the four packages under ``root`` as a '/'-separated relative path, caches left out."""
    return {
        path.relative_to(root).as_posix()
        for package in PACKAGES
        for path in (root / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def copy_sources(destination: Path) -> None:
    """The build inputs and the four packages, without caches, under ``destination``."""
    for name in BUILD_INPUTS:
        shutil.copy2(ROOT / name, destination / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, destination / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    sources = tmp_path_factory.mktemp("sources")
    output = tmp_path_factory.mktemp("dist")
    copy_sources(sources)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(output), str(sources)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (sdist,) = output.glob("*.tar.gz")
    (wheel,) = output.glob("*.whl")
    return Distributions(sdist, wheel)


def wheel_text(wheel: Path, name: str) -> str:
    """The text of ``name`` in the wheel's ``.dist-info`` folder."""
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [item for item in archive.namelist() if item.endswith(f".dist-info/{name}")]
        return archive.read(member).decode("utf-8")


def wheel_metadata(wheel: Path) -> Message:
    """The wheel's core metadata (``METADATA``, an email-style header block)."""
    return email.parser.Parser().parsestr(wheel_text(wheel, "METADATA"), headersonly=True)


def extras_named_in_the_docs() -> dict[str, str]:
    """Every extra that an install command in the docs names (``marl-arena[ray]``, ``'.[dev]'``), with a place."""
    extras: dict[str, str] = {}
    pattern = re.compile(r"(?:marl-arena|(?<![\w/])\.)\[([\w,\s-]+)\]")
    for document in DOCUMENTS:
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1):
            if "pip install" not in line:
                continue
            for match in pattern.finditer(line):
                for extra in match.group(1).split(","):
                    extras.setdefault(extra.strip(), f"{document.relative_to(ROOT)}:{number}")
    return extras


def test_the_wheel_holds_every_file_of_the_four_packages_and_nothing_else(distributions: Distributions):
    with zipfile.ZipFile(distributions.wheel) as archive:
        names = {name for name in archive.namelist() if not name.endswith("/")}
    packaged = {name for name in names if name.split("/", 1)[0] in PACKAGES}
    assert package_files(ROOT) - packaged == set(), "files of the packages missing from the wheel"
    assert packaged - package_files(ROOT) == set(), "files in the wheel that the packages do not have"
    others = {name.split("/", 1)[0] for name in names - packaged}
    assert others == {distributions.wheel.name.split("-py3")[0] + ".dist-info"}


def test_the_sdist_holds_the_build_inputs_and_every_file_of_the_packages(distributions: Distributions):
    with tarfile.open(distributions.sdist) as archive:
        top, *_ = archive.getnames()[0].split("/")
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert top == distributions.sdist.name.removesuffix(".tar.gz")
    assert {*BUILD_INPUTS, "PKG-INFO"} <= names
    assert package_files(ROOT) <= names


def test_the_wheel_declares_the_marl_command_and_the_environment_registry(distributions: Distributions):
    entry_points = configparser.ConfigParser()
    entry_points.read_string(wheel_text(distributions.wheel, "entry_points.txt"))
    assert dict(entry_points["console_scripts"]) == {"marl": "marl.cli:main"}
    assert dict(entry_points["marl_arena.environments"]) == {"suite": "envs.registry"}
    with zipfile.ZipFile(distributions.wheel) as archive:
        assert {"marl/cli.py", "envs/registry.py"} <= set(archive.namelist())


def test_the_version_is_written_once_and_marl_version_prints_it(
    distributions: Distributions, capsys: pytest.CaptureFixture[str]
):
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", marl.__version__)
    assert wheel_metadata(distributions.wheel)["Version"] == marl.__version__
    assert distributions.wheel.name.startswith(f"marl_arena-{marl.__version__}-")
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"marl {marl.__version__}\n"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]


def test_every_extra_the_docs_install_exists(distributions: Distributions):
    named = extras_named_in_the_docs()
    assert {"ray", "tune", "dev"} <= set(named), named  # the docs install these; fewer means the reader broke
    declared = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    )
    provided = set(wheel_metadata(distributions.wheel).get_all("Provides-Extra") or [])
    for extra, place in named.items():
        assert extra in declared, f"{place} installs the extra [{extra}], which pyproject.toml does not declare"
    assert declared == provided
    ray_requirements = [
        requirement
        for requirement in wheel_metadata(distributions.wheel).get_all("Requires-Dist") or []
        if requirement.endswith('extra == "ray"')
    ]
    assert [requirement.split(">=")[0] for requirement in ray_requirements] == ["ray[default]"]


def dependency_paths() -> list[str]:
    """The site-packages folders of the running interpreter, where the project's dependencies are installed."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def test_the_wheel_alone_in_a_clean_environment_lists_the_environments(distributions: Distributions, tmp_path: Path):
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True, timeout=120)
    python = environment / "bin" / "python"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(distributions.wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    # The dependencies come from this interpreter's site-packages, named as plain paths: a .pth
    # line only appends its folder to sys.path, so the .pth files inside it (the editable
    # install's finder, which would map marl to this repository) are not run.
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(
        subprocess.run([str(python), "-c", where], capture_output=True, text=True, check=True).stdout.strip()
    )
    (site_packages / "dependencies.pth").write_text("\n".join(dependency_paths()) + "\n", encoding="utf-8")
    variables = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME")}
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    located = subprocess.run(
        [
            str(python),
            "-c",
            "import marl, envs, importlib.metadata as m; print(marl.__file__, envs.__file__, m.version('marl-arena'))",
        ],
        cwd=outside,
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert located.returncode == 0, located.stderr[-3000:]
    marl_file, envs_file, version = located.stdout.split()
    assert Path(marl_file).is_relative_to(site_packages) and Path(envs_file).is_relative_to(site_packages)
    assert version == marl.__version__

    listed = subprocess.run(
        [str(environment / "bin" / "marl"), "envs"],
        cwd=outside,
        env=variables,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert re.search(r"^hide_and_seek_v0\s", listed.stdout, flags=re.MULTILINE), listed.stdout
