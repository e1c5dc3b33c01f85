"""Copies of the field hospital under their own site id, and the installed command run the way
an operator runs it: a subprocess whose environment holds no AWS credentials."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIELD_HOSPITAL = REPO / "sites" / "examples" / "field-hospital.yaml"
SITE_ID = "e2e-north"  # never the example's id, so nothing here meets another lab or test
PROVISION = shutil.which("provision") or str(Path(sys.executable).parent / "provision")


def site_copy(folder: Path, *, host: str | None = None, name: str = "site.yaml") -> Path:
    """The field hospital as `SITE_ID` (users and services name the id only through the
    domain, so the id line is all that changes), optionally with another gateway host."""
    text = FIELD_HOSPITAL.read_text()
    replacements = {"  id: nightingale-north ": f"  id: {SITE_ID} "}
    if host is not None:
        replacements["  host: 192.0.2.10 "] = f"  host: {host} "
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def env_without_aws(folder: Path) -> dict[str, str]:
    """This process's environment minus every AWS_ setting, with the shared credentials and
    config files pointed at files that do not exist: a machine with no AWS account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(folder / "no-aws-credentials")
    env["AWS_CONFIG_FILE"] = str(folder / "no-aws-config")
    return env


def json_documents(text: str) -> list[Any]:
    """Everything a `--json` command printed: events one per line, then indented documents."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return found
        value, position = decoder.raw_decode(text, position)
        found.append(value)
