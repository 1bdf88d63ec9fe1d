"""MkDocs hooks that build the documentation site from the repository as it is laid out.

The pages keep their repository paths: ``README.md`` is the home page, ``docs/...`` and
``benchmarks/README.md`` stay where they are, so every relative link written for the repository
(``docs/cli.md`` from the README, ``../benchmarks/arena_speed.py`` from a guide) is also a link of
the site. The pages are the Markdown files under ``docs/`` and those that ``nav`` names elsewhere;
the other files they link to (pictures, example and benchmark scripts) are published beside them.
MkDocs' own validation then checks every relative link and anchor: a link to a file that does not
exist, outside the repository, or to a folder fails the strict build. Headings take GitHub's
anchors, so an anchor written for the repository's view of a page is the site's anchor too.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

#: Fenced code blocks and inline code, whose bracketed text is not a link.
CODE = re.compile(r"^(```|~~~).*?^\1[ \t]*$|`[^`\n]*`", flags=re.MULTILINE | re.DOTALL)
#: ``[text](target "title")``, ``![alt](target)`` and reference definitions ``[name]: target``.
LINK_TARGET = re.compile(
    r"\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*)?\)|^[ ]{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", flags=re.MULTILINE
)


def github_heading_anchor(text: str, separator: str = "-") -> str:
    """The anchor GitHub gives a heading: lower case, only letters, digits, marks, '_', '-' and
    spaces kept, each space a hyphen (``separator`` is accepted for Python-Markdown and unused)."""
    kept = "".join(
        character
        for character in text.strip().lower()
        if character in " -_" or unicodedata.category(character)[0] in "LNM"
    )
    return kept.replace(" ", "-")


def nav_paths(nav: Any) -> Iterator[str]:
    """Every page path in a ``nav`` configuration (nested sections included, external links left out)."""
    if isinstance(nav, str):
        if "://" not in nav:
            yield nav
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from nav_paths(value)
    elif isinstance(nav, list):
        for item in nav:
            yield from nav_paths(item)


def linked_paths(markdown: str, page: str) -> Iterator[str]:
    """The repository paths (relative to its root) that the Markdown of ``page`` links to;
    anchors, external addresses and absolute links are left out."""
    for match in LINK_TARGET.finditer(CODE.sub("", markdown)):
        target = match.group(1) or match.group(2)
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
            continue
        yield posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(parts.path)))


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Headings get GitHub's anchors (see :func:`github_heading_anchor`)."""
    if "toc" not in config.markdown_extensions:
        config.markdown_extensions.append("toc")
    config.mdx_configs.setdefault("toc", {})["slugify"] = github_heading_anchor
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """The site's files: the pages at their repository paths and every other repository file they
    link to, in place of MkDocs' own list of everything under ``docs/``."""
    root = Path(config.config_file_path).resolve().parent
    docs = Path(config.docs_dir).resolve()

    def site_file(path: str) -> File:
        return File(path, str(root), config.site_dir, config.use_directory_urls)

    pages = [path.relative_to(root).as_posix() for path in sorted(docs.rglob("*.md"))]
    pages += [path for path in nav_paths(config.nav) if path not in pages and (root / path).is_file()]
    site = {path: site_file(path) for path in pages}
    for page in pages:
        for path in linked_paths((root / page).read_text(encoding="utf-8"), page):
            target = root / path
            if path not in site and not path.startswith("..") and target.is_file() and target.suffix != ".md":
                site[path] = site_file(path)
    return Files(list(site.values()))
