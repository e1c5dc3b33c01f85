"""Everything the gateway templates and the gateway role need, computed once from a Site.

The templates only lay values out; every decision (addresses, DHCP ranges, interface names,
which forward rules `reach` asks for) is made here, so the rendered files and the Ansible
variables can never disagree. Each rule keeps the site-file line it comes from, for comments.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from provision.checks.policy import is_guest_like
from provision.checks.semantic import parse_reach
from provision.errors import RenderFailed
from provision.site.model import Segment, Site, WifiSecurity

MANAGEMENT_PORT = 22
INTERNET = "internet"
# Linux interface names: at most 15 bytes; anything else would also be unsafe inside the
# rendered nftables, dnsmasq and shell files.
IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
FIRST_METRIC, METRIC_STEP = 100, 100
LEASE_TIME, GUEST_LEASE_TIME = "12h", "2h"
WIFI_CHANNELS = (1, 6, 11)  # the non-overlapping 2.4 GHz channels, one per radio in turn
DNSMASQ = {
    "lease_file": "/var/lib/misc/dnsmasq.leases",
    "pid_file": "/run/dnsmasq.pid",
    "log_file": "/var/log/dnsmasq.log",
    "cache_size": 1000,
}


def _line(site: Site, *path: str | int) -> int:
    return site.source.at(*path).line


def _ifname(name: str, what: str, line: int) -> str:
    if not IFNAME.match(name):
        raise RenderFailed(f"{what} '{name}' (site file line {line}) is not a usable interface "
                           "name", hint="use 1-15 letters, digits, '.', '_' or '-', starting "
                           "with a letter or digit (e.g. lan0, enp2s0)")
    return name


def _one_line(text: str, what: str, line: int) -> str:
    if CONTROL_CHARS.search(text):
        raise RenderFailed(f"{what} (site file line {line}) contains a control character",
                           hint="remove line breaks and tabs from it")
    return text


def dhcp_range(network: ipaddress.IPv4Network) -> tuple[str, str]:
    """Leases from about an eighth into the network (at most .10), to one below the last host:
    the low addresses and the last one stay free for printers, APs and other static kit."""
    start_offset = max(2, min(10, network.num_addresses // 8))
    start = network.network_address + start_offset
    end = network.broadcast_address - 2
    return str(start), str(end)


def _wifi(site: Site, seg: Segment, index: int, radio: int) -> dict[str, Any] | None:
    if seg.wifi is None:
        return None
    line = _line(site, "network", "segments", index, "wifi")
    if seg.wifi.security is WifiSecurity.WPA3_ENTERPRISE:
        raise RenderFailed(f"segment '{seg.name}' (site file line {line}) asks for "
                           "wpa3-enterprise, which needs a RADIUS server the site file cannot "
                           "name yet", hint="use wpa3-personal for now")
    return {
        "ssid": _one_line(seg.wifi.ssid, f"the SSID of segment '{seg.name}'", line),
        "security": seg.wifi.security.value,
        "passphrase_secret": (None if seg.wifi.security is WifiSecurity.OPEN
                              else site.wifi_secret(seg)),
        "ap_interface": f"wlan{radio}",
        "channel": WIFI_CHANNELS[radio % len(WIFI_CHANNELS)],
        "line": line,
    }


def _segment(site: Site, seg: Segment, index: int, radio: int) -> dict[str, Any]:
    lan = site.gateway.lan_interface
    line = _line(site, "network", "segments", index)
    network = ipaddress.IPv4Network(seg.cidr)
    gateway_address = network.network_address + 1
    start, end = dhcp_range(network)
    guest = is_guest_like(site, seg.name)
    wifi = _wifi(site, seg, index, radio)
    interface = _ifname(f"{lan}.{seg.vlan}", f"segment '{seg.name}' interface", line)
    return {
        "name": seg.name,
        "vlan": seg.vlan,
        # The gateway's address is always on `interface`. With Wi-Fi, `interface` is a bridge
        # holding the VLAN sub-interface (`vlan_device`) and the access point, so that wired
        # and wireless clients share one segment; without, it is the VLAN sub-interface itself.
        "interface": interface,
        "vlan_device": (_ifname(f"{lan}v{seg.vlan}", f"segment '{seg.name}' VLAN device", line)
                        if wifi else interface),
        "bridged": wifi is not None,
        "cidr": str(network),
        "network": str(network.network_address),
        "prefix_length": network.prefixlen,
        "netmask": str(network.netmask),
        "gateway_address": str(gateway_address),
        "gateway_cidr": f"{gateway_address}/{network.prefixlen}",
        "dhcp_start": start,
        "dhcp_end": end,
        "lease_time": GUEST_LEASE_TIME if guest else LEASE_TIME,
        "client_isolation": seg.client_isolation,
        "guest": guest,
        "admin": seg.name == site.gateway.admin_segment,
        "wifi": wifi,
        "reach": list(seg.reach),
        "line": line,
    }


def _forward_rules(site: Site, interfaces: dict[str, str]) -> list[dict[str, Any]]:
    """`reach` as explicit rules: from a segment's interface to 'internet' (any WAN link) or
    to another segment's interface, optionally limited to one proto/port."""
    rules: list[dict[str, Any]] = []
    for i, seg in enumerate(site.network.segments):
        for j, entry in enumerate(seg.reach):
            parsed = parse_reach(entry)
            if parsed is None:  # load_site refuses these; a Site built otherwise must too
                raise RenderFailed(f"reach entry '{entry}' of segment '{seg.name}' does not "
                                   "parse", hint="run `provision validate` on the site file")
            target, proto, port = parsed
            rules.append({
                "segment": seg.name,
                "src_interface": interfaces[seg.name],
                "target": target,
                "dst_interface": INTERNET if target == INTERNET else interfaces[target],
                "proto": proto,
                "port": port,
                "reach": entry,
                "line": _line(site, "network", "segments", i, "reach", j),
            })
    return rules


def _links(site: Site) -> list[dict[str, Any]]:
    """WAN links, primary first; route metrics rise in that order so the primary wins."""
    indexed = sorted(enumerate(site.connectivity.links), key=lambda il: il[1].role != "primary")
    links = []
    for rank, (i, link) in enumerate(indexed):
        line = _line(site, "connectivity", "links", i)
        links.append({
            "name": _one_line(link.name, "a link name", line),
            "type": link.type.value,
            "role": link.role,
            "interface": _ifname(link.interface, f"link '{link.name}' interface", line),
            "addressing": link.addressing,
            "address": link.address,
            "next_hop": link.next_hop,
            "credentials_secret": link.credentials_secret,
            "metric": FIRST_METRIC + rank * METRIC_STEP,
            "line": line,
        })
    return links


def gateway_vars(site: Site) -> dict[str, Any]:
    """The gateway's variables: the templates' context and the role's host_vars (plain YAML
    types only). Needs a Site from `load_site`, whose lines the comments cite."""
    lan = _ifname(site.gateway.lan_interface, "gateway.lan_interface",
                  _line(site, "gateway", "lan_interface"))
    radios = 0
    segments = []
    for index, seg in enumerate(site.network.segments):
        segments.append(_segment(site, seg, index, radios))
        radios += seg.wifi is not None
    interfaces = {s["name"]: s["interface"] for s in segments}
    links = _links(site)
    check = site.connectivity.health_check
    return {
        "site_id": site.site.id,
        "site_name": _one_line(site.site.name, "site.name", _line(site, "site", "name")),
        "gateway_name": f"{site.site.id}-gw",
        "lan_interface": lan,
        "admin_segment": site.gateway.admin_segment,
        "admin_interface": interfaces[site.gateway.admin_segment],
        "admin_line": _line(site, "gateway", "admin_segment"),
        "management_port": MANAGEMENT_PORT,
        "admin_secret": site.secret_name("gateway-admin"),
        "links": links,
        "wan_interfaces": [link["interface"] for link in links],
        "health_check": {
            "targets": list(check.targets),
            "interval_seconds": check.interval_seconds,
            "failures": check.failures,
        },
        "resolvers": site.network.dns.addresses(),
        "ntp": list(site.network.ntp),
        "segments": segments,
        "lan_interfaces": [s["interface"] for s in segments],
        "forward_rules": _forward_rules(site, interfaces),
        "dnsmasq": dict(DNSMASQ),
    }
