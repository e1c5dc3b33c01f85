"""site.yml and wipe.yml through the adapter against a real gateway box in namespaces.

The tests of this module share one gateway and run in order: first apply, re-run, plan, a
ruleset changed by hand, a failing run, wipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provision.errors import PlaybookFailed
from provision.events import Event
from provision.onsite import gateway_plan, run_playbook
from tests.onsite.namespace_gateway import Gateway

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


def apply(gateway: Gateway, playbook: str = "site.yml", **kwargs: Any) -> Any:
    return run_playbook(playbook, gateway.inventory, host_vars=gateway.box.inventory_vars(),
                        **kwargs)


def plan(gateway: Gateway) -> Any:
    return gateway_plan(gateway.inventory, host_vars=gateway.box.inventory_vars())


def box_processes(gateway: Gateway) -> list[str]:
    """Command names of the processes inside the box, except its holder."""
    holder = gateway.box.pid
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


def addresses(gateway: Gateway) -> dict[str, set[str]]:
    links = json.loads(gateway.sh("ip -j -4 address show"))
    return {link["ifname"]: {f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"]}
            for link in links}


def test_a_plan_before_the_first_apply_lists_the_work_and_changes_nothing(
        gateway: Gateway) -> None:
    before = host_digest()

    fresh = plan(gateway)

    actions = {c.action for c in fresh.changes}
    assert {"ansible.builtin.copy", "provision_nftables", "provision_process"} <= actions
    assert gateway.sh("nft list ruleset").strip() == ""
    assert gateway.sh("ls /etc/provision 2>&1 || true").count("No such file") == 1
    assert host_digest() == before


def test_first_apply_configures_the_gateway_inside_the_box_only(gateway: Gateway) -> None:
    host = str(gateway.values["gateway_name"])
    before = host_digest()
    events: list[Event] = []

    result = apply(gateway, sink=events.append)

    assert result.changed[host] > 0
    ruleset = gateway.sh("nft list ruleset")
    assert "table inet provision" in ruleset and "table ip provision_nat" in ruleset
    assert "dnsmasq" in box_processes(gateway)
    live = addresses(gateway)
    for seg in gateway.values["segments"]:  # type: ignore[attr-defined]
        assert seg["gateway_cidr"] in live[seg["interface"]], seg["name"]
    assert live["wan0"] == {"100.64.1.10/24"} and live["wwan0"] == {"100.64.2.10/24"}
    assert gateway.sh("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
    state = json.loads(gateway.sh("cat /run/provision-failover.state"))
    assert state["active"] == "primary"
    assert host_digest() == before
    assert any(e.kind == "task.changed" for e in events)
    changed_paths = {c.path for c in result.changes}
    assert "/etc/provision/dnsmasq.conf" in changed_paths


def test_a_segment_client_gets_a_lease_from_the_gateway(gateway: Gateway) -> None:
    leased = subprocess.run(
        ["ip", "netns", "exec", gateway.clients_ns, "busybox", "udhcpc", "-i", "c15", "-f",
         "-q", "-n", "-t", "5", "-T", "1", "-s", "/bin/true"],
        capture_output=True, text=True, timeout=30)

    assert "lease of 10.50.15." in leased.stdout + leased.stderr


def test_second_run_changes_nothing(gateway: Gateway) -> None:
    result = apply(gateway)

    assert result.changed == {}
    assert result.changes == []


def test_plan_right_after_apply_is_empty(gateway: Gateway) -> None:
    assert plan(gateway).to_json() == []


def test_a_ruleset_changed_by_hand_shows_in_the_plan_and_is_repaired(gateway: Gateway) -> None:
    gateway.sh("nft delete table ip provision_nat")

    drift = plan(gateway)

    assert [c.action for c in drift.changes] == ["provision_nftables"]
    assert "provision_nat" not in drift.changes[0].diffs[0].before
    assert "provision_nat" in drift.changes[0].diffs[0].after
    json.dumps(drift.to_json())  # the plan is JSON-ready
    assert "provision_nat" not in gateway.sh("nft list tables")  # planning changed nothing

    repaired = apply(gateway)

    assert [c.action for c in repaired.changes] == ["provision_nftables"]
    assert "table ip provision_nat" in gateway.sh("nft list tables")
    assert plan(gateway).empty


def test_a_failing_task_names_the_host_and_the_task(gateway: Gateway, tmp_path: Path) -> None:
    events: list[Event] = []
    with pytest.raises(PlaybookFailed) as failed:
        apply(gateway, extra_vars={"provision_rendered_dir": str(tmp_path / "missing")},
              sink=events.append)

    message = failed.value.message
    assert str(gateway.values["gateway_name"]) in message
    assert "Install the rendered dnsmasq configuration" in message
    assert [e.subject for e in events if e.kind == "task.failed"] == [
        "Install the rendered dnsmasq configuration"]


def test_wipe_leaves_no_rules_interfaces_files_or_processes(gateway: Gateway) -> None:
    apply(gateway)

    apply(gateway, "wipe.yml")

    assert gateway.sh("nft list ruleset").strip() == ""
    assert box_processes(gateway) == []
    live = addresses(gateway)
    assert "lan0.10" not in live and "lan0.30" not in live  # the Wi-Fi segments' bridges
    for seg in gateway.values["segments"]:  # type: ignore[attr-defined]
        assert seg["gateway_cidr"] not in live.get(seg["interface"], set())
    assert live.get("wan0", set()) == set() and live.get("wwan0", set()) == set()
    assert gateway.sh("ls /etc/provision /etc/nftables.conf /var/lib/misc 2>&1 || true") \
        .count("No such file") == 2
    assert "dnsmasq.leases" not in gateway.sh("ls /var/lib/misc")
    assert gateway.sh("cat /proc/sys/net/ipv4/ip_forward").strip() == "0"
    assert apply(gateway, "wipe.yml").changed == {}
