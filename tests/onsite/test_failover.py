"""The WAN failover daemon on a real gateway box: cut the primary link, watch the default
route move to the backup, restore it, watch it move back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from provision.onsite import run_playbook
from tests.onsite.conftest import EXAMPLE, build_gateway
from tests.onsite.namespace_gateway import Gateway

INTERVAL, FAILURES = 1, 2


@pytest.fixture(scope="module")
def fast_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The example site with a health check of 1 s x 2, configured."""
    work = tmp_path_factory.mktemp("failover")
    text = EXAMPLE.read_text()
    for old, new in (("interval_seconds: 5", f"interval_seconds: {INTERVAL}"),
                     ("failures: 3 ", f"failures: {FAILURES} ")):
        assert old in text
        text = text.replace(old, new)
    site_file = work / "site.yaml"
    site_file.write_text(text)
    for gateway in build_gateway(site_file, work):
        run_playbook("site.yml", gateway.inventory, host_vars=gateway.box.inventory_vars())
        yield gateway


def state(gateway: Gateway) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(gateway.sh("cat /run/provision-failover.state"))
    return loaded


def route_device(gateway: Gateway) -> str:
    route = json.loads(gateway.sh("ip -j route get 203.0.113.80"))
    return str(route[0]["dev"])


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_traffic_moves_to_the_backup_and_back(fast_gateway: Gateway) -> None:
    gateway = fast_gateway
    # a stated slack over failures x interval: probe timeouts and the box's first probes
    limit = FAILURES * INTERVAL + 5
    assert wait_for(lambda: state(gateway)["last_probe_ok"] is True, limit)
    assert route_device(gateway) == "wan0"

    gateway.in_isp("ip", "link", "set", "isp1", "down")  # the primary ISP's end of wan0

    assert wait_for(lambda: state(gateway)["active"] == "backup", limit)
    assert route_device(gateway) == "wwan0"
    transition = state(gateway)["transitions"][-1]  # type: ignore[index]
    assert transition["to"] == "backup" and transition["link"] == "mobile"

    gateway.in_isp("ip", "link", "set", "isp1", "up")

    assert wait_for(lambda: state(gateway)["active"] == "primary", limit)
    assert route_device(gateway) == "wan0"


def test_stopping_the_daemon_hands_traffic_back_and_removes_its_state(
        fast_gateway: Gateway) -> None:
    gateway = fast_gateway
    gateway.in_isp("ip", "link", "set", "isp1", "down")
    assert wait_for(lambda: state(gateway)["active"] == "backup", FAILURES * INTERVAL + 5)

    record = json.loads(gateway.sh("cat /run/provision/provision-failover.json"))
    gateway.sh(f"kill {record['pid']}")

    assert wait_for(lambda: "No such file" in gateway.box.run(
        "cat", "/run/provision-failover.state").stderr, 5)
    assert route_device(gateway) == "wan0"  # the links' own metrics decide again
    gateway.in_isp("ip", "link", "set", "isp1", "up")
