"""The gateway box: a real holder process in a real network namespace, real mounts."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.errors import LabError
from provision.lab.box import GatewayBox


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"pv-boxtest-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    # This kernel has no dummy or 802.1Q links; a veth pair inside the namespace stands in.
    subprocess.run(["ip", "-n", name, "link", "add", "wan0", "type", "veth", "peer", "wan0-peer"],
                   check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def box(netns: str, tmp_path: Path) -> Iterator[GatewayBox]:
    gateway = GatewayBox(netns, tmp_path / "box")
    yield gateway
    gateway.stop()


def _host_file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def test_writes_to_etc_land_in_the_box_not_on_the_host(box: GatewayBox) -> None:
    probe = Path("/etc") / f"provision-box-probe-{uuid.uuid4().hex[:8]}"
    hosts_before = _host_file_digest(Path("/etc/hosts"))
    box.start()

    box.run("sh", "-c", f"echo inside > {probe} && echo changed >> /etc/hosts", check=True)

    assert box.run("cat", str(probe), check=True).stdout == "inside\n"
    assert not probe.exists()
    assert _host_file_digest(Path("/etc/hosts")) == hosts_before
    assert (box.upper / probe.name).read_text() == "inside\n"


def test_run_and_the_python_wrapper_see_the_namespace(box: GatewayBox) -> None:
    box.start()

    assert "wan0" in box.run("ip", "-o", "link", check=True).stdout
    listed = subprocess.run(
        [str(box.python_wrapper), "-c", "import os; print(sorted(os.listdir('/sys/class/net')))"],
        capture_output=True, text=True, check=True).stdout
    assert listed.strip() == "['lo', 'wan0', 'wan0-peer']"
    assert box.inventory_vars() == {"ansible_connection": "local",
                                    "ansible_python_interpreter": str(box.python_wrapper),
                                    "gateway_service_manager": "direct"}


def test_run_and_lease_folders_are_private(box: GatewayBox) -> None:
    box.start()

    box.run("sh", "-c", "echo x > /run/provision-probe && echo y > /var/lib/misc/probe.leases",
            check=True)

    assert not Path("/run/provision-probe").exists()
    assert (box.root / "misc" / "probe.leases").read_text() == "y\n"


def test_start_is_idempotent_and_survives_a_new_object(box: GatewayBox) -> None:
    first = box.start()

    assert box.start() == first
    assert GatewayBox(box.netns, box.root).pid == first


def test_stop_ends_every_process_in_the_box_and_keeps_the_root(box: GatewayBox) -> None:
    box.start()
    daemon = subprocess.Popen(box.enter_argv("sleep", "300"), start_new_session=True)
    box_mounts = os.readlink(f"/proc/{box.pid}/ns/mnt")
    while os.readlink(f"/proc/{daemon.pid}/ns/mnt") != box_mounts:  # nsenter still entering
        time.sleep(0.01)

    box.stop()

    assert daemon.wait(timeout=5) != 0
    assert not box.running
    assert box.root.is_dir()
    with pytest.raises(LabError):
        _ = box.pid
    restarted = box.start()
    assert box.run("true").returncode == 0
    assert box.pid == restarted


def test_start_without_the_namespace_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="does not exist"):
        GatewayBox(f"pv-missing-{uuid.uuid4().hex[:8]}", tmp_path).start()
