"""Staff lists kept as CSV beside the site file (email,name,groups; groups separated by ;)."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError

from provision.checks.findings import Finding, Severity
from provision.site.model import User
from provision.site.source import Location, SourceMap

COLUMNS = ("email", "name", "groups")


def read_users(csv_path: Path, source: SourceMap, users_key: tuple[str, ...]
               ) -> tuple[list[User], list[Finding]]:
    """Reads users, recording each row's line under `users_key + (index,)` in `source`."""
    users: list[User] = []
    findings: list[Finding] = []

    def problem(line: int, message: str, fix: str) -> None:
        findings.append(Finding("users-file", Severity.ERROR, Location(str(csv_path), line),
                                message, fix))

    try:
        text = csv_path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        findings.append(Finding("users-file", Severity.ERROR, source.at("identity", "users_file"),
                                f"users_file {csv_path} does not exist",
                                "the path is relative to the site file; check the name"))
        return users, findings
    except UnicodeDecodeError:
        problem(1, "the CSV is not UTF-8", "save it as UTF-8 CSV")
        return users, findings
    rows = csv.reader(text.splitlines())
    header = [h.strip().lower() for h in next(rows, [])]
    if tuple(header[:3]) != COLUMNS:
        problem(1, f"the header is {','.join(header) or '(empty)'}",
                "the first line must be: email,name,groups")
        return users, findings
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            problem(line, "a row needs at least email and name", "write: email,name,group1;group2")
            continue
        groups = [g.strip() for g in (row[2] if len(row) > 2 else "").split(";") if g.strip()]
        try:
            user = User(email=row[0].strip(), name=row[1].strip(), groups=groups)
        except ValidationError as exc:
            problem(line, "; ".join(e["msg"] for e in exc.errors()), "fill in email and name")
            continue
        source.record((*users_key, len(users)), line, csv_path)
        users.append(user)
    return users, findings
