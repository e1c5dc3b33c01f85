"""Sites for the rendering tests: the committed examples, and variants of the field hospital
written to a temporary file so they go through `load_site` like any user's file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.checks import load_site
from provision.site.model import Site

FIELD_HOSPITAL = Path(__file__).resolve().parents[2] / "sites" / "examples" / "field-hospital.yaml"


@pytest.fixture(autouse=True)
def _default_resolvers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISION_PROTECTIVE_DNS", raising=False)


@pytest.fixture
def field_hospital_file() -> Path:
    return FIELD_HOSPITAL


@pytest.fixture
def field_hospital() -> Site:
    return load_site(FIELD_HOSPITAL)


@pytest.fixture
def site_variant(tmp_path: Path) -> Callable[[Callable[[dict[str, Any]], None]], Site]:
    """The field hospital with `change` applied to its YAML document."""
    def make(change: Callable[[dict[str, Any]], None]) -> Site:
        document = yaml.safe_load(FIELD_HOSPITAL.read_text(encoding="utf-8"))
        change(document)
        path = tmp_path / "variant.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return load_site(path)
    return make
