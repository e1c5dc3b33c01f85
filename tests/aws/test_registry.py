"""Walks the registry: every resource type is declared completely and consistently."""

from __future__ import annotations

import re

from provision.aws.resource import REGISTRY, Desired
from provision.cli.deploy_cmds import iam_policy_document
from provision.plan.build import dependencies, refs_in
from provision.site.model import Site

ACTION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$")


def test_every_module_registers_its_types() -> None:
    assert {"route53.zone", "route53.records", "route53.delegation", "s3.bucket"} <= set(
        REGISTRY)
    for name, rt in REGISTRY.items():
        assert rt.type == name
        assert re.match(r"^[a-z0-9]+\.[a-z_]+$", name), name


def test_permissions_are_iam_actions_and_make_the_policy() -> None:
    policy = iam_policy_document()
    granted = {a for statement in policy["Statement"] for a in statement["Action"]}
    for rt in REGISTRY.values():
        assert rt.permissions, rt.type
        for action in rt.permissions:
            assert ACTION.match(action), (rt.type, action)
        assert set(rt.permissions) <= granted
    assert "tag:GetResources" in granted
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_the_site_wants_a_consistent_graph(site: Site) -> None:
    desired: list[Desired] = [d for rt in REGISTRY.values() for d in rt.wanted(site)]
    addresses = [d.address for d in desired]
    assert len(addresses) == len(set(addresses)), "addresses are unique"
    by_address = {d.address: d for d in desired}
    for want in desired:
        assert want.type in REGISTRY
        assert dependencies(want) <= by_address.keys(), want.address
        assert not REGISTRY[want.type].replace_on - want.attrs.keys(), want.address

    for want in desired:
        for ref in refs_in(want.attrs):
            assert ref.address in by_address, (want.address, ref)


def test_wanted_is_pure_and_stable(site: Site) -> None:
    for rt in REGISTRY.values():
        assert rt.wanted(site) == rt.wanted(site), rt.type
