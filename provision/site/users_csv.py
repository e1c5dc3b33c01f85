"""Staff lists kept as CSV beside the site file (email,name,groups; groups separated by ;)."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError

from provision.checks.findings import Finding, Severity
from provision.site.loader import Unreadable, read_small_file
from provision.site.model import User
from provision.site.source import Location, PathKey, SourceMap

COLUMNS = ("email", "name", "groups")
USERS_FILE_RULES = {"users-file": "users_file exists and is a UTF-8 CSV of email,name,groups "
                    "with an email and a name on every row"}


def read_users(csv_path: Path, source: SourceMap, users_key: PathKey, first_index: int
               ) -> tuple[list[User], list[Finding]]:
    """Reads users, recording each row's line under `users_key + (first_index + n,)`, so that
    findings about a CSV user name the CSV file and row."""
    users: list[User] = []
    findings: list[Finding] = []

    def problem(line: int, message: str, fix: str) -> None:
        findings.append(Finding("users-file", Severity.ERROR, Location(str(csv_path), line),
                                message, fix))

    try:
        raw = read_small_file(csv_path)
    except Unreadable as exc:
        findings.append(Finding("users-file", Severity.ERROR,
                                source.at("identity", "users_file"), f"users_file: {exc.message}",
                                "name a CSV file; the path is relative to the site file"))
        return users, findings
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem(raw[: exc.start].count(b"\n") + 1, "the CSV is not UTF-8",
                "save it as 'CSV UTF-8'")
        return users, findings
    rows = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip().lower() for h in next(rows, [])]
        if tuple(header[:3]) != COLUMNS:
            problem(1, f"the header is {','.join(header) or '(empty)'}",
                    "the first line must be: email,name,groups")
            return users, findings
        line = rows.line_num + 1
        for row in rows:
            if not any(cell.strip() for cell in row):
                pass
            elif len(row) < 2:
                problem(line, "a row needs at least email and name",
                        "write: email,name,group1;group2")
            else:
                groups = [g.strip() for g in (row[2] if len(row) > 2 else "").split(";")
                          if g.strip()]
                try:
                    user = User(email=row[0].strip(), name=row[1].strip(), groups=groups)
                except ValidationError as exc:
                    empty = " or ".join(str(e["loc"][0]) for e in exc.errors())
                    problem(line, f"this row has no {empty}", "fill in email and name")
                else:
                    source.record((*users_key, first_index + len(users)), line, csv_path)
                    users.append(user)
            line = rows.line_num + 1  # the next row starts here; a quoted cell may span lines
    except csv.Error as exc:
        problem(rows.line_num, f"the CSV cannot be read: {exc}", "check the quotes on this row")
    return users, findings
