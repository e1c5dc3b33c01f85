"""`provision new`: a commented site file for each kind of site, from one Jinja2 template.

The kinds differ only in data (KINDS below): which segments they have, who signs in, how long
they stay open. The template carries the explanations, so a new user learns the format from
the file they are given.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from provision.checks.semantic import is_site_id
from provision.errors import ProvisionError
from provision.site.model import SiteKind

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
PLAIN_WORD = re.compile(r"[a-z][a-z0-9-]*")


@dataclass(frozen=True)
class SegmentSpec:
    name: str
    vlan: int
    cidr: str
    note: str
    reach: tuple[str, ...]
    ssid: str | None = None
    security: str | None = None  # Wi-Fi security; None: wired only
    guest: bool = False  # open Wi-Fi with client isolation


@dataclass(frozen=True)
class KindSpec:
    description: str
    days_open: int | None  # None: a permanent site
    retain_data_days: int
    primary: str  # link types
    backup: str
    groups: tuple[str, ...]
    segments: tuple[SegmentSpec, ...]


IT = SegmentSpec("it", 15, "10.60.15.0/26", "site IT: the only segment that administers the "
                 "gateway", ("internet",))
GUEST = SegmentSpec("guest", 30, "10.60.32.0/22", "public Wi-Fi for patients and visitors",
                    ("internet",), ssid="NHS Wi-Fi", security="open", guest=True)


def _staff(name: str, ssid: str, note: str) -> SegmentSpec:
    return SegmentSpec(name, 10, "10.60.10.0/24", note, ("internet",), ssid=ssid,
                       security="wpa3-personal")


def _it_reaching(*segments: str) -> SegmentSpec:
    return SegmentSpec(IT.name, IT.vlan, IT.cidr, IT.note, (*IT.reach, *segments))


KINDS: dict[SiteKind, KindSpec] = {
    SiteKind.FIELD_HOSPITAL: KindSpec(
        "A temporary field hospital", 120, 180, "broadband", "5g",
        ("clinicians", "nurses", "admin", "it-support"),
        (_staff("clinical", "Clinical", "clinical staff devices"),
         _it_reaching("clinical", "devices"),
         SegmentSpec("devices", 20, "10.60.20.0/24", "imaging, monitors, printers: only DICOM "
                     "and HTTPS to clinical", ("clinical:tcp/104", "clinical:tcp/443")),
         GUEST)),
    SiteKind.VACCINATION_CENTRE: KindSpec(
        "A temporary mass vaccination centre", 180, 90, "fttp", "4g",
        ("vaccinators", "clinical-leads", "admin", "it-support"),
        (_staff("vaccinators", "Vaccinators", "vaccinators' tablets and laptops"),
         _it_reaching("vaccinators"), GUEST)),
    SiteKind.SURGE_CLINIC: KindSpec(
        "A temporary surge clinic", 90, 90, "broadband", "4g",
        ("clinicians", "nurses", "admin", "it-support"),
        (_staff("clinical", "Clinical", "clinical staff devices"), _it_reaching("clinical"),
         GUEST)),
    SiteKind.OFFICE: KindSpec(
        "A permanent office", None, 365, "fttp", "5g",
        ("staff", "managers", "it-support"),
        (_staff("staff", "Staff", "staff laptops and phones"), _it_reaching("staff"), GUEST)),
}


def _yaml_text(value: str) -> str:
    """A YAML double-quoted scalar: JSON strings are valid YAML, whatever the name holds."""
    return json.dumps(value, ensure_ascii=False)


def _yaml_word(value: str) -> str:
    """Plain when it is a simple lowercase word (as people write them), quoted otherwise."""
    return value if PLAIN_WORD.fullmatch(value) else _yaml_text(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["yaml_text"] = _yaml_text
    env.filters["yaml_word"] = _yaml_word
    return env


def new_site_text(kind: SiteKind, site_id: str, name: str | None) -> str:
    """The text of a new site file of `kind`; it validates as written. Raises ProvisionError
    for an id that is not a site id or a blank name."""
    if not is_site_id(site_id):
        raise ProvisionError(f"'{site_id}' is not a site id",
                             hint="use 3-40 lowercase letters, digits and single hyphens, "
                             "starting and ending with a letter or digit, e.g. "
                             "nightingale-north")
    if name is not None and not name.strip():
        raise ProvisionError("the site name is blank", hint="give --name a name, or leave it out")
    spec = KINDS[kind]
    opens = dt.date.today()
    closes = opens + dt.timedelta(days=spec.days_open) if spec.days_open else None
    return _environment().get_template("sites/site.yaml.j2").render(
        kind=kind.value, spec=spec, site_id=site_id,
        name=name.strip() if name else f"{spec.description} ({site_id})",
        opens=opens.isoformat(), closes=closes.isoformat() if closes else None)
