"""The role's tests run against the site's lab (provision.lab.lab.Lab): the gateway box in
network namespaces, an ISP per WAN link, the internet side and a client per segment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.checks import load_site
from provision.lab.lab import Lab

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "sites" / "examples" / "field-hospital.yaml"


def built_lab(site_file: Path, lab_dir: Path) -> Iterator[Lab]:
    """The site's lab with its hardware built and no playbook applied; taken down afterwards
    whatever happened."""
    lab = Lab(load_site(site_file), lab_dir)
    try:
        lab.build()
        yield lab
    finally:
        lab.down()


def in_box(lab: Lab, command: str) -> str:
    """A shell command inside the gateway box; its output."""
    return lab.box.run("sh", "-c", command, check=True).stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The example site's lab, not yet configured (module-wide: the tests of a module run in
    order against it)."""
    yield from built_lab(EXAMPLE, tmp_path_factory.mktemp("gateway") / "lab")
