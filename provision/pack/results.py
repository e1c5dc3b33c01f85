"""The last verify results, read back from the file `provision verify` saves, for the pack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provision.errors import ProvisionError
from provision.verify import CheckResult


def _check(item: Any) -> CheckResult:
    if not isinstance(item, dict) or not isinstance(item.get("passed"), bool) or not item.get(
            "name"):
        raise ValueError(f"not a verify result: {item!r}")
    measured = item.get("measured")
    return CheckResult(str(item["name"]), str(item.get("kind", "")), item["passed"],
                       str(item.get("expected", "")), str(item.get("seen", "")),
                       measured if isinstance(measured, dict) else {})


def read_verify_results(path: Path) -> list[CheckResult]:
    """A JSON list of {name, passed, expected, seen, ...} objects (`VerifyReport.save`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError("expected a JSON list of checks")
        return [_check(item) for item in data]
    except (OSError, ValueError) as exc:
        raise ProvisionError(f"cannot read verify results from {path}: {exc}",
                             hint="pass the file `provision verify` saved, or leave "
                             "--verify-results out") from exc
