"""The network diagram's layout: plain shapes at fixed coordinates, computed from the site.

Geometry lives here and markup in `templates/pack/diagram.svg.j2`, so the template stays
readable and the layout is deterministic: the same site always gives the same picture. From
top to bottom: the internet, the WAN links, the gateway, the LAN trunk with one box per
segment, then a matrix of what reaches what.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from provision.checks.policy import is_guest_like
from provision.pack.access import INTERNET, Access, Reach, access_matrix
from provision.site.model import Link, LinkType, Segment, Site, WifiSecurity

# Sized so that, printed across an A4 page, body text is still about 9pt.
MARGIN = 30.0
MIN_WIDTH = 900.0
SEGMENT_MIN_WIDTH = 180.0
SEGMENT_HEADER = 34.0
GAP = 20.0
MATRIX_LABEL_WIDTH = 150.0
MATRIX_MIN_COLUMN = 120.0
BODY = 15.0  # font size of body text
LINE = 20.0  # baseline-to-baseline distance of body text
CELL_LINE = 19.0
# Average glyph width as a share of the font size, on the wide side (DejaVu Sans), so that
# text we estimate to fit does fit in the fonts people are likely to have.
GLYPH_WIDTH = {"regular": 0.6, "bold": 0.68}


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    css: str  # a class from the diagram's stylesheet
    rx: float = 6.0  # corner radius


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    css: str
    size: float = BODY
    anchor: str = "middle"
    weight: str = "regular"
    fit: float | None = None  # squeeze to this width: the text would otherwise overflow


@dataclass(frozen=True)
class Wire:
    points: tuple[tuple[float, float], ...]
    css: str

    @property
    def d(self) -> str:
        (x0, y0), *rest = self.points
        return f"M{x0:g},{y0:g}" + "".join(f" L{x:g},{y:g}" for x, y in rest)


@dataclass
class Diagram:
    width: float
    height: float = 0.0
    rects: list[Rect] = field(default_factory=list)
    wires: list[Wire] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, css: str, *, size: float = BODY,
             anchor: str = "middle", weight: str = "regular", room: float) -> None:
        """Add a line of text; squeeze it if it would not fit in `room`."""
        self.texts.append(Text(x, y, text, css, size, anchor, weight,
                               room if text_width(text, size, weight) > room else None))


def text_width(text: str, size: float = BODY, weight: str = "regular") -> float:
    return len(text) * size * GLYPH_WIDTH[weight]


def wrap(text: str, room: float, size: float = BODY, weight: str = "regular") -> list[str]:
    """Break `text` into lines that fit `room`, at spaces and after hyphens; a single word too
    long for a line stays whole (and is squeezed when drawn)."""
    words = re.findall(r"[^\s-]*-|[^\s-]+\s*|\s+", text)
    lines = [""]
    for word in words:
        if lines[-1] and text_width((lines[-1] + word).rstrip(), size, weight) > room:
            lines.append("")
        lines[-1] += word
    return [line.strip() for line in lines]


LINK_TYPES = {
    LinkType.BROADBAND: "Broadband", LinkType.FTTP: "Fibre (FTTP)", LinkType.FOUR_G: "4G mobile",
    LinkType.FIVE_G: "5G mobile", LinkType.SATELLITE: "Satellite", LinkType.HSCN: "HSCN circuit",
    LinkType.MPLS: "MPLS circuit",
}


def link_summary(link: Link) -> str:
    speed = f"{link.bandwidth_mbps} Mbit/s" if link.bandwidth_mbps else "speed not stated"
    return f"{link.role} · {speed}"


def _centres(count: int, width: float, box: float, gap: float) -> list[float]:
    """Centre x of `count` boxes of width `box`, as a group centred on `width`."""
    span = count * box + (count - 1) * gap
    left = (width - span) / 2
    return [left + box / 2 + i * (box + gap) for i in range(count)]


def _spread(centre: float, width: float, count: int) -> list[float]:
    """`count` evenly spaced points across the middle of an edge `width` wide."""
    return [centre - width / 2 + width * (i + 1) / (count + 1) for i in range(count)]


def _links(d: Diagram, site: Site, top: float) -> float:
    """The internet, the WAN links and the gateway; returns the gateway's bottom edge."""
    mid = d.width / 2
    links = site.connectivity.links
    net_w, net_h = 240.0, 56.0
    d.rects.append(Rect(mid - net_w / 2, top, net_w, net_h, "internet"))
    d.text(mid, top + 24, "Internet", "title", size=18, weight="bold", room=net_w - 16)
    d.text(mid, top + 44, "public networks", "muted", size=14, room=net_w - 16)
    _legend(d, top)

    link_top = top + net_h + 56
    link_w = min(260.0, (d.width - 2 * MARGIN - (len(links) - 1) * GAP) / len(links))
    link_h = 86.0
    gw_top = link_top + link_h + 64
    gw_w, gw_h = 360.0, 90.0
    entries = _spread(mid, gw_w, len(links))
    exits = _spread(mid, net_w, len(links))
    for i, (link, x) in enumerate(zip(links, _centres(len(links), d.width, link_w, GAP),
                                      strict=True)):
        wire = "wire-primary" if link.role == "primary" else "wire-backup"
        bend = top + net_h + 28
        d.wires.append(Wire(((exits[i], top + net_h), (exits[i], bend), (x, bend),
                             (x, link_top)), wire))
        bend = link_top + link_h + 30
        d.wires.append(Wire(((x, link_top + link_h), (x, bend), (entries[i], bend),
                             (entries[i], gw_top)), wire))
        d.text(entries[i] + 6, gw_top - 8, link.interface, "muted", size=13, anchor="start",
               room=gw_w / (len(links) + 1))
        d.rects.append(Rect(x - link_w / 2, link_top, link_w, link_h, f"link {link.role}"))
        d.text(x, link_top + 24, link.name, "title", size=17, weight="bold", room=link_w - 16)
        d.text(x, link_top + 24 + LINE, LINK_TYPES[link.type], "body",
               room=link_w - 16)
        d.text(x, link_top + 24 + 2 * LINE, link_summary(link), "body", room=link_w - 16)

    d.rects.append(Rect(mid - gw_w / 2, gw_top, gw_w, gw_h, "gateway"))
    d.text(mid, gw_top + 26, "Site gateway", "title-inverse", size=18, weight="bold",
           room=gw_w - 16)
    d.text(mid, gw_top + 26 + LINE, "firewall · DHCP · DNS · link failover", "inverse",
           room=gw_w - 16)
    d.text(mid, gw_top + 26 + 2 * LINE, f"managed only from: {site.gateway.admin_segment}",
           "inverse", room=gw_w - 16)
    return gw_top + gw_h


def _legend(d: Diagram, top: float) -> None:
    x = d.width - MARGIN - 170
    for i, (css, label) in enumerate((("wire-primary", "primary link"),
                                      ("wire-backup", "backup link"))):
        y = top + 14 + i * 24
        d.wires.append(Wire(((x, y), (x + 44, y)), css))
        d.text(x + 54, y + 5, label, "body", size=14, anchor="start", room=130)


def _segment_lines(segment: Segment, gateway: str) -> list[str]:
    lines = [segment.cidr, f"Gateway {gateway}"]
    if segment.wifi is None:
        return [*lines, "No Wi-Fi"]
    lines.append(f"Wi-Fi: {segment.wifi.ssid}")
    if segment.wifi.security is WifiSecurity.OPEN:
        lines.append("open: no password")
    return lines


def _badge(site: Site, segment: Segment) -> tuple[str, str] | None:
    if is_guest_like(site, segment.name):
        return "GUEST / ISOLATED", "badge-guest"
    if segment.name == site.gateway.admin_segment:
        return "GATEWAY ADMIN", "badge-admin"
    return None


def _vlan_in_header(segment: Segment, room: float) -> bool:
    """The VLAN goes beside the name when both fit; otherwise it moves to the body."""
    return (text_width(segment.name, 18, "bold") + 8
            + text_width(f"VLAN {segment.vlan}", 14) <= room)


def _segment_body(segment: Segment, gateway: str, room: float) -> list[str]:
    lines = [] if _vlan_in_header(segment, room) else [f"VLAN {segment.vlan}"]
    for line in _segment_lines(segment, gateway):
        lines += wrap(line, room)
    return lines


def _segment_box(d: Diagram, site: Site, lines: list[str], segment: Segment, x: float,
                 y: float, size: tuple[float, float]) -> None:
    """One segment: a header with its name and VLAN, its addresses, Wi-Fi and marker."""
    box_w, box_h = size
    guest = is_guest_like(site, segment.name)
    left, room = x - box_w / 2 + 12, box_w - 24
    d.rects.append(Rect(x - box_w / 2, y, box_w, box_h, "segment"))
    d.rects.append(Rect(x - box_w / 2, y, box_w, SEGMENT_HEADER,
                        "segment-head guest" if guest else "segment-head", rx=0))
    vlan = f"VLAN {segment.vlan}"
    beside = _vlan_in_header(segment, room)
    d.text(left, y + 23, segment.name, "segment-name guest" if guest else "segment-name",
           size=18, weight="bold", anchor="start", room=room)
    if beside:
        d.text(left + room, y + 23, vlan, "segment-vlan guest" if guest else "segment-vlan",
               size=14, anchor="end", room=room)
    for i, line in enumerate(lines):
        d.text(left, y + SEGMENT_HEADER + 24 + i * LINE, line, "body", anchor="start",
               room=room)
    badge = _badge(site, segment)
    if badge:
        badge_y = y + box_h - 34
        d.rects.append(Rect(left, badge_y, room, 24, badge[1], rx=4))
        d.text(left + room / 2, badge_y + 17, badge[0], f"{badge[1]}-text", size=13,
               weight="bold", room=room - 8)


def _segments(d: Diagram, site: Site, gateways: Mapping[str, str], gw_bottom: float) -> float:
    """The LAN trunk and a box per segment, in rows; returns the last row's bottom edge."""
    segments = site.network.segments
    usable = d.width - 2 * MARGIN
    per_row = max(1, min(len(segments), int((usable + GAP) // (SEGMENT_MIN_WIDTH + GAP))))
    box_w = (usable - (per_row - 1) * GAP) / per_row
    lines = {seg.name: _segment_body(seg, gateways[seg.name], box_w - 24) for seg in segments}
    badges = any(_badge(site, seg) for seg in segments)
    box_h = (SEGMENT_HEADER + 14 + LINE * max(len(body) for body in lines.values())
             + (34 if badges else 0))
    row_step = box_h + 64
    mid = d.width / 2
    spine_x = MARGIN / 2
    top = gw_bottom + 70
    d.wires.append(Wire(((mid, gw_bottom), (mid, top - 34)), "wire-lan"))
    d.text(mid + 8, gw_bottom + 20, f"{site.gateway.lan_interface} · VLAN trunk", "muted",
           size=13, anchor="start", room=220)
    rows = math.ceil(len(segments) / per_row)
    for row in range(rows):
        chunk = segments[row * per_row:(row + 1) * per_row]
        y = top + row * row_step
        bus_y = y - 34
        xs = [MARGIN + box_w / 2 + i * (box_w + GAP) for i in range(len(chunk))]
        left = spine_x if rows > 1 else min(xs[0], mid)
        right = max(xs[-1], mid) if row == 0 else xs[-1]
        d.wires.append(Wire(((left, bus_y), (right, bus_y)), "wire-lan"))
        if row:
            d.wires.append(Wire(((spine_x, bus_y - row_step), (spine_x, bus_y)), "wire-lan"))
        for seg, x in zip(chunk, xs, strict=True):
            d.wires.append(Wire(((x, bus_y), (x, y)), "wire-lan"))
            _segment_box(d, site, lines[seg.name], seg, x, y, (box_w, box_h))
    return top + rows * box_h + (rows - 1) * 64


CELL_STYLE = {Reach.ALL: "cell-yes", Reach.SAME: "cell-yes", Reach.PORTS: "cell-ports",
              Reach.NONE: "cell-no", Reach.ISOLATED: "cell-no"}


def _cell_lines(access: Access) -> list[str]:
    if access.reach is Reach.PORTS:
        return [", ".join(access.ports[i:i + 2]) for i in range(0, len(access.ports), 2)]
    if access.reach is Reach.SAME:
        return ["Yes", "(same network)"]
    if access.reach is Reach.ISOLATED:
        return ["No", "(isolated)"]
    return [access.summary]


def _matrix(d: Diagram, site: Site, top: float) -> float:
    """What reaches what: rows are where traffic starts, columns where it may go."""
    matrix = access_matrix(site)
    names = [seg.name for seg in site.network.segments]
    targets = [*names, INTERNET]
    col_w = (d.width - 2 * MARGIN - MATRIX_LABEL_WIDTH) / len(targets)
    d.text(MARGIN, top + 20, "What can reach what", "title", size=19, weight="bold",
           anchor="start", room=d.width - 2 * MARGIN)
    d.text(MARGIN, top + 42, "Rows: where traffic starts. Columns: where it may go. "
           "Anything not allowed here is blocked by the gateway.", "muted", size=14,
           anchor="start", room=d.width - 2 * MARGIN)
    y = top + 58
    heads = [wrap("Internet" if t == INTERNET else t, col_w - 12, 15, "bold") for t in targets]
    head_h = 16 + CELL_LINE * max(len(lines) for lines in heads)
    d.rects.append(Rect(MARGIN, y, MATRIX_LABEL_WIDTH, head_h, "matrix-head"))
    d.text(MARGIN + 10, y + head_h / 2 + 5, "from \u2193  to \u2192", "matrix-head-text",
           size=14, anchor="start", room=MATRIX_LABEL_WIDTH - 20)
    for i, lines in enumerate(heads):
        x = MARGIN + MATRIX_LABEL_WIDTH + i * col_w
        d.rects.append(Rect(x, y, col_w, head_h, "matrix-head"))
        _lines(d, x + col_w / 2, y, head_h, lines, "matrix-head-text", col_w - 12, "middle",
               size=15, weight="bold")
    y += head_h
    for name in names:
        label = wrap(name, MATRIX_LABEL_WIDTH - 20, BODY, "bold")
        cells = [_cell_lines(matrix[name, target]) for target in targets]
        row_h = 16 + CELL_LINE * max(len(lines) for lines in [label, *cells])
        d.rects.append(Rect(MARGIN, y, MATRIX_LABEL_WIDTH, row_h, "matrix-label"))
        _lines(d, MARGIN + 10, y, row_h, label, "body", MATRIX_LABEL_WIDTH - 20, "start",
               weight="bold")
        for i, (target, lines) in enumerate(zip(targets, cells, strict=True)):
            x = MARGIN + MATRIX_LABEL_WIDTH + i * col_w
            d.rects.append(Rect(x, y, col_w, row_h, CELL_STYLE[matrix[name, target].reach]))
            _lines(d, x + col_w / 2, y, row_h, lines, "body", col_w - 12, "middle")
        y += row_h
    return y


def _lines(d: Diagram, x: float, top: float, height: float, lines: list[str], css: str,
           room: float, anchor: str, *, size: float = BODY, weight: str = "regular") -> None:
    """Lines of text centred vertically in a cell `height` tall."""
    first = top + height / 2 + 5 - CELL_LINE / 2 * (len(lines) - 1)
    for j, line in enumerate(lines):
        d.text(x, first + CELL_LINE * j, line, css, size=size, anchor=anchor, weight=weight,
               room=room)


def layout(site: Site, gateways: Mapping[str, str]) -> Diagram:
    """The whole diagram for a site, sized to fit everything without overlap. `gateways`:
    the gateway's address on each segment, by segment name."""
    columns = len(site.network.segments) + 1
    width = max(MIN_WIDTH, 2 * MARGIN + MATRIX_LABEL_WIDTH + columns * MATRIX_MIN_COLUMN,
                2 * MARGIN + len(site.connectivity.links) * (180 + GAP))
    diagram = Diagram(width)
    bottom = _links(diagram, site, MARGIN / 2)
    bottom = _segments(diagram, site, gateways, bottom)
    diagram.height = _matrix(diagram, site, bottom + 40) + MARGIN / 2
    return diagram
