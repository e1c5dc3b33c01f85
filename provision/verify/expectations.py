"""What the site file says traffic should do, as data: no I/O, nothing hard-coded.

`reach` is read through the same parser the validator uses. For every target (a segment or
the internet) the probed ports are the ones any rule names, the same numbers in the other
protocol, and one port of each protocol that no rule names, so that a rule allowing more than
it says (a whole segment instead of one port, UDP besides TCP) is caught.
"""

from __future__ import annotations

from provision.checks.semantic import parse_reach
from provision.lab.topology import ECHO_UDP_PORT, WEB_TCP_PORT
from provision.site.model import Site

INTERNET = "internet"
PROTOCOLS = ("tcp", "udp")
UNNAMED_PORT_FROM = 8000  # the first port tried as "a port no rule names"

Port = tuple[str, int]  # (proto, port)


def _rules(site: Site) -> list[tuple[str, str, str | None, int | None]]:
    """(source, target, proto, port) for every reach entry."""
    rules = []
    for seg in site.network.segments:
        for entry in seg.reach:
            parsed = parse_reach(entry)
            if parsed is not None:
                rules.append((seg.name, *parsed))
    return rules


def targets(site: Site) -> list[str]:
    return [*(seg.name for seg in site.network.segments), INTERNET]


def probe_ports(site: Site, target: str) -> list[Port]:
    named = {(proto, port) for _, t, proto, port in _rules(site)
             if t == target and proto is not None and port is not None}
    ports = set(named) | {(other, port) for _, port in named for other in PROTOCOLS}
    if target == INTERNET:
        ports |= {("tcp", WEB_TCP_PORT), ("udp", ECHO_UDP_PORT)}
    for proto in PROTOCOLS:
        unnamed = UNNAMED_PORT_FROM
        while (proto, unnamed) in ports:
            unnamed += 1
        ports.add((proto, unnamed))
    return sorted(ports)


def allows(site: Site, source: str, target: str, port: Port) -> bool:
    """True when a `reach` entry of `source` lets it reach `target` on `port`."""
    return any(s == source and t == target and (proto is None or (proto, number) == port)
               for s, t, proto, number in _rules(site))


def reach_matrix(site: Site) -> dict[tuple[str, str], dict[Port, bool]]:
    """For every ordered (source segment, target) pair: each probed port, allowed or not."""
    return {(seg.name, target): {port: allows(site, seg.name, target, port)
                                 for port in probe_ports(site, target)}
            for seg in site.network.segments for target in targets(site)
            if target != seg.name}


def reaches_internet(site: Site, segment: str) -> bool:
    """Whether `segment` may go out to the internet (the validator allows no port there)."""
    return any(s == segment and t == INTERNET for s, t, _, _ in _rules(site))
