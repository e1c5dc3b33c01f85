"""site.yml and wipe.yml through the lab's converge (the adapter) against its gateway box.

The tests of this module share one lab and run in order: first apply, re-run, plan, a
ruleset changed by hand, a failing run, wipe.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import pytest

from provision.errors import PlaybookFailed
from provision.events import Event
from provision.lab.lab import Lab
from provision.lab.topology import CLIENT_INTERFACE
from provision.onsite import GatewayPlan, PlaybookResult
from provision.render import gateway_vars
from provision.verify import probes
from provision.verify.run import DHCP_TRIES
from tests.onsite.conftest import in_box

# Everything the role writes on a gateway, seen from the host: none of it may change.
HOST_PATHS = [Path(p) for p in ("/etc/nftables.conf", "/etc/provision",
                                "/etc/sysctl.d/90-provision.conf", "/etc/dnsmasq.conf",
                                "/etc/hosts", "/run/provision", "/run/provision-failover.state",
                                "/var/lib/misc/dnsmasq.leases", "/var/log/provision")]


def host_digest() -> str:
    digest = hashlib.sha256()
    for root in HOST_PATHS:
        for path in sorted([root, *root.rglob("*")] if root.is_dir() else [root]):
            digest.update(f"{path}:{path.exists()}".encode())
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def apply(lab: Lab, playbook: str = "site.yml", **kwargs: Any) -> PlaybookResult:
    return lab.converge(playbook=playbook, **kwargs)


def plan(lab: Lab) -> GatewayPlan:
    return GatewayPlan(lab.converge(check=True).changes)


def box_processes(lab: Lab) -> list[str]:
    """Command names of the processes inside the box, except its holder."""
    holder = lab.box.pid
    box_ns = os.readlink(f"/proc/{holder}/ns/mnt")
    names = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == holder:
            continue
        try:
            if os.readlink(entry / "ns" / "mnt") == box_ns:
                names.append((entry / "comm").read_text().strip())
        except OSError:
            continue
    return names


def addresses(lab: Lab) -> dict[str, set[str]]:
    links = json.loads(in_box(lab, "ip -j -4 address show"))
    return {link["ifname"]: {f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"]}
            for link in links}


def test_a_plan_before_the_first_apply_lists_the_work_and_changes_nothing(
        lab: Lab) -> None:
    before = host_digest()

    fresh = plan(lab)

    actions = {c.action for c in fresh.changes}
    assert {"ansible.builtin.copy", "provision_nftables", "provision_process"} <= actions
    assert in_box(lab, "nft list ruleset").strip() == ""
    assert in_box(lab, "ls /etc/provision 2>&1 || true").count("No such file") == 1
    assert host_digest() == before


def test_first_apply_configures_the_gateway_inside_the_box_only(lab: Lab) -> None:
    values = gateway_vars(lab.site)
    before = host_digest()
    events: list[Event] = []

    result = apply(lab, sink=events.append)

    assert result.changed[values["gateway_name"]] > 0
    ruleset = in_box(lab, "nft list ruleset")
    assert "table inet provision" in ruleset and "table ip provision_nat" in ruleset
    assert "dnsmasq" in box_processes(lab)
    live = addresses(lab)
    for seg in values["segments"]:
        assert seg["gateway_cidr"] in live[seg["interface"]], seg["name"]
    for wan in lab.plan.wans:  # what each ISP's DHCP server hands out
        assert live[wan.interface] == {f"{wan.gateway_address}/{wan.prefix_length}"}, wan.link
    assert in_box(lab, "cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
    state = json.loads(in_box(lab, "cat /run/provision-failover.state"))
    assert state["active"] == "primary"
    assert host_digest() == before
    assert any(e.kind == "task.changed" for e in events)
    changed_paths = {c.path for c in result.changes}
    assert "/etc/provision/dnsmasq.conf" in changed_paths


def test_a_segment_client_gets_a_lease_from_the_gateway(lab: Lab) -> None:
    segment = lab.plan.segment(lab.plan.admin_segment)

    lease = probes.dhcp(segment.client_ns, CLIENT_INTERFACE,
                        probes.dhcp_script(lab.lab_dir / "dhcp"), DHCP_TRIES)

    assert isinstance(lease, probes.Lease), lease
    assert ipaddress.IPv4Address(lease.address) in ipaddress.IPv4Network(segment.cidr)


def test_second_run_changes_nothing(lab: Lab) -> None:
    result = apply(lab)

    assert result.changed == {}
    assert result.changes == []


def test_plan_right_after_apply_is_empty(lab: Lab) -> None:
    assert plan(lab).to_json() == []


def test_a_ruleset_changed_by_hand_shows_in_the_plan_and_is_repaired(lab: Lab) -> None:
    in_box(lab, "nft delete table ip provision_nat")

    drift = plan(lab)

    assert [c.action for c in drift.changes] == ["provision_nftables"]
    assert "provision_nat" not in drift.changes[0].diffs[0].before
    assert "provision_nat" in drift.changes[0].diffs[0].after
    json.dumps(drift.to_json())  # the plan is JSON-ready
    assert "provision_nat" not in in_box(lab, "nft list tables")  # planning changed nothing

    repaired = apply(lab)

    assert [c.action for c in repaired.changes] == ["provision_nftables"]
    assert "table ip provision_nat" in in_box(lab, "nft list tables")
    assert plan(lab).empty


def test_a_failing_task_names_the_host_and_the_task(lab: Lab, tmp_path: Path) -> None:
    events: list[Event] = []
    with pytest.raises(PlaybookFailed) as failed:
        apply(lab, extra_vars={"provision_rendered_dir": str(tmp_path / "missing")},
              sink=events.append)

    message = failed.value.message
    assert gateway_vars(lab.site)["gateway_name"] in message
    assert "Install the rendered dnsmasq configuration" in message
    assert [e.subject for e in events if e.kind == "task.failed"] == [
        "Install the rendered dnsmasq configuration"]


def test_wipe_leaves_no_rules_interfaces_files_or_processes(lab: Lab) -> None:
    apply(lab)

    apply(lab, "wipe.yml")

    assert in_box(lab, "nft list ruleset").strip() == ""
    assert box_processes(lab) == []
    live = addresses(lab)
    assert "lan0.10" not in live and "lan0.30" not in live  # the Wi-Fi segments' bridges
    for seg in gateway_vars(lab.site)["segments"]:
        assert seg["gateway_cidr"] not in live.get(seg["interface"], set())
    for wan in lab.plan.wans:
        assert live.get(wan.interface, set()) == set(), wan.link
    assert in_box(lab, "ls /etc/provision /etc/nftables.conf /var/lib/misc 2>&1 || true") \
        .count("No such file") == 2
    assert "dnsmasq.leases" not in in_box(lab, "ls /var/lib/misc")
    assert in_box(lab, "cat /proc/sys/net/ipv4/ip_forward").strip() == "0"
    assert apply(lab, "wipe.yml").changed == {}
