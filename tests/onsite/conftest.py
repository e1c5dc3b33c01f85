"""A small real gateway for the adapter and role tests: network namespaces, veth wires named
as the site names its interfaces, an ISP namespace that hands out WAN leases (dnsmasq) and
answers the health-check targets, and a GatewayBox holding the gateway's files.

The kernel here has no 802.1Q devices, so each segment's VLAN device is a veth wire (as the
lab does it); the role creates the bridges of Wi-Fi segments itself.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provision.checks import load_site
from provision.lab.box import GatewayBox
from provision.render import gateway_vars, render_site

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "sites" / "examples" / "field-hospital.yaml"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def etc_digest() -> str:
    """A digest of the host's /etc (names, modes and contents), to prove the box kept out."""
    digest = hashlib.sha256()
    for path in sorted(Path("/etc").rglob("*")):
        digest.update(str(path).encode())
        try:
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


@dataclass
class Gateway:
    box: GatewayBox
    inventory: Path
    values: dict[str, object]
    gateway_ns: str
    isp_ns: str
    clients_ns: str

    def sh(self, command: str) -> str:
        """A shell command inside the gateway box; its output."""
        return self.box.run("sh", "-c", command, check=True).stdout

    def in_isp(self, *argv: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.isp_ns, *argv], check=True)


def build_gateway(site_file: Path, work: Path) -> Iterator[Gateway]:
    site = load_site(site_file)
    values = gateway_vars(site)
    render_site(site, work / "out")
    tag = uuid.uuid4().hex[:6]
    gw, isp, clients = f"pv-on{tag}-gw", f"pv-on{tag}-isp", f"pv-on{tag}-cl"
    dnsmasq: subprocess.Popen[bytes] | None = None
    box = GatewayBox(gw, work / "box")
    try:
        for ns in (gw, isp, clients):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", gw, "link", "add", str(values["lan_interface"]), "type", "veth",
           "peer", "trunk", "netns", clients)
        ip("-n", clients, "link", "set", "trunk", "up")
        for seg in values["segments"]:  # type: ignore[attr-defined]
            peer = f"c{seg['vlan']}"
            ip("-n", gw, "link", "add", seg["vlan_device"], "type", "veth",
               "peer", peer, "netns", clients)
            ip("-n", clients, "link", "set", peer, "up")
        ranges = []
        for index, link in enumerate(values["links"], start=1):  # type: ignore[attr-defined]
            peer = f"isp{index}"
            ip("-n", gw, "link", "add", link["interface"], "type", "veth",
               "peer", peer, "netns", isp)
            ip("-n", isp, "address", "add", f"100.64.{index}.1/24", "dev", peer)
            ip("-n", isp, "link", "set", peer, "up")
            ranges += [f"--interface={peer}",
                       f"--dhcp-range=100.64.{index}.10,100.64.{index}.10,255.255.255.0,1h"]
        for target in values["health_check"]["targets"]:  # type: ignore[index]
            ip("-n", isp, "address", "add", f"{target}/32", "dev", "lo")
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", isp, "dnsmasq", "--keep-in-foreground", "--port=0",
             "--conf-file=/dev/null", "--bind-interfaces", "--dhcp-authoritative",
             f"--dhcp-leasefile={work / 'isp.leases'}", f"--pid-file={work / 'isp.pid'}",
             *ranges], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        box.start()
        yield Gateway(box, work / "out" / "inventory", values, gw, isp, clients)
    finally:
        box.stop()
        if dnsmasq is not None:
            dnsmasq.terminate()
            dnsmasq.wait(timeout=10)
        for ns in (gw, isp, clients):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The example site's gateway in namespaces, not yet configured (module-wide: the tests
    of a module run in order against it)."""
    yield from build_gateway(EXAMPLE, tmp_path_factory.mktemp("gateway"))
