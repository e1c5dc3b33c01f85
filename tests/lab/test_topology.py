"""The lab's plan: names and addresses from a site and a lab folder (no namespaces made)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from provision.checks import load_site
from provision.errors import LabError
from provision.lab.topology import SERVICE_SPACE, default_lab_dir, plan_lab
from provision.render import gateway_vars

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "sites" / "examples").glob("*.yaml"))
FIELD_HOSPITAL = REPO / "sites" / "examples" / "field-hospital.yaml"
IFNAMSIZ = 15


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_gets_a_plan_or_a_named_reason(example: Path, tmp_path: Path) -> None:
    site = load_site(example)
    if any(link.addressing == "pppoe" for link in site.connectivity.links):
        with pytest.raises(LabError, match="pppoe"):
            plan_lab(site, tmp_path)
        return
    plan = plan_lab(site, tmp_path)
    assert len(plan.namespaces) == len(set(plan.namespaces)) == 3 + len(plan.wans) + len(
        plan.segments)
    assert all(name.startswith(plan.prefix + "-") for name in plan.namespaces)
    names = [plan.lan_interface, *(s.gateway_interface for s in plan.segments),
             *(w.interface for w in plan.wans), *(w.inet_interface for w in plan.wans)]
    assert all(len(name) <= IFNAMSIZ for name in names)
    assert len(names) == len(set(names))


def test_wires_carry_the_names_the_role_gives_the_segments(tmp_path: Path) -> None:
    site = load_site(FIELD_HOSPITAL)
    plan = plan_lab(site, tmp_path)
    devices = {seg["name"]: seg["vlan_device"] for seg in gateway_vars(site)["segments"]}
    assert {seg.name: seg.gateway_interface for seg in plan.segments} == devices
    assert [w.interface for w in plan.wans] == ["wan0", "wwan0"]
    assert plan.primary.link == "fttp" and [w.link for w in plan.backups] == ["mobile"]


def test_two_lab_folders_never_share_a_namespace(tmp_path: Path) -> None:
    site = load_site(FIELD_HOSPITAL)
    one, two = plan_lab(site, tmp_path / "one"), plan_lab(site, tmp_path / "two")
    assert one.prefix != two.prefix
    assert not set(one.namespaces) & set(two.namespaces)
    assert plan_lab(site, tmp_path / "one").namespaces == one.namespaces  # stable


def test_internet_answers_on_the_sites_resolvers_and_targets(tmp_path: Path) -> None:
    site = load_site(FIELD_HOSPITAL)
    plan = plan_lab(site, tmp_path)
    assert list(plan.protective_resolvers) == site.network.dns.addresses()
    assert set(site.connectivity.health_check.targets) <= set(plan.internet_addresses)
    assert plan.open_resolver not in plan.protective_resolvers


def test_static_link_keeps_the_providers_addresses(tmp_path: Path) -> None:
    site = load_site(REPO / "sites" / "examples" / "vaccination-centre.yaml")
    static = plan_lab(site, tmp_path).primary
    assert (static.addressing, static.gateway_address, static.isp_address,
            static.prefix_length) == ("static", "203.0.113.22", "203.0.113.17", 29)


def test_open_resolver_avoids_addresses_the_site_uses(tmp_path: Path) -> None:
    document = yaml.safe_load(FIELD_HOSPITAL.read_text())
    document["connectivity"]["health_check"]["targets"] = ["8.8.8.8", "1.1.1.1"]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    plan = plan_lab(load_site(path), tmp_path / "lab")
    assert plan.open_resolver != "8.8.8.8"


def test_a_segment_on_the_labs_own_addresses_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(FIELD_HOSPITAL.read_text())
    document["network"]["segments"][0]["cidr"] = str(SERVICE_SPACE)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(LabError, match="overlaps"):
        plan_lab(load_site(path), tmp_path / "lab")


def test_default_lab_folder_is_beside_the_site_file(tmp_path: Path) -> None:
    site = load_site(FIELD_HOSPITAL)
    assert default_lab_dir(FIELD_HOSPITAL, site) == (
        FIELD_HOSPITAL.parent / ".provision" / "nightingale-north" / "lab")
    assert ipaddress.IPv4Network(plan_lab(site, tmp_path).wans[0].subnet).prefixlen == 24
