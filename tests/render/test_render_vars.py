"""gateway_vars: the decisions the templates and the role rely on, checked value by value."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest

from provision.errors import RenderFailed
from provision.render import gateway_vars
from provision.render.gateway import dhcp_range
from provision.site.model import Site

SiteVariant = Callable[[Callable[[dict[str, Any]], None]], Site]  # the site_variant fixture


def by_name(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {seg["name"]: seg for seg in values["segments"]}


def test_segment_addresses_and_dhcp_ranges(field_hospital: Site) -> None:
    segs = by_name(gateway_vars(field_hospital))
    assert {n: (s["interface"], s["gateway_cidr"], s["dhcp_start"], s["dhcp_end"], s["netmask"])
            for n, s in segs.items()} == {
        "clinical": ("lan0.10", "10.50.10.1/24", "10.50.10.10", "10.50.10.253", "255.255.255.0"),
        "it": ("lan0.15", "10.50.15.1/26", "10.50.15.8", "10.50.15.61", "255.255.255.192"),
        "devices": ("lan0.20", "10.50.20.1/24", "10.50.20.10", "10.50.20.253", "255.255.255.0"),
        "guest": ("lan0.30", "10.50.32.1/22", "10.50.32.10", "10.50.35.253", "255.255.252.0"),
    }
    assert segs["guest"]["lease_time"] == "2h" and segs["clinical"]["lease_time"] == "12h"


@pytest.mark.parametrize(("cidr", "start", "end"), [
    ("10.0.0.0/24", "10.0.0.10", "10.0.0.253"),
    ("10.0.0.0/26", "10.0.0.8", "10.0.0.61"),
    ("10.0.0.0/28", "10.0.0.2", "10.0.0.13"),
    ("10.0.0.0/29", "10.0.0.2", "10.0.0.5"),
])
def test_dhcp_range_leaves_static_room_and_never_the_gateway(cidr: str, start: str,
                                                             end: str) -> None:
    assert dhcp_range(ipaddress.IPv4Network(cidr)) == (start, end)


def test_forward_rules_are_exactly_reach(field_hospital: Site) -> None:
    rules = [(r["src_interface"], r["dst_interface"], r["proto"], r["port"])
             for r in gateway_vars(field_hospital)["forward_rules"]]
    assert rules == [
        ("lan0.10", "internet", None, None),
        ("lan0.15", "internet", None, None),
        ("lan0.15", "lan0.10", None, None),
        ("lan0.15", "lan0.20", None, None),
        ("lan0.20", "lan0.10", "tcp", 104),
        ("lan0.20", "lan0.10", "tcp", 443),
        ("lan0.30", "internet", None, None),
    ]


def test_guest_segment_reaches_only_the_internet(field_hospital: Site) -> None:
    values = gateway_vars(field_hospital)
    guest = by_name(values)["guest"]
    assert guest["guest"] and guest["client_isolation"]
    from_guest = [r for r in values["forward_rules"] if r["src_interface"] == guest["interface"]]
    assert [r["dst_interface"] for r in from_guest] == ["internet"]
    assert not [r for r in values["forward_rules"] if r["dst_interface"] == guest["interface"]]


def test_admin_management_and_secret_names(field_hospital: Site) -> None:
    values = gateway_vars(field_hospital)
    assert (values["admin_segment"], values["admin_interface"], values["management_port"]) == (
        "it", "lan0.15", 22)
    assert values["admin_secret"] == "provision/nightingale-north/gateway-admin"
    wifi = {n: s["wifi"] for n, s in by_name(values).items() if s["wifi"]}
    assert wifi["clinical"]["passphrase_secret"] == "provision/nightingale-north/wifi/clinical"
    assert wifi["guest"]["passphrase_secret"] is None  # open: nothing to look up
    assert [w["ap_interface"] for w in wifi.values()] == ["wlan0", "wlan1"]
    assert values["resolvers"] == ["9.9.9.9", "149.112.112.112"]


def test_links_primary_first_with_rising_metrics(site_variant: SiteVariant) -> None:
    def backup_first(doc: dict[str, Any]) -> None:
        doc["connectivity"]["links"].reverse()
    links = gateway_vars(site_variant(backup_first))["links"]
    assert [(link["name"], link["role"], link["metric"]) for link in links] == [
        ("fttp", "primary", 100), ("mobile", "backup", 200)]


def test_named_passphrase_secret_is_used(site_variant: SiteVariant) -> None:
    def named(doc: dict[str, Any]) -> None:
        doc["network"]["segments"][0]["wifi"]["passphrase_secret"] = "trust/wifi-clinical"
    segs = by_name(gateway_vars(site_variant(named)))
    assert segs["clinical"]["wifi"]["passphrase_secret"] == "trust/wifi-clinical"


def test_unusable_interface_name_is_refused_with_its_line(site_variant: SiteVariant) -> None:
    def injected(doc: dict[str, Any]) -> None:
        doc["connectivity"]["links"][0]["interface"] = 'wan0" accept'
    with pytest.raises(RenderFailed, match=r"link 'fttp' interface .*line \d+.*not a usable"):
        gateway_vars(site_variant(injected))


def test_wpa3_enterprise_is_refused_not_half_rendered(site_variant: SiteVariant) -> None:
    def enterprise(doc: dict[str, Any]) -> None:
        doc["network"]["segments"][0]["wifi"]["security"] = "wpa3-enterprise"
    with pytest.raises(RenderFailed, match="wpa3-enterprise"):
        gateway_vars(site_variant(enterprise))
