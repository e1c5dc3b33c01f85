"""verify against the field hospital's lab: every check passes on the gateway as applied, and
each kind of damage done by hand inside the gateway makes the right check fail (then is
undone). One lab for the module: the tests restore what they break."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provision.checks import load_site
from provision.cli import full_app
from provision.events import Event
from provision.lab.lab import Lab
from provision.pack import read_verify_results
from provision.render import gateway_vars
from provision.verify import KINDS, failover_deadline, verify_lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")

REPO = Path(__file__).resolve().parents[2]
SITE_FILE = REPO / "sites" / "examples" / "field-hospital.yaml"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(load_site(SITE_FILE), tmp_path_factory.mktemp("verify") / "lab")
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


def _restore_ruleset(lab: Lab) -> None:
    """Load the rendered ruleset again (it starts with `flush ruleset`)."""
    done = lab.box.run("nft", "-f", str(lab.lab_dir / "rendered" / "gateway" / "nftables.conf"))
    assert done.returncode == 0, done.stderr


def _box_processes(lab: Lab, word: str) -> list[int]:
    """Processes in the gateway's box whose command line mentions `word`."""
    box_ns = os.readlink(f"/proc/{lab.box.pid}/ns/mnt")
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and os.readlink(entry / "ns" / "mnt") == box_ns
                    and word.encode() in (entry / "cmdline").read_bytes()):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_every_check_passes_on_the_applied_gateway(lab: Lab, tmp_path: Path) -> None:
    events: list[Event] = []
    results = tmp_path / "verify.json"
    report = verify_lab(lab, events.append, results_file=results)
    assert [r.name for r in report.failed] == []
    site = lab.site
    segments = len(site.network.segments)
    kinds = Counter(r.kind for r in report.results)
    assert set(kinds) == set(KINDS)
    # derived from the file: one reach check per ordered pair of segments and the internet
    assert kinds["reach"] == segments * (segments - 1) + segments
    assert kinds["dhcp"] == kinds["dns"] == kinds["dns-bypass"] == kinds["management"] == 4
    reaching_internet = [s.name for s in site.network.segments if "internet" in s.reach]
    assert sorted(r.name for r in report.results if r.kind == "nat") == sorted(
        f"nat:{name}" for name in reaching_internet)
    devices = next(r for r in report.results if r.name == "reach:devices->clinical")
    assert devices.expected.startswith("open tcp/104, tcp/443; closed")
    assert "udp/104" in devices.expected  # the same port in the other protocol is probed
    base, slack = failover_deadline(lab)
    assert (base, slack) == (15, 8)  # 3 failures x 5 s, plus one interval and 3 s
    for name in ("failover:fttp->mobile", "failback:mobile->fttp"):
        measured = next(r for r in report.results if r.name == name).measured
        assert 0 < measured["seconds"] <= base + slack
    assert [e.subject for e in events] == [r.name for r in report.results]
    assert {e.kind for e in events} == {"check.done"}
    saved = read_verify_results(results)  # the handover pack reads what verify saves
    assert [c.name for c in saved] == [r.name for r in report.results]


def test_nat_table_removed_fails_nat_but_not_reach(lab: Lab, tmp_path: Path) -> None:
    deleted = lab.box.run("nft", "delete", "table", "ip", "provision_nat")
    assert deleted.returncode == 0, deleted.stderr
    try:
        report = verify_lab(lab, kinds=["nat", "reach"])
        failed = {r.name for r in report.failed}
        assert failed == {"nat:clinical", "nat:it", "nat:guest"}
        # the internet still answers (the lab's ISPs route the segments back): only the
        # address the server saw shows that NAT is gone
        clinical = next(r for r in report.results if r.name == "nat:clinical")
        assert "saw us as 10.50.10." in clinical.seen
        assert next(r for r in report.results if r.name == "reach:clinical->internet").passed
        cli = CliRunner().invoke(full_app(), ["verify", str(SITE_FILE), "--lab-dir",
                                              str(lab.lab_dir), "--only", "nat", "--json",
                                              "--results", str(tmp_path / "nat.json")])
        assert cli.exit_code == 1
        assert json.loads(cli.output)["failed"] == 3
    finally:
        _restore_ruleset(lab)
    assert verify_lab(lab, kinds=["nat"]).passed


def test_reach_widened_by_hand_fails_that_pair_only(lab: Lab) -> None:
    interfaces = {s["name"]: s["interface"] for s in gateway_vars(lab.site)["segments"]}
    widened = lab.box.run("nft", "insert", "rule", "inet", "provision", "forward", "iifname",
                          interfaces["guest"], "oifname", interfaces["clinical"], "accept")
    assert widened.returncode == 0, widened.stderr
    try:
        report = verify_lab(lab, kinds=["reach"])
        assert [r.name for r in report.failed] == ["reach:guest->clinical"]
        assert "tcp/104 open" in report.failed[0].seen
    finally:
        _restore_ruleset(lab)
    assert verify_lab(lab, kinds=["reach"]).passed


def test_failover_service_stopped_fails_failover(lab: Lab) -> None:
    daemons = _box_processes(lab, "provision-failover")
    assert daemons, "the failover service is not running in the box"
    assert lab.box.run("kill", *map(str, daemons)).returncode == 0
    try:
        report = verify_lab(lab, kinds=["failover"])
        assert [r.name for r in report.failed] == ["failover:fttp->mobile"]
        assert lab.status().cut_links == []  # the primary link was given back
    finally:
        lab.converge()
    assert _box_processes(lab, "provision-failover")


def test_port_opened_to_the_internet_is_found_by_the_scan(lab: Lab) -> None:
    primary = lab.plan.primary
    opened = lab.box.run("nft", "insert", "rule", "inet", "provision", "input", "iifname",
                         primary.interface, "tcp", "dport", "22", "accept")
    assert opened.returncode == 0, opened.stderr
    try:
        report = verify_lab(lab, kinds=["scan"])
        assert [r.name for r in report.failed] == ["scan:internet"]
        # every address of the gateway's own is reached through that WAN link
        found = report.failed[0].seen.removeprefix("open: ").split(", ")
        assert f"{primary.gateway_address}:tcp/22" in found
        assert all(entry.endswith(":tcp/22") for entry in found)
    finally:
        _restore_ruleset(lab)
