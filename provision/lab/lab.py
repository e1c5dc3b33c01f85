"""`provision lab up/down`: a site's gateway rehearsed in network namespaces on this machine.

Every step is idempotent (a namespace, wire or process that exists is reused), and everything
made is recorded in the lab folder as it is made, so `up` can be run again after a failure
and `down` removes exactly this lab's namespaces and processes, then the folder.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import LabError
from provision.events import Event, EventSink, discard
from provision.lab import netns
from provision.lab.box import GatewayBox
from provision.lab.emulator import Emulator
from provision.lab.topology import (
    CLIENT_INTERFACE,
    ECHO_UDP_PORT,
    ISP_CUSTOMER_INTERFACE,
    ISP_UPSTREAM_INTERFACE,
    PROBE_NAME,
    TRUNK_INTERFACE,
    UNFILTERED_ANSWER,
    WEB_ADDRESS,
    WEB_TCP_PORT,
    LabPlan,
    WanPlan,
    plan_lab,
)
from provision.onsite import PlaybookResult, run_for_site
from provision.site.model import Site

STATE_FILE = "lab.json"
WAN_ADDRESS_WAIT_SECONDS = 20.0


@dataclass
class LabInfo:
    """What `lab up` built; saved as the lab folder's lab.json."""

    site_id: str
    lab_dir: str
    prefix: str
    namespaces: list[str] = field(default_factory=list)
    processes: dict[str, int] = field(default_factory=dict)
    box_pid: int | None = None
    gateway_ns: str = ""
    wan_addresses: dict[str, str] = field(default_factory=dict)
    cut_links: list[str] = field(default_factory=list)
    ready: bool = False
    up_seconds: float | None = None
    playbook_seconds: float | None = None
    playbook_changed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LabStatus:
    up: bool
    namespaces: dict[str, bool]
    processes: dict[str, bool]
    box_running: bool
    cut_links: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (it makes network namespaces)",
                       hint="run it as root, e.g. with sudo")


class Lab:
    """One site's lab in `lab_dir`. Other parts (verify, the handover pack) use this API."""

    def __init__(self, site: Site, lab_dir: Path) -> None:
        self.site = site
        self.lab_dir = lab_dir.resolve()
        self.plan: LabPlan = plan_lab(site, self.lab_dir)
        self.box = GatewayBox(self.plan.gateway_ns, self.lab_dir / "box")
        self.emulator = Emulator(self.lab_dir / "emulator")  # the lab's AWS

    # -- state ------------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.lab_dir / STATE_FILE

    def info(self) -> LabInfo:
        """The recorded state (an empty record when the lab was never brought up)."""
        try:
            return LabInfo(**json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return LabInfo(site_id=self.plan.site_id, lab_dir=str(self.lab_dir),
                           prefix=self.plan.prefix, gateway_ns=self.plan.gateway_ns)
        except (ValueError, TypeError) as exc:
            raise LabError(f"{self.state_file} is not a lab record: {exc}",
                           hint="remove the lab with `provision lab down` and bring it up "
                           "again") from exc

    def _save(self, info: LabInfo) -> None:
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(info.to_json(), indent=2) + "\n")
        temporary.replace(self.state_file)

    def require_up(self) -> LabInfo:
        info = self.info()
        if not info.ready or not netns.exists(self.plan.gateway_ns):
            raise LabError(f"the lab for {self.plan.site_id} is not up in {self.lab_dir}",
                           hint="bring it up first: provision lab up SITE")
        return info

    # -- up ---------------------------------------------------------------------------------

    def build(self, sink: EventSink = discard) -> LabInfo:
        """The lab's hardware: namespaces, wires, ISPs, the internet side and the gateway box.
        Safe to run again; changes nothing of the gateway's configuration."""
        info = self.info()
        sink(Event("step.start", f"{self.plan.prefix} in {self.lab_dir}", "lab"))
        self._namespaces(info)
        self._wires()
        self._addresses_and_routes()
        self._services(info)
        info.box_pid = self.box.start()
        self._save(info)
        sink(Event("step.done", "namespaces, wires, ISPs and the internet side are up", "lab",
                   {"namespaces": info.namespaces}))
        return info

    def up(self, sink: EventSink = discard, *,
           extra_vars: dict[str, Any] | None = None) -> LabInfo:
        """Build the lab, then apply playbooks/site.yml to its gateway (with `extra_vars`,
        e.g. values from the cloud side) and wait for the WAN links to get their addresses."""
        started = time.monotonic()
        unready = self.info()
        unready.ready = False  # until the playbook has run and the WAN links have addresses
        self._save(unready)
        info = self.build(sink)
        applied = self.converge(sink, extra_vars=extra_vars)
        info.playbook_seconds = applied.seconds
        info.playbook_changed = sum(applied.changed.values())
        info.wan_addresses = self._wait_for_wan_addresses()
        info.cut_links = []
        info.ready = True
        info.up_seconds = round(time.monotonic() - started, 2)
        self._save(info)
        sink(Event("step.done", f"lab up in {info.up_seconds}s", "lab", info.to_json()))
        return info

    def converge(self, sink: EventSink = discard, *, playbook: str = "site.yml",
                 check: bool = False, extra_vars: dict[str, Any] | None = None
                 ) -> PlaybookResult:
        """Render the site into the lab folder and run a playbook against the box: the same
        path a real gateway takes. site.yml also repairs a gateway changed by hand."""
        return run_for_site(self.site, self.lab_dir, playbook, check=check,
                            host_vars=self.box.inventory_vars(), extra_vars=extra_vars,
                            sink=sink)

    def _namespaces(self, info: LabInfo) -> None:
        for name in self.plan.namespaces:
            if not netns.exists(name):
                netns.add(name)
            if name not in info.namespaces:
                info.namespaces.append(name)
                self._save(info)  # recorded as made, so a failed `up` can still be taken down

    def _wires(self) -> None:
        plan = self.plan
        netns.veth(plan.gateway_ns, plan.lan_interface, plan.switch_ns, TRUNK_INTERFACE)
        for seg in plan.segments:
            netns.veth(plan.gateway_ns, seg.gateway_interface, seg.client_ns, CLIENT_INTERFACE)
        for wan in plan.wans:
            netns.veth(plan.gateway_ns, wan.interface, wan.isp_ns, ISP_CUSTOMER_INTERFACE)
            netns.veth(wan.isp_ns, ISP_UPSTREAM_INTERFACE, plan.internet_ns, wan.inet_interface)

    def _addresses_and_routes(self) -> None:
        plan = self.plan
        for address in plan.internet_addresses:
            netns.ip("addr", "replace", f"{address}/32", "dev", "lo", netns=plan.internet_ns)
        for wan in plan.wans:
            self._isp(wan)
        for seg in plan.segments:
            netns.ip("route", "replace", seg.cidr, "via", plan.primary.transit_isp,
                     netns=plan.internet_ns)

    def _isp(self, wan: WanPlan) -> None:
        """An ISP's link to the gateway up, its addresses, and its routes (a link taken down
        loses the routes through it, so restoring a cut link comes through here too)."""
        netns.ip("link", "set", "dev", ISP_CUSTOMER_INTERFACE, "up", netns=wan.isp_ns)
        netns.ip("addr", "replace", f"{wan.isp_address}/{wan.prefix_length}", "dev",
                 ISP_CUSTOMER_INTERFACE, netns=wan.isp_ns)
        netns.ip("addr", "replace", f"{wan.transit_isp}/30", "dev", ISP_UPSTREAM_INTERFACE,
                 netns=wan.isp_ns)
        netns.ip("addr", "replace", f"{wan.transit_inet}/30", "dev", wan.inet_interface,
                 netns=self.plan.internet_ns)
        netns.ip("route", "replace", "default", "via", wan.transit_inet, netns=wan.isp_ns)
        netns.ip("route", "replace", wan.subnet, "via", wan.transit_isp,
                 netns=self.plan.internet_ns)
        for seg in self.plan.segments:
            netns.ip("route", "replace", seg.cidr, "via", wan.gateway_address, netns=wan.isp_ns)
        forwarding = netns.run_in(wan.isp_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        if forwarding.returncode != 0:
            raise LabError(f"could not turn on forwarding in {wan.isp_ns}: "
                           f"{forwarding.stderr.strip()}")

    def _services(self, info: LabInfo) -> None:
        """The ISPs' DHCP servers and the internet's servers, each started unless running."""
        plan = self.plan
        wanted: dict[str, tuple[str, list[str]]] = {
            "web": (plan.internet_ns, [sys.executable, "-m", "provision.lab.echo",
                                       "--tcp", str(WEB_TCP_PORT), "--udp", str(ECHO_UDP_PORT)]),
            "resolver-protective": (plan.internet_ns, self._dnsmasq(
                "resolver-protective",
                *(f"--listen-address={a}" for a in plan.protective_resolvers),
                f"--address=/{PROBE_NAME}/{WEB_ADDRESS}")),
            "resolver-open": (plan.internet_ns, self._dnsmasq(
                "resolver-open", f"--listen-address={plan.open_resolver}",
                f"--address=/#/{UNFILTERED_ANSWER}")),
        }
        for wan in plan.wans:
            if wan.addressing == "dhcp":
                wanted[f"isp-dhcp-{wan.link}"] = (wan.isp_ns, self._isp_dhcp(wan))
        logs = self.lab_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name, (namespace, argv) in wanted.items():
            pid = info.processes.get(name)
            if pid is not None and netns.belongs(pid, namespace):
                continue
            info.processes[name] = netns.spawn(namespace, argv, logs / f"{name}.log")
            self._save(info)

    def _dnsmasq(self, name: str, *options: str) -> list[str]:
        """dnsmasq kept off the host's files: no /etc/dnsmasq.conf, pid and leases here."""
        return ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                "--no-hosts", "--bind-interfaces", "--user=root", "--log-facility=-",
                f"--pid-file={self.lab_dir / 'logs' / (name + '.pid')}", *options]

    def _isp_dhcp(self, wan: WanPlan) -> list[str]:
        """The ISP hands out exactly one address, so the gateway's WAN address is known."""
        netmask = str(ipaddress.IPv4Network(wan.subnet).netmask)
        return self._dnsmasq(
            f"isp-dhcp-{wan.link}", "--port=0", "--no-ping",
            f"--interface={ISP_CUSTOMER_INTERFACE}",
            f"--dhcp-range={wan.gateway_address},{wan.gateway_address},{netmask},1h",
            f"--dhcp-option=option:router,{wan.isp_address}",
            f"--dhcp-option=option:dns-server,{','.join(self.plan.protective_resolvers)}",
            "--dhcp-authoritative",
            f"--dhcp-leasefile={self.lab_dir / 'logs' / f'isp-dhcp-{wan.link}.leases'}")

    def _wait_for_wan_addresses(self) -> dict[str, str]:
        """The gateway takes its WAN addresses (DHCP or static) from the role."""
        deadline = time.monotonic() + WAN_ADDRESS_WAIT_SECONDS
        missing = list(self.plan.wans)
        while True:
            missing = [w for w in missing if w.gateway_address
                       not in netns.ipv4_addresses(self.plan.gateway_ns, w.interface)]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if missing:
            raise LabError("the gateway has no address on " + ", ".join(
                f"{w.interface} (expected {w.gateway_address} from link '{w.link}')"
                for w in missing), hint=f"see the logs in {self.lab_dir / 'logs'}")
        return {w.link: w.gateway_address for w in self.plan.wans}

    # -- links --------------------------------------------------------------------------------

    def cut_link(self, link: str) -> None:
        """Take the ISP's side of a WAN link down: the gateway sees its carrier go."""
        self._set_link(link, cut=True)

    def restore_link(self, link: str) -> None:
        self._set_link(link, cut=False)

    def _set_link(self, link: str, *, cut: bool) -> None:
        wan = self.plan.wan(link)
        info = self.require_up()
        if cut:
            netns.ip("link", "set", "dev", ISP_CUSTOMER_INTERFACE, "down", netns=wan.isp_ns)
        else:
            self._isp(wan)
        info.cut_links = sorted(set(info.cut_links) - {link} | ({link} if cut else set()))
        self._save(info)

    # -- status and down ----------------------------------------------------------------------

    def status(self) -> LabStatus:
        info = self.info()
        namespaces = {name: netns.exists(name) for name in self.plan.namespaces}
        owners = {name: self.plan.internet_ns for name in ("web", "resolver-protective",
                                                            "resolver-open")}
        owners |= {f"isp-dhcp-{w.link}": w.isp_ns for w in self.plan.wans}
        processes = {name: netns.belongs(pid, owners.get(name, "")) and namespaces.get(
            owners.get(name, ""), False) for name, pid in info.processes.items()}
        return LabStatus(up=info.ready and all(namespaces.values()) and all(processes.values())
                         and self.box.running, namespaces=namespaces, processes=processes,
                         box_running=self.box.running, cut_links=info.cut_links)

    def down(self, sink: EventSink = discard) -> None:
        """Stop every process of this lab (the AWS emulator too), delete its namespaces,
        then its folder (with the lab's cloud state, which lived in that emulator)."""
        info = self.info()
        self.emulator.stop()
        self.box.stop()
        recorded = [pid for pid in info.processes.values()
                    if any(netns.belongs(pid, name) for name in info.namespaces)]
        stubborn = netns.terminate(recorded)
        if stubborn:
            raise LabError(f"lab processes {stubborn} would not exit")
        mine = [n for n in netns.names() if n.startswith(self.plan.prefix + "-")]
        for name in dict.fromkeys([*info.namespaces, *self.plan.namespaces, *mine]):
            if netns.exists(name):
                netns.delete(name)
                sink(Event("step.done", f"namespace {name} removed", "lab"))
        leftover = [n for n in netns.names() if n.startswith(self.plan.prefix + "-")]
        if leftover:
            raise LabError(f"namespaces {leftover} are still there after lab down")
        shutil.rmtree(self.lab_dir, ignore_errors=True)
        if self.lab_dir.exists():
            raise LabError(f"{self.lab_dir} could not be removed")
        sink(Event("step.done", f"lab {self.plan.prefix} removed", "lab"))
