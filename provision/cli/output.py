"""Rendering for people (rich) and for pipelines (JSON): findings, errors and events."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from itertools import groupby
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from provision.checks.findings import Finding
from provision.errors import ProvisionError
from provision.events import Event

if TYPE_CHECKING:  # verify pulls in the lab: only the commands that verify need it loaded
    from provision.verify import VerifyReport

# Logs and pipes get a wide console: rich's 80-column default would break check names and
# file:line in CI logs.
console = Console(highlight=False, emoji=False, soft_wrap=True,
                  width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def print_error(exc: ProvisionError, *, as_json: bool) -> None:
    if as_json:
        print_json({"error": exc.message, "hint": exc.hint, "kind": type(exc).__name__})
        return
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.hint:
        err_console.print(f"  [dim]hint:[/] {escape(exc.hint)}")


def findings_json(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [f.to_json() for f in sorted(findings, key=Finding.sort_key)]


def print_findings(findings: Iterable[Finding], *, as_json: bool) -> None:
    """Grouped by file, sorted by line: `file:line: error[rule]: message` then the fix."""
    ordered = sorted(findings, key=Finding.sort_key)
    if as_json:
        print_json({"findings": findings_json(ordered)})
        return
    for file, group in groupby(ordered, key=lambda f: f.location.file):
        console.print(f"[bold]{escape(file)}[/]")
        for f in group:
            colour = "red" if f.is_error else "yellow"
            console.print(f"  {escape(str(f.location))}: [{colour}]{f.severity.value}"
                          f"[/][dim]\\[{escape(f.rule)}][/]: {escape(f.message)}")
            if f.fix:
                console.print(f"      [dim]fix:[/] {escape(f.fix)}")
    errors = sum(1 for f in ordered if f.is_error)
    warnings = len(ordered) - errors
    colour = "red" if errors else "green"
    console.print(f"[{colour}]{errors} error(s)[/], {warnings} warning(s)")


# Ansible's per-task chatter: kept in --json, left out for people (changes and failures stay).
QUIET_FOR_PEOPLE = frozenset({"task.start", "task.ok", "task.skipped"})
# Verify's results are tabled at the end with what was expected and seen: progress is a name.
BRIEF_FOR_PEOPLE = frozenset({"check.done", "check.failed"})


class EventPrinter:
    """An EventSink: one line per event for people, one JSON object per line for pipelines."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json

    def __call__(self, event: Event) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(event.to_json(), default=str) + "\n")
            sys.stdout.flush()
            return
        if event.kind in QUIET_FOR_PEOPLE:
            return
        style = {"failed": "red", "done": "green", "changed": "yellow"}.get(
            event.kind.rsplit(".", 1)[-1], "dim")
        subject = f"[bold]{escape(event.subject)}[/] " if event.subject else ""
        message = "" if event.kind in BRIEF_FOR_PEOPLE else escape(event.message)
        console.print(f"[{style}]{escape(event.kind):>14}[/] {subject}{message}")


def print_verify(report: VerifyReport) -> None:
    """One row per check: what was expected and what was seen."""
    table = Table(title=f"verify {report.site_id}: {len(report.results)} checks in "
                  f"{report.seconds}s", title_justify="left")
    for column in ("check", "result", "expected", "seen"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        table.add_row(escape(result.name), "[green]pass[/]" if result.passed else "[red]FAIL[/]",
                      escape(result.expected), escape(result.seen))
    console.print(table)
    failed = len(report.failed)
    console.print(f"[red]{failed} check(s) failed[/]" if failed
                  else "[green]all checks passed[/]")
