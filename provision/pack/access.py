"""What reaches what, read from every segment's `reach` list: one answer per (from, to) pair,
so the diagram's matrix and the page's wording can never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provision.checks.semantic import parse_reach
from provision.site.model import Site

INTERNET = "internet"


class Reach(StrEnum):
    ALL = "all"  # every port and protocol
    PORTS = "ports"  # only the listed proto/port rules
    NONE = "none"  # blocked
    SAME = "same"  # a segment's own clients reach each other
    ISOLATED = "isolated"  # client isolation: a segment's own clients do not


@dataclass(frozen=True)
class Access:
    reach: Reach
    ports: tuple[str, ...] = ()  # "tcp/104" ... when reach is PORTS

    @property
    def allowed(self) -> bool:
        return self.reach in (Reach.ALL, Reach.PORTS, Reach.SAME)

    @property
    def summary(self) -> str:
        """A short phrase for people: 'Yes', 'tcp/104, tcp/443', 'No'."""
        return {
            Reach.ALL: "Yes",
            Reach.PORTS: ", ".join(self.ports),
            Reach.NONE: "No",
            Reach.SAME: "Yes (same network)",
            Reach.ISOLATED: "No (isolated)",
        }[self.reach]


def access_matrix(site: Site) -> dict[tuple[str, str], Access]:
    """(from segment, to segment or 'internet') -> Access, for every pair."""
    names = [seg.name for seg in site.network.segments]
    matrix: dict[tuple[str, str], Access] = {}
    for seg in site.network.segments:
        whole: set[str] = set()
        ports: dict[str, list[str]] = {}
        for entry in seg.reach:
            parsed = parse_reach(entry)
            if parsed is None:  # load_site refuses these; never guess
                continue
            target, proto, port = parsed
            if proto is None:
                whole.add(target)
            else:
                ports.setdefault(target, []).append(f"{proto}/{port}")
        for target in [*names, INTERNET]:
            if target == seg.name:
                access = Access(Reach.ISOLATED if seg.client_isolation else Reach.SAME)
            elif target in whole:
                access = Access(Reach.ALL)
            elif target in ports:
                access = Access(Reach.PORTS, tuple(dict.fromkeys(ports[target])))
            else:
                access = Access(Reach.NONE)
            matrix[seg.name, target] = access
    return matrix
