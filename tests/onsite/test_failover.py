"""The WAN failover daemon in the lab: cut the primary link at its ISP, watch the default
route move to the backup, restore it, watch it move back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from provision.lab.lab import Lab
from provision.lab.topology import WEB_ADDRESS
from tests.onsite.conftest import EXAMPLE, built_lab, in_box

INTERVAL, FAILURES = 1, 2


@pytest.fixture(scope="module")
def fast_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The example site with a health check of 1 s x 2, up (configured, WAN links addressed)."""
    work = tmp_path_factory.mktemp("failover")
    text = EXAMPLE.read_text()
    for old, new in (("interval_seconds: 5", f"interval_seconds: {INTERVAL}"),
                     ("failures: 3 ", f"failures: {FAILURES} ")):
        assert old in text
        text = text.replace(old, new)
    site_file = work / "site.yaml"
    site_file.write_text(text)
    for lab in built_lab(site_file, work / "lab"):
        lab.up()
        yield lab


def state(lab: Lab) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(in_box(lab, "cat /run/provision-failover.state"))
    return loaded


def route_device(lab: Lab) -> str:
    route = json.loads(in_box(lab, f"ip -j route get {WEB_ADDRESS}"))
    return str(route[0]["dev"])


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_traffic_moves_to_the_backup_and_back(fast_lab: Lab) -> None:
    lab = fast_lab
    primary, [backup] = lab.plan.primary, lab.plan.backups
    # a stated slack over failures x interval: probe timeouts and the box's first probes
    limit = FAILURES * INTERVAL + 5
    assert wait_for(lambda: state(lab)["last_probe_ok"] is True, limit)
    assert route_device(lab) == primary.interface

    lab.cut_link(primary.link)

    assert wait_for(lambda: state(lab)["active"] == "backup", limit)
    assert route_device(lab) == backup.interface
    transition = state(lab)["transitions"][-1]  # type: ignore[index]
    assert transition["to"] == "backup" and transition["link"] == backup.link

    lab.restore_link(primary.link)

    assert wait_for(lambda: state(lab)["active"] == "primary", limit)
    assert route_device(lab) == primary.interface


def test_stopping_the_daemon_hands_traffic_back_and_removes_its_state(fast_lab: Lab) -> None:
    lab = fast_lab
    primary = lab.plan.primary
    lab.cut_link(primary.link)
    assert wait_for(lambda: state(lab)["active"] == "backup", FAILURES * INTERVAL + 5)

    record = json.loads(in_box(lab, "cat /run/provision/provision-failover.json"))
    in_box(lab, f"kill {record['pid']}")

    assert wait_for(lambda: "No such file" in lab.box.run(
        "cat", "/run/provision-failover.state").stderr, 5)
    assert route_device(lab) == primary.interface  # the links' own metrics decide again
    lab.restore_link(primary.link)
