"""The handover pack: one self-contained HTML page for the people running the site.

Everything is inline (styles and the SVG diagram) because the people who print or open it
may be offline. Secrets are never read here: the page names where each one lives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from provision.checks.policy import is_guest_like
from provision.pack.diagram import LINK_TYPES, layout
from provision.render import gateway_vars
from provision.site.model import Segment, Site, WifiSecurity
from provision.verify import CheckResult

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "pack"
PAGE = "index.html"

SECURITY_LABELS = {
    WifiSecurity.WPA3_PERSONAL: "WPA3-Personal (password)",
    WifiSecurity.WPA2_PERSONAL: "WPA2-Personal (password)",
    WifiSecurity.WPA3_ENTERPRISE: "WPA3-Enterprise",
    WifiSecurity.OPEN: "Open (no password)",
}


@dataclass(frozen=True)
class WifiNetwork:
    ssid: str
    security: str
    segment: str
    guest: bool
    isolated: bool  # clients cannot reach each other
    secret: str | None  # the passphrase's name in the secret store; None for an open network


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    gateway: str  # the gateway's address on the segment
    dhcp: str  # the range of addresses handed out
    guest: bool


def segment_rows(site: Site) -> list[SegmentRow]:
    """Each segment with the addresses the gateway is configured with (from the renderer, so
    the pack and the gateway always agree)."""
    rendered = {s["name"]: s for s in gateway_vars(site)["segments"]}
    rows = []
    for seg in site.network.segments:
        values = rendered[seg.name]
        rows.append(SegmentRow(seg, str(values["gateway_address"]),
                               f"{values['dhcp_start']} to {values['dhcp_end']}",
                               is_guest_like(site, seg.name)))
    return rows


def secret_store(site: Site) -> str:
    """Where the site's secrets live, in words people can act on."""
    return f"AWS Secrets Manager, {site.cloud.region}"


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def wifi_networks(site: Site) -> list[WifiNetwork]:
    return [WifiNetwork(seg.wifi.ssid, SECURITY_LABELS[seg.wifi.security], seg.name,
                        is_guest_like(site, seg.name), seg.client_isolation,
                        None if seg.wifi.security is WifiSecurity.OPEN
                        else site.wifi_secret(seg))
            for seg in site.network.segments if seg.wifi is not None]


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["long_date"] = long_date
    return env


def verdict(results: Sequence[CheckResult]) -> str:
    """One line on the last verify, for people: "2 of 36 checks failed"."""
    failed = sum(not r.passed for r in results)
    if failed:
        return f"{failed} of {len(results)} check{'s' if len(results) > 1 else ''} failed"
    return "The check passed" if len(results) == 1 else f"All {len(results)} checks passed"


def _when(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC)
    return f"{long_date(utc)}, {utc:%H:%M} UTC"


def render_pack(site: Site, verify_results: Sequence[CheckResult] | None = None, *,
                verified_at: dt.datetime | None = None) -> str:
    """The page's HTML. `verify_results` None or empty: the page says "not verified yet"."""
    results = list(verify_results or [])
    segments = segment_rows(site)
    return _environment().get_template("index.html.j2").render(
        site=site,
        diagram=layout(site, {row.segment.name: row.gateway for row in segments}),
        link_types=LINK_TYPES,
        segments=segments,
        wifi=wifi_networks(site),
        secret_store=secret_store(site),
        public=[s for s in site.services if s.exposure == "public"],
        saas=[s for s in site.services if s.exposure == "saas"],
        results=results,
        failed=[r for r in results if not r.passed],
        verdict=verdict(results),
        verified_at=_when(verified_at) if verified_at else None,
        generated=_when(dt.datetime.now(dt.UTC)),
    )


def write_pack(site: Site, out_dir: Path, verify_results: Sequence[CheckResult] | None = None,
               *, verified_at: dt.datetime | None = None) -> Path:
    """Write `out_dir/index.html` (creating the folder) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / PAGE
    target.write_text(render_pack(site, verify_results, verified_at=verified_at),
                      encoding="utf-8")
    return target
