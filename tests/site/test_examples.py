"""The examples in sites/examples/ validate clean and show what they claim to show."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.checks import load_site, validate_file
from provision.site.model import SiteKind

EXAMPLES = Path(__file__).resolve().parents[2] / "sites" / "examples"
SHARED_CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "examples" / \
    "field-hospital.yaml"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_validates_without_findings(path: Path) -> None:
    assert validate_file(path).findings == []


def test_there_is_an_example_of_each_temporary_kind() -> None:
    kinds = {load_site(path).site.kind for path in EXAMPLES.glob("*.yaml")}
    assert {SiteKind.FIELD_HOSPITAL, SiteKind.VACCINATION_CENTRE, SiteKind.SURGE_CLINIC} <= kinds


def test_field_hospital_is_the_shared_contract_plus_the_schema_line() -> None:
    if not SHARED_CONTRACT.is_file():
        pytest.skip("the shared contract lives outside this checkout")
    ours = (EXAMPLES / "field-hospital.yaml").read_bytes()
    first, rest = ours.split(b"\n", 1)
    assert first == b"# yaml-language-server: $schema=../schema.json"
    assert rest == SHARED_CONTRACT.read_bytes()


def test_surge_clinic_staff_come_from_the_csv_beside_it() -> None:
    site = load_site(EXAMPLES / "surge-clinic.yaml")
    assert len(site.identity.users) == 5
    assert site.identity.users[4].groups == ["it-support", "admin"]
    assert str(site.source.at("identity", "users", 4)) == \
        f"{EXAMPLES / 'surge-clinic-staff.csv'}:6"


def test_vaccination_centre_has_a_static_primary() -> None:
    site = load_site(EXAMPLES / "vaccination-centre.yaml")
    primary = next(link for link in site.connectivity.links if link.role == "primary")
    assert (primary.addressing, primary.address, primary.next_hop) == (
        "static", "203.0.113.22/29", "203.0.113.17")
