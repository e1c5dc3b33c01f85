"""The corpus of broken site files: each declares the findings it must produce, and nothing else.

A file's header lists `# expect: <rule> <severity> line <n> [in <file>]`; the findings of
`validate_file` must be exactly those (errors and warnings alike), so removing or weakening
any check makes its corpus file fail. tests/checks/make_broken.py writes the files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provision.checks import RULES, STRUCTURAL_CHECKS, validate_file
from tests.checks.make_broken import corpus_files

BROKEN = Path(__file__).parent / "broken"
CORPUS = sorted(BROKEN.glob("*.yaml"))
EXPECT = re.compile(rb"^# expect: (?P<rule>\S+) (?P<severity>error|warning) line (?P<line>\d+)"
                    rb"(?: in (?P<file>\S+))?$")

Expected = tuple[str, str, int, str]


def expectations(path: Path) -> list[Expected]:
    """Read as bytes: some corpus files are deliberately not UTF-8."""
    found = []
    for raw in path.read_bytes().splitlines():
        match = EXPECT.match(raw)
        if match:
            found.append((match["rule"].decode(), match["severity"].decode(),
                          int(match["line"]), (match["file"] or path.name.encode()).decode()))
    return sorted(found)


def test_corpus_is_large_and_every_file_expects_something() -> None:
    assert len(CORPUS) >= 60
    for path in CORPUS:
        assert expectations(path), f"{path.name} has no `# expect:` line"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_file_reports_exactly_what_it_expects(path: Path) -> None:
    findings = validate_file(path).findings
    actual = sorted((f.rule, f.severity.value, f.location.line, Path(f.location.file).name)
                    for f in findings)
    assert actual == expectations(path), "\n".join(
        f"{f.location}: {f.severity.value}[{f.rule}] {f.message}" for f in findings)


def test_committed_corpus_is_what_the_helper_writes() -> None:
    committed = {p.name: p.read_bytes() for p in BROKEN.iterdir()}
    assert committed == corpus_files(), (
        "tests/checks/broken/ is out of date; refresh it with: python tests/checks/make_broken.py")


def test_every_check_has_a_corpus_file() -> None:
    """A check nobody can see fail is a check nobody knows works."""
    covered = {rule for path in CORPUS for rule, *_ in expectations(path)}
    # Refusals that need a missing, huge or unreadable path are tested in tests/site/;
    # schema.invalid is the fallback for pydantic error kinds the model does not produce today.
    elsewhere = {"file.missing", "file.unreadable", "file.too-large", "schema.invalid"}
    missing = (set(RULES) | set(STRUCTURAL_CHECKS)) - elsewhere - covered
    assert not missing, f"no corpus file for: {sorted(missing)}"
