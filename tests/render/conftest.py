"""Sites for the rendering tests: the committed examples, and variants of the field hospital
written to a temporary file so they go through `load_site` like any user's file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provision.checks import load_site
from provision.site.model import Site
from tests.conftest import FIELD_HOSPITAL, VariantFile


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
def site_variant(variant_file: VariantFile) -> Callable[[Callable[[dict[str, Any]], None]], Site]:
    """The field hospital with `change` applied to its YAML document, loaded."""
    return lambda change: load_site(variant_file(change))
