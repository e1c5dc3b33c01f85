"""A small real gateway for the role's tests and its molecule scenario: network namespaces,
veth wires named as the site names its interfaces, an ISP namespace that hands out WAN leases
(dnsmasq) and answers the health-check targets, a client namespace holding the segments' far
ends, and a GatewayBox for the gateway's files. `up` records what it made in WORK/gateway.json
so that `down` (maybe in another process) removes exactly that.

The kernel here has no 802.1Q devices, so each segment's VLAN device is a veth wire (as the
lab does it); the role creates the bridges of Wi-Fi segments itself.

    python -m tests.onsite.namespace_gateway up WORK SITE_FILE | down WORK
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provision.checks import load_site
from provision.lab.box import GatewayBox
from provision.render import gateway_vars, render_site

STATE = "gateway.json"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass
class Gateway:
    work: Path
    gateway_ns: str
    isp_ns: str
    clients_ns: str
    values: dict[str, Any]
    isp_dhcp_pid: int | None = None

    @property
    def box(self) -> GatewayBox:
        return GatewayBox(self.gateway_ns, self.work / "box")

    @property
    def inventory(self) -> Path:
        return self.work / "out" / "inventory"

    def sh(self, command: str) -> str:
        """A shell command inside the gateway box; its output."""
        return self.box.run("sh", "-c", command, check=True).stdout

    def in_isp(self, *argv: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.isp_ns, *argv], check=True)

    def save(self) -> None:
        record = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        (self.work / STATE).write_text(json.dumps(record, indent=2))


def up(site_file: Path, work: Path) -> Gateway:
    site = load_site(site_file)
    values = gateway_vars(site)
    render_site(site, work / "out")
    tag = uuid.uuid4().hex[:6]
    gateway = Gateway(work.resolve(), f"pv-on{tag}-gw", f"pv-on{tag}-isp", f"pv-on{tag}-cl",
                      values)
    gateway.save()  # first, so that a failure half-way is still cleaned up by down()
    gw, isp, clients = gateway.gateway_ns, gateway.isp_ns, gateway.clients_ns
    for ns in (gw, isp, clients):
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", gw, "link", "add", values["lan_interface"], "type", "veth", "peer", "trunk",
       "netns", clients)
    ip("-n", clients, "link", "set", "trunk", "up")
    for seg in values["segments"]:
        peer = f"c{seg['vlan']}"
        ip("-n", gw, "link", "add", seg["vlan_device"], "type", "veth", "peer", peer,
           "netns", clients)
        ip("-n", clients, "link", "set", peer, "up")
    ranges = []
    for index, link in enumerate(values["links"], start=1):
        peer = f"isp{index}"
        ip("-n", gw, "link", "add", link["interface"], "type", "veth", "peer", peer,
           "netns", isp)
        ip("-n", isp, "address", "add", f"100.64.{index}.1/24", "dev", peer)
        ip("-n", isp, "link", "set", peer, "up")
        ranges += [f"--interface={peer}",
                   f"--dhcp-range=100.64.{index}.10,100.64.{index}.10,255.255.255.0,1h"]
    for target in values["health_check"]["targets"]:
        ip("-n", isp, "address", "add", f"{target}/32", "dev", "lo")
    gateway.isp_dhcp_pid = subprocess.Popen(
        ["ip", "netns", "exec", isp, "dnsmasq", "--keep-in-foreground", "--port=0",
         "--conf-file=/dev/null", "--bind-interfaces", "--dhcp-authoritative",
         f"--dhcp-leasefile={work / 'isp.leases'}", f"--pid-file={work / 'isp.pid'}",
         *ranges], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True).pid
    gateway.save()
    gateway.box.start()
    # What a run outside provision.onsite (molecule) adds to the rendered host variables.
    (work / "box-vars.yml").write_text(json.dumps({
        **gateway.box.inventory_vars(), "provision_rendered_dir": str(work.resolve() / "out")}))
    return gateway


def load(work: Path) -> Gateway:
    record = json.loads((work / STATE).read_text())
    return Gateway(**{**record, "work": Path(record["work"])})


def down(work: Path) -> None:
    gateway = load(work)
    gateway.box.stop()
    if gateway.isp_dhcp_pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(gateway.isp_dhcp_pid, signal.SIGTERM)
    for ns in (gateway.gateway_ns, gateway.isp_ns, gateway.clients_ns):
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["up"] and len(sys.argv) == 4:
        Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
        print(json.dumps(asdict(up(Path(sys.argv[3]), Path(sys.argv[2]))), default=str))
    elif sys.argv[1:2] == ["down"] and len(sys.argv) == 3:
        down(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
