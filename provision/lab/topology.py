"""The lab's shape, computed from a site and a lab folder: names and addresses, no I/O.

    clients (one namespace per segment) ── gateway namespace (the box) ── ISP per WAN link
                                                                          └── "internet"

The kernel on these machines has no 802.1Q devices, so the VLAN trunk is laid out as one wire
per VLAN: the gateway end carries the name the role gives the segment's VLAN device
(`lan0.15`, or `lan0v10` under a Wi-Fi bridge) and the other end is the client's `eth0`.
`lan0` itself is a wire to a switch namespace that holds the trunk's far end.

Each ISP routes the site's segments to the gateway and the internet routes them to the
primary ISP: a stricter world than a real ISP (which drops private sources), so that a
missing NAT shows up as a wrong source address and an inbound scan reaches the segments.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from provision.errors import LabError
from provision.render import gateway_vars
from provision.site.model import Site
from provision.site.paths import work_dir

WAN_SPACE = ipaddress.IPv4Network("100.64.0.0/16")  # gateway <-> ISP, one /24 per link
TRANSIT_SPACE = ipaddress.IPv4Network("100.66.0.0/16")  # ISP <-> internet, one /30 per link
SERVICE_SPACE = ipaddress.IPv4Network("198.51.100.0/24")  # the internet's own servers
WEB_ADDRESS = "198.51.100.80"
UNFILTERED_ANSWER = "198.51.100.99"  # what the non-protective resolver answers for any name
PROBE_NAME = "probe.provision.test"  # the protective resolver answers it with WEB_ADDRESS
WEB_TCP_PORT, ECHO_UDP_PORT = 80, 7
OPEN_RESOLVER_CANDIDATES = ("8.8.8.8", "8.8.4.4", "208.67.222.222")
CLIENT_INTERFACE = "eth0"
ISP_CUSTOMER_INTERFACE, ISP_UPSTREAM_INTERFACE = "cust", "uplink"
TRUNK_INTERFACE = "trunk"


@dataclass(frozen=True)
class WanPlan:
    link: str
    role: str
    interface: str  # the gateway's end, as the site names it
    isp_ns: str
    addressing: str
    isp_address: str  # the ISP router, as the gateway sees it
    gateway_address: str  # what the gateway gets (DHCP hands out only this one) or is given
    prefix_length: int
    inet_interface: str
    transit_inet: str
    transit_isp: str

    @property
    def subnet(self) -> str:
        return str(ipaddress.IPv4Interface(f"{self.isp_address}/{self.prefix_length}").network)


@dataclass(frozen=True)
class SegmentPlan:
    name: str
    vlan: int
    cidr: str
    client_ns: str
    gateway_interface: str  # the wire's gateway end: the role's VLAN device name


@dataclass(frozen=True)
class LabPlan:
    site_id: str
    lab_dir: Path
    prefix: str
    gateway_ns: str
    switch_ns: str
    internet_ns: str
    lan_interface: str
    admin_segment: str
    wans: tuple[WanPlan, ...]
    segments: tuple[SegmentPlan, ...]
    protective_resolvers: tuple[str, ...]
    open_resolver: str
    health_targets: tuple[str, ...]

    @property
    def namespaces(self) -> list[str]:
        return [self.gateway_ns, self.switch_ns, self.internet_ns,
                *(w.isp_ns for w in self.wans), *(s.client_ns for s in self.segments)]

    @property
    def primary(self) -> WanPlan:
        return next(w for w in self.wans if w.role == "primary")

    @property
    def backups(self) -> list[WanPlan]:
        return [w for w in self.wans if w.role != "primary"]

    def wan(self, link: str) -> WanPlan:
        for wan in self.wans:
            if wan.link == link:
                return wan
        raise LabError(f"the site has no WAN link named '{link}'",
                       hint="use a name from connectivity.links")

    def segment(self, name: str) -> SegmentPlan:
        for seg in self.segments:
            if seg.name == name:
                return seg
        raise LabError(f"the site has no segment named '{name}'")

    @property
    def internet_addresses(self) -> list[str]:
        """Every address the internet namespace answers on (its `lo`)."""
        return list(dict.fromkeys([WEB_ADDRESS, UNFILTERED_ANSWER, *self.protective_resolvers,
                                   self.open_resolver, *self.health_targets]))


def default_lab_dir(site_file: Path, site: Site) -> Path:
    """`.provision/<site-id>/lab/` beside the site file."""
    return work_dir(site_file, site.site.id) / "lab"


def lab_prefix(site_id: str, lab_dir: Path) -> str:
    """Short and unique per lab folder, so labs and parallel test suites never collide."""
    digest = hashlib.sha256(str(lab_dir.resolve()).encode()).hexdigest()[:6]
    return f"pv-{site_id[:4].strip('-')}-{digest}"


def plan_lab(site: Site, lab_dir: Path) -> LabPlan:
    prefix = lab_prefix(site.site.id, lab_dir)
    variables = gateway_vars(site)
    segments = tuple(
        SegmentPlan(name=seg["name"], vlan=seg["vlan"], cidr=seg["cidr"],
                    client_ns=f"{prefix}-c{seg['vlan']}", gateway_interface=seg["vlan_device"])
        for seg in variables["segments"])
    wans = tuple(_wan(site, i, prefix) for i in range(len(site.connectivity.links)))
    resolvers = tuple(site.network.dns.addresses())
    targets = tuple(site.connectivity.health_check.targets)
    taken = {*resolvers, *targets}
    open_resolver = next(a for a in OPEN_RESOLVER_CANDIDATES if a not in taken)
    _refuse_overlaps(segments, wans)
    return LabPlan(site_id=site.site.id, lab_dir=lab_dir.resolve(), prefix=prefix,
                   gateway_ns=f"{prefix}-gw", switch_ns=f"{prefix}-sw",
                   internet_ns=f"{prefix}-net", lan_interface=variables["lan_interface"],
                   admin_segment=site.gateway.admin_segment, wans=wans, segments=segments,
                   protective_resolvers=resolvers, open_resolver=open_resolver,
                   health_targets=targets)


def _wan(site: Site, index: int, prefix: str) -> WanPlan:
    link = site.connectivity.links[index]
    transit = list(TRANSIT_SPACE.subnets(new_prefix=30))[index + 1]
    if link.addressing == "pppoe":
        raise LabError(f"link '{link.name}' uses pppoe, which the lab cannot stand in for",
                       hint="use addressing: dhcp or static for a lab rehearsal")
    if link.addressing == "static" and link.address and link.next_hop:
        given = ipaddress.IPv4Interface(link.address)
        gateway_address, isp_address = str(given.ip), link.next_hop
        prefix_length = given.network.prefixlen
    else:
        subnet = list(WAN_SPACE.subnets(new_prefix=24))[index + 1]
        isp_address, gateway_address = str(subnet[1]), str(subnet[2])
        prefix_length = subnet.prefixlen
    return WanPlan(link=link.name, role=link.role, interface=link.interface,
                   isp_ns=f"{prefix}-isp{index}", addressing=link.addressing,
                   isp_address=isp_address, gateway_address=gateway_address,
                   prefix_length=prefix_length, inet_interface=f"isp{index}",
                   transit_inet=str(transit[1]), transit_isp=str(transit[2]))


def _refuse_overlaps(segments: tuple[SegmentPlan, ...], wans: tuple[WanPlan, ...]) -> None:
    for wan in wans:
        if wan.addressing == "static" and ipaddress.IPv4Network(wan.subnet).overlaps(
                SERVICE_SPACE):
            raise LabError(f"link '{wan.link}' ({wan.subnet}) overlaps {SERVICE_SPACE}, where "
                           "the lab keeps its internet servers",
                           hint="rehearse with another static address")
    reserved = [WAN_SPACE, TRANSIT_SPACE, SERVICE_SPACE,
                *(ipaddress.IPv4Network(w.subnet) for w in wans)]
    for seg in segments:
        network = ipaddress.IPv4Network(seg.cidr)
        clash = next((r for r in reserved if network.overlaps(r)), None)
        if clash is not None:
            raise LabError(f"segment '{seg.name}' ({seg.cidr}) overlaps {clash}, which the lab "
                           "uses for its WAN side", hint="rehearse with segments in 10.0.0.0/8 "
                           "or 172.16.0.0/12")
