"""The README works as written: every ```python block runs, and every command line in its
```bash blocks and its figures table is one the project accepts (``marl`` lines parse with the
real argument parser, ``marl train`` lines also resolve to a valid run config, ``make`` targets
exist, benchmark scripts exist). Every number in the figures table is written, with its
command, in the document the row cites, so the README never quotes a figure of its own; every
relative link resolves; the CLI tour names every option of every sub-command.

A block preceded by the line ``<!-- no-test -->`` is skipped, and only such blocks are.
Python blocks run in-process, each in a fresh namespace with a temporary working directory.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from marl.cli import build_parser
from marl.resolution import TrainRequest, resolve_run_config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NO_TEST_MARKER = "<!-- no-test -->"
#: The README shows this many runnable Python examples or more; fewer means blocks went missing.
MINIMUM_PYTHON_BLOCKS = 9
#: And at least this many ``marl`` command lines.
MINIMUM_MARL_LINES = 25

FENCE = re.compile(r"^```(?P<language>[\w+-]*)\s*$")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block of the README."""

    language: str
    line: int  # 1-based line of the opening fence
    code: str
    marked_no_test: bool


def read_code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced code block, with its language and whether ``<!-- no-test -->`` precedes it."""
    lines = text.splitlines()
    blocks: list[CodeBlock] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"README.md:{index + 1}: code block is never closed")
        previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        blocks.append(
            CodeBlock(
                opening["language"], index + 1, "\n".join(lines[index + 1 : end]) + "\n", previous == NO_TEST_MARKER
            )
        )
        index = end + 1
    return blocks


BLOCKS = read_code_blocks(README.read_text(encoding="utf-8"))
PYTHON_BLOCKS = [block for block in BLOCKS if block.language == "python" and not block.marked_no_test]
SHELL_BLOCKS = [block for block in BLOCKS if block.language in ("bash", "sh", "shell") and not block.marked_no_test]


@dataclass(frozen=True)
class FigureRow:
    """One row of the README's figures table."""

    line: int
    result: str
    commands: list[str]
    source: Path


def read_figure_rows(text: str) -> list[FigureRow]:
    """The rows of the table under ``## Figures``: what | result | command(s) | recorded in (a link)."""
    lines = text.splitlines()
    start = lines.index("## Figures")
    rows = []
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if line.startswith("## "):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 4 or cells[0] in ("what", "---"):
            continue
        link = re.search(r"\]\(([^)]+)\)", cells[3])
        assert link, f"README.md:{number}: the last column must link the document that records the figure"
        rows.append(FigureRow(number, cells[1], re.findall(r"`([^`]+)`", cells[2]), ROOT / link.group(1)))
    return rows


FIGURE_ROWS = read_figure_rows(README.read_text(encoding="utf-8"))


def split_command(line: str) -> list[str]:
    """The words of a shell command line, without comments and leading VAR=value assignments."""
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        words = words[1:]
    return words


def command_lines() -> list[tuple[int, list[str]]]:
    """(README line, words) of every command in the shell blocks and the figures table."""
    commands = []
    for block in SHELL_BLOCKS:
        for offset, line in enumerate(block.code.splitlines(), start=1):
            words = split_command(line)
            if words:
                commands.append((block.line + offset, words))
    for row in FIGURE_ROWS:
        commands.extend((row.line, split_command(command)) for command in row.commands)
    return commands


def marl_command_lines() -> list[tuple[int, list[str]]]:
    """The ``marl ...`` (or ``.venv/bin/marl ...``) lines, with the program name removed."""
    return [(line, words[1:]) for line, words in command_lines() if Path(words[0]).name == "marl"]


def test_the_readme_opens_with_make_train_and_make_test():
    first = BLOCKS[0]
    assert first.language == "bash"
    assert [words[:2] for _, words in command_lines()[:2]] == [["make", "train"], ["make", "test"]]


def test_the_readme_has_enough_runnable_examples_and_skips_only_marked_blocks():
    text = README.read_text(encoding="utf-8")
    assert len(PYTHON_BLOCKS) >= MINIMUM_PYTHON_BLOCKS
    assert len(marl_command_lines()) >= MINIMUM_MARL_LINES
    # Every marker sits right before a block: none is left dangling to hide nothing, or everything.
    assert text.count(NO_TEST_MARKER) == sum(block.marked_no_test for block in BLOCKS)


def test_the_block_reader_finds_languages_lines_and_markers():
    text = "intro\n```bash\nmarl envs\n```\n\n<!-- no-test -->\n\n```python\nx = 1\n```\n```python\ny = 2\n```\n"
    blocks = read_code_blocks(text)
    assert [(b.language, b.line, b.code, b.marked_no_test) for b in blocks] == [
        ("bash", 2, "marl envs\n", False),
        ("python", 8, "x = 1\n", True),
        ("python", 11, "y = 2\n", False),
    ]
    with pytest.raises(ValueError, match="never closed"):
        read_code_blocks("```python\nx = 1\n")


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"README.md:{block.line}" for block in PYTHON_BLOCKS])
def test_python_block_runs(block: CodeBlock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    namespace = {"__name__": "__main__"}
    exec(compile(block.code, f"{README}:{block.line}", "exec"), namespace)  # noqa: S102 - the README's own code


def test_blocks_marked_no_test_are_still_valid_python():
    skipped = [block for block in BLOCKS if block.language == "python" and block.marked_no_test]
    for block in skipped:
        compile(block.code, f"{README}:{block.line}", "exec")


def test_every_marl_command_line_parses_with_the_real_parser():
    parser = build_parser()
    for line, arguments in marl_command_lines():
        try:
            parser.parse_args(arguments)
        except SystemExit as exit_request:
            pytest.fail(f"README.md:{line}: `marl {shlex.join(arguments)}` does not parse (exit {exit_request.code})")


def test_every_marl_train_line_resolves_to_a_valid_run_config():
    parser = build_parser()
    resolved = 0
    for line, arguments in marl_command_lines():
        args = parser.parse_args(arguments)
        if args.command != "train" or args.resume is not None or args.config is not None:
            continue
        request = TrainRequest(
            args.env, args.algo, args.preset, args.config, args.steps, args.n_envs, args.seed, list(args.assignments)
        )
        try:
            config = resolve_run_config(request)
        except Exception as error:  # noqa: BLE001 - report which README line failed and why
            pytest.fail(f"README.md:{line}: `marl {shlex.join(arguments)}`: {error}")
        assert config.env == args.env
        resolved += 1
    assert resolved >= 5


def test_make_targets_and_scripts_named_in_the_readme_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.MULTILINE))
    checked = 0
    for line, words in command_lines():
        if words[0] == "make":
            assert set(words[1:]) <= targets, f"README.md:{line}: no make target {words[1:]}"
            checked += 1
        for word in words:
            if word.endswith(".py") and "/" in word:
                assert (ROOT / word).is_file(), f"README.md:{line}: {word} does not exist"
                checked += 1
    assert checked >= 4


def written_numbers(text: str) -> set[str]:
    """Every number in ``text`` as written (``16,471``, ``-37.2`` -> ``37.2``, ``0.69``)."""
    return set(re.findall(r"(?<![\d.,])\d+(?:,\d{3})*(?:\.\d+)?(?![\d]|[.,]\d)", text))


def test_every_figure_and_its_command_are_written_in_the_document_it_cites():
    assert len(FIGURE_ROWS) >= 5
    for row in FIGURE_ROWS:
        assert row.source.is_file(), f"README.md:{row.line}: {row.source} does not exist"
        document = row.source.read_text(encoding="utf-8")
        missing = written_numbers(row.result) - written_numbers(document)
        assert not missing, f"README.md:{row.line}: {sorted(missing)} are not in {row.source.relative_to(ROOT)}"
        assert row.commands, f"README.md:{row.line}: a figure needs the command that produced it"
        for command in row.commands:
            assert command in document, f"README.md:{row.line}: `{command}` is not in {row.source.relative_to(ROOT)}"


def test_the_number_reader_takes_numbers_as_written():
    assert written_numbers("16,471 against 1,466 (11.2x), -37.2 ± 7.1 in 253 s; v0") == {
        "16,471",
        "1,466",
        "11.2",
        "37.2",
        "7.1",
        "253",
        "0",
    }
    assert "1,46" not in written_numbers("1,466") and "466" not in written_numbers("1,466")


def test_every_relative_link_of_the_readme_points_to_a_file():
    text = README.read_text(encoding="utf-8")
    targets = [target for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if "://" not in target]
    assert len(targets) >= 8
    for target in targets:
        assert (ROOT / target).exists(), f"README.md links {target}, which does not exist"


def test_the_cli_tour_names_every_option_of_every_sub_command():
    text = README.read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)
    parser = build_parser()
    (subcommands,) = [action for action in parser._actions if action.choices and action.dest == "command"]
    assert set(subcommands.choices) >= {"train", "eval", "replay", "plot", "runs", "envs", "bench"}
    for name, subparser in subcommands.choices.items():
        (section,) = [section for section in sections if section.split("\n", 1)[0].count(f"`marl {name}`")]
        options = [
            option
            for action in subparser._actions
            if action.help != argparse.SUPPRESS
            for option in action.option_strings
            if option.startswith("--") and option != "--help"
        ]
        missing = [option for option in options if not re.search(rf"{re.escape(option)}(?![\w-])", section)]
        assert not missing, f"the README's section on `marl {name}` does not mention {missing}"
