"""A whole lab's life on an example with a static primary link: `lab up` through the CLI, the
host left as it was, a second `up` that reuses everything, verify passing, `lab down` through
the CLI leaving no namespace, process or file. The tests of this module run in order against
one lab (module scope); a finaliser removes it whatever happens."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provision.checks import load_site
from provision.cli import full_app
from provision.lab import netns
from provision.lab.lab import Lab
from provision.verify import KINDS, verify_lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")

REPO = Path(__file__).resolve().parents[2]
SITE_FILE = REPO / "sites" / "examples" / "vaccination-centre.yaml"
# Everything the gateway role writes on a gateway, and what a lab could leak into the host.
HOST_PATHS = ("/etc/provision", "/etc/nftables.conf", "/etc/sysctl.d", "/etc/systemd/network",
              "/etc/ssh/sshd_config.d", "/etc/dnsmasq.conf", "/run/provision", "/run/dnsmasq.pid",
              "/var/lib/misc", "/var/log/provision", "/var/log/dnsmasq.log",
              "/proc/sys/net/ipv4/ip_forward")


def _digest(path: Path) -> Any:
    if path.is_dir():
        return {str(p.relative_to(path)): _digest(p) for p in sorted(path.rglob("*"))
                if p.is_file()}
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return None


def host_snapshot() -> dict[str, Any]:
    """The host's files the role would touch, its own interfaces and its ruleset."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True)
    return {"files": {p: _digest(Path(p)) for p in HOST_PATHS},
            "links": sorted(line.split(":")[1].strip() for line in links.stdout.splitlines()),
            "ruleset": ruleset.stdout}


@pytest.fixture(scope="module")
def lab_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    lab_dir = tmp_path_factory.mktemp("lab") / "vaccination"
    lab = Lab(load_site(SITE_FILE), lab_dir)
    world: dict[str, Any] = {"lab": lab, "lab_dir": lab_dir, "host_before": host_snapshot()}
    yield world
    if lab_dir.exists() or any(netns.exists(n) for n in lab.plan.namespaces):
        lab.down()


def _cli(*args: str) -> Any:
    """Run a command; with --json, events come one per line, then the result as a document."""
    result = CliRunner().invoke(full_app(), list(args))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


def test_lab_up_builds_every_namespace_and_service(lab_world: dict[str, Any]) -> None:
    lab: Lab = lab_world["lab"]
    info = _cli("lab", "up", str(SITE_FILE), "--lab-dir", str(lab_world["lab_dir"]), "--json")
    lab_world["first"] = info
    assert info["ready"] is True
    assert sorted(info["namespaces"]) == sorted(lab.plan.namespaces)
    assert all(netns.exists(name) for name in lab.plan.namespaces)
    assert lab.status().up
    # the static link keeps the provider's address; the backup took its one DHCP lease
    assert info["wan_addresses"] == {"leased": "203.0.113.22", "mobile": "100.64.2.2"}
    # every wire was made in its namespaces: the gateway holds exactly the site's interfaces
    gateway_links = netns.ip("-o", "link", "show", netns=lab.plan.gateway_ns)
    for name in [lab.plan.lan_interface, *(s.gateway_interface for s in lab.plan.segments),
                 *(w.interface for w in lab.plan.wans)]:
        assert f" {name}@" in gateway_links


def test_host_is_left_as_it_was(lab_world: dict[str, Any]) -> None:
    assert host_snapshot() == lab_world["host_before"]
    lab: Lab = lab_world["lab"]
    # ...while inside the box the role did write the gateway's files
    assert lab.box.run("test", "-s", "/etc/nftables.conf").returncode == 0
    assert lab.box.run("test", "-s", "/etc/provision/dnsmasq.conf").returncode == 0


def test_second_up_reuses_what_exists(lab_world: dict[str, Any]) -> None:
    lab: Lab = lab_world["lab"]
    first = lab_world["first"]
    again = lab.up()
    assert again.processes == first["processes"]
    assert again.box_pid == first["box_pid"]
    assert again.namespaces == first["namespaces"]
    assert again.playbook_changed == 0


def test_verify_passes_every_check(lab_world: dict[str, Any], tmp_path: Path) -> None:
    lab: Lab = lab_world["lab"]
    report = verify_lab(lab, results_file=tmp_path / "verify.json")
    assert report.failed == []
    assert {r.kind for r in report.results} == set(KINDS)
    failover = next(r for r in report.results if r.name.startswith("failover:"))
    assert failover.name == "failover:leased->mobile"
    assert 0 < failover.measured["seconds"] <= failover.measured["bound"]


def test_lab_down_leaves_no_namespace_process_or_file(lab_world: dict[str, Any]) -> None:
    lab: Lab = lab_world["lab"]
    pids = [*lab.info().processes.values(), lab.box.pid]
    in_namespaces = [pid for name in lab.plan.namespaces for pid in netns.pids(name)]
    assert set(pids) <= set(in_namespaces)
    _cli("lab", "down", str(SITE_FILE), "--lab-dir", str(lab_world["lab_dir"]), "--json")
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert lab.plan.prefix not in listed
    assert not [pid for pid in in_namespaces if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"]
    assert not lab_world["lab_dir"].exists()
    assert host_snapshot() == lab_world["host_before"]
    lab.down()  # a second down is harmless
