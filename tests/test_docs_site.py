"""The documentation site (``make docs``): MkDocs builds it strictly from the repository's own
Markdown, with README.md as the home page and every relative link and anchor checked.

The build runs in a subprocess, as ``make docs`` runs it; a second, small repository written
here shows that a broken link of each kind fails the build and names the link.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "docs" / "repository_site.py"


def load_hooks() -> ModuleType:
    """The hook module, loaded from its file as MkDocs loads it."""
    specification = importlib.util.spec_from_file_location("repository_site", HOOKS)
    assert specification is not None and specification.loader is not None
    module = importlib.util.module_from_spec(specification)
    specification.loader.exec_module(module)
    return module


hooks = load_hooks()


def build_site(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build`` of ``config`` into ``site``, as ``make docs`` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("`marl train`: train into a run folder", "marl-train-train-into-a-run-folder"),
        ("Turn-based games (AEC)", "turn-based-games-aec"),
        ("Fidelity, rule by rule", "fidelity-rule-by-rule"),
        ("Speed — before and after", "speed--before-and-after"),
        ("snake_case names & 2D/3D", "snake_case-names--2d3d"),
        ("Größe des Arenas", "größe-des-arenas"),
    ],
)
def test_headings_take_githubs_anchors(heading: str, anchor: str):
    assert hooks.github_heading_anchor(heading) == anchor


def test_link_targets_are_read_as_repository_paths_outside_code():
    markdown = "\n".join(
        [
            'See [the guide](cli.md#resume), ![a picture](images/a.png "title") and [the root](../README.md).',
            "[a script]: ../benchmarks/arena_speed.py",
            "[out](../../elsewhere.txt) [web](https://example.org/x.py) [here](#top) [abs](/x.md)",
            "`[not a link](inline.py)`",
            "```python",
            "print('[not a link](fenced.py)')",
            "```",
        ]
    )
    assert list(hooks.linked_paths(markdown, "docs/guide.md")) == [
        "docs/cli.md",
        "docs/images/a.png",
        "README.md",
        "benchmarks/arena_speed.py",
        "../elsewhere.txt",
    ]


def test_the_site_builds_strictly_from_the_repository(tmp_path: Path):
    site = tmp_path / "site"
    built = build_site(ROOT / "mkdocs.yml", site)
    assert built.returncode == 0, built.stderr[-3000:]
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "marl-arena" in home and 'href="docs/cli/"' in home
    for page in sorted((ROOT / "docs").rglob("*.md")):
        relative = page.relative_to(ROOT).with_suffix("")
        folder = relative.parent if relative.name == "README" else relative
        assert (site / folder / "index.html").is_file(), f"{page.relative_to(ROOT)} is not on the site"
    assert (site / "benchmarks" / "index.html").is_file() and (site / "CHANGELOG" / "index.html").is_file()
    # Files the pages link to are published at their repository paths; files nothing links to are not.
    assert (site / "docs" / "envs" / "custom_env_example.py").is_file()
    assert (site / "docs" / "images" / "arena_overhead.png").is_file()
    assert not (site / "docs" / HOOKS.name).exists()


def write_repository(root: Path, guide_links: str) -> Path:
    """A small repository with the project's site settings, a README, one guide and one script."""
    settings = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    settings["hooks"] = [str(HOOKS)]
    settings["nav"] = [{"Home": "README.md"}, {"Guide": "docs/guide.md"}]
    settings.pop("watch", None)  # the project's pages outside docs/, which this repository does not have
    (root / "docs").mkdir()
    (root / "benchmarks").mkdir()
    (root / "mkdocs.yml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    (root / "README.md").write_text(
        "# Home\n\nRead [the guide](docs/guide.md#usage).\n\n## Figures\n", encoding="utf-8"
    )
    (root / "benchmarks" / "speed.py").write_text("print('fast')\n", encoding="utf-8")
    (root / "docs" / "guide.md").write_text(f"# Guide\n\n## Usage\n\n{guide_links}\n", encoding="utf-8")
    return root / "mkdocs.yml"


def test_links_to_pages_anchors_and_repository_files_build(tmp_path: Path):
    config = write_repository(
        tmp_path, "[script](../benchmarks/speed.py), [figures](../README.md#figures), [up](#usage)"
    )
    built = build_site(config, tmp_path / "site")
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "site" / "benchmarks" / "speed.py").read_text(encoding="utf-8") == "print('fast')\n"


#: Broken links of each kind, and how the build names each.
BROKEN_LINKS = {
    "../benchmarks/missing.py": "'../benchmarks/missing.py'",  # a repository file that does not exist
    "../README.md#no-such-heading": "anchor '#no-such-heading'",  # an anchor the page does not have
    "../../outside.txt": "'../../outside.txt'",  # a file outside the repository
    "../benchmarks/": "'../benchmarks/'",  # a folder, which the site cannot show
    "other.md": "'other.md'",  # a page that does not exist
}


def test_every_broken_link_fails_the_build_and_is_named(tmp_path: Path):
    config = write_repository(tmp_path, " ".join(f"[broken]({link})" for link in BROKEN_LINKS))
    built = build_site(config, tmp_path / "site")
    assert built.returncode != 0
    warnings = [line for line in built.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == len(BROKEN_LINKS), built.stderr
    for link, named in BROKEN_LINKS.items():
        assert any("'docs/guide.md' contains" in line and named in line for line in warnings), (link, built.stderr)


def test_a_guide_left_out_of_the_navigation_fails_the_build(tmp_path: Path):
    config = write_repository(tmp_path, "Nothing to link.")
    (tmp_path / "docs" / "forgotten.md").write_text("# Forgotten\n", encoding="utf-8")
    built = build_site(config, tmp_path / "site")
    assert built.returncode != 0 and "docs/forgotten.md" in built.stderr
