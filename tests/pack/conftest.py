"""Site files for the pack tests: the field hospital, and variants of it written to a
temporary file so that they go through `load_site` (and the CLI) like any user's file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pack_helpers import FIELD_HOSPITAL, VariantFile


@pytest.fixture
def variant_file(tmp_path: Path) -> VariantFile:
    """A copy of the field hospital with `change` applied to its YAML document."""
    def make(change: Callable[[dict[str, Any]], None]) -> Path:
        document = yaml.safe_load(FIELD_HOSPITAL.read_text(encoding="utf-8"))
        change(document)
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path
    return make
