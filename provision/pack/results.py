"""The last verify results, as the pack shows them: one line per check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.errors import ProvisionError


@dataclass(frozen=True)
class VerifyCheck:
    name: str
    passed: bool
    expected: str
    seen: str


def _check(item: Any) -> VerifyCheck:
    if not isinstance(item, dict) or not isinstance(item.get("passed"), bool) or not item.get(
            "name"):
        raise ValueError(f"not a verify result: {item!r}")
    return VerifyCheck(str(item["name"]), item["passed"], str(item.get("expected", "")),
                       str(item.get("seen", "")))


def read_verify_results(path: Path) -> list[VerifyCheck]:
    """A JSON list of {name, passed, expected, seen} objects, as `provision verify` saves."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError("expected a JSON list of checks")
        return [_check(item) for item in data]
    except (OSError, ValueError) as exc:
        raise ProvisionError(f"cannot read verify results from {path}: {exc}",
                             hint="pass the file `provision verify` saved, or leave "
                             "--verify-results out") from exc
