"""The role's tests run against a real gateway in namespaces (see namespace_gateway)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.onsite.namespace_gateway import Gateway, down, up

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "sites" / "examples" / "field-hospital.yaml"


def build_gateway(site_file: Path, work: Path) -> Iterator[Gateway]:
    try:
        yield up(site_file, work)
    finally:
        if (work / "gateway.json").exists():
            down(work)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The example site's gateway in namespaces, not yet configured (module-wide: the tests
    of a module run in order against it)."""
    yield from build_gateway(EXAMPLE, tmp_path_factory.mktemp("gateway"))
