"""The typed site model: the shape of a site file, as the field-hospital example defines it.

Only shape and types live here (they also give `provision schema`); meaning and policy are
checked in `provision.checks`, so that every problem can be reported at once with its line.
Every field is documented through its description, which editors show from the JSON Schema.
"""

from __future__ import annotations

import datetime as dt
import os
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
)
from pydantic_core import PydanticCustomError

from provision.site.source import SourceMap


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


Text = Annotated[str, Field(min_length=1)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]


def _not_a_number(value: object) -> object:
    """pydantic would read a number as seconds since 1970; in a site file that is a typo."""
    if isinstance(value, (int, float)):
        raise PydanticCustomError("date_from_number", "a number is not a date")
    return value


Day = Annotated[dt.date, BeforeValidator(_not_a_number)]


class SiteKind(StrEnum):
    FIELD_HOSPITAL = "field-hospital"
    VACCINATION_CENTRE = "vaccination-centre"
    SURGE_CLINIC = "surge-clinic"
    OFFICE = "office"


class Contact(_Section):
    name: Text = Field(description="Who runs the site's IT on the ground.")
    email: Text = Field(description="Their email address.")
    phone: str | None = Field(None, description="Their phone number, as text (quote it).")


class Lifetime(_Section):
    opens: Day = Field(description="First day the site is open (YYYY-MM-DD).")
    closes: Day | None = Field(
        None, description="Temporary sites: after this date the site is due for teardown.")
    retain_data_days: StrictInt | None = Field(
        None, description="How long the archive of the site's data and logs is kept after "
        "teardown, in days.")


class SiteInfo(_Section):
    id: Text = Field(description="Lowercase DNS label (a-z, 0-9, -), 3-40 characters, unique "
                     "across the estate; it names every resource.")
    name: Text = Field(description="The site's name as people know it.")
    kind: SiteKind = Field(description="What sort of site this is.")
    organisation: Text = Field(description="The organisation accountable for the site.")
    contact: Contact | None = Field(None, description="The site's IT contact, shown in the "
                                    "handover pack.")
    lifetime: Lifetime = Field(description="When the site opens and, if temporary, closes.")
    protect: StrictBool = Field(False, description="true: teardown refuses until this is set "
                                "back to false.")


class RegionException(_Section):
    approved_by: Text = Field(description="Who approved hosting outside the UK.")
    reference: Text = Field(description="The approval's reference (e.g. a DPIA or change "
                            "number).")


class Cloud(_Section):
    provider: Literal["aws"] = Field(description="Only aws is supported.")
    region: Text = Field(description="AWS region; UK data residency means eu-west-2 (London) "
                         "unless `region_exception` records an approval.")
    dns_zone: Text = Field(description="Parent DNS zone; the site is published as "
                           "<site id>.<dns_zone>.")
    region_exception: RegionException | None = Field(
        None, description="An approval to use a region outside the UK.")


class LinkType(StrEnum):
    BROADBAND = "broadband"
    FTTP = "fttp"
    FOUR_G = "4g"
    FIVE_G = "5g"
    SATELLITE = "satellite"
    HSCN = "hscn"
    MPLS = "mpls"


class Link(_Section):
    name: Text = Field(description="A short name for the link.")
    type: LinkType = Field(description="The kind of link; a private circuit (hscn, mpls) alone "
                           "is refused.")
    role: Literal["primary", "backup"] = Field(description="primary carries traffic; backup "
                                               "takes over on failure.")
    interface: Text = Field(description="The gateway interface the link is plugged into.")
    addressing: Literal["dhcp", "static", "pppoe"] = Field(
        "dhcp", description="How the link gets its address.")
    address: str | None = Field(None, description="static: the link's address with prefix, "
                                "e.g. 192.0.2.2/30.")
    next_hop: str | None = Field(None, description="static: the provider's router address.")
    credentials_secret: str | None = Field(
        None, description="pppoe: name of the secret-store entry holding the PPP credentials.")
    bandwidth_mbps: PositiveInt | None = Field(None, description="Nominal bandwidth, for "
                                               "the handover pack.")


class HealthCheck(_Section):
    targets: list[str] = Field(min_length=1, description="IP addresses probed over the primary "
                               "link.")
    interval_seconds: StrictInt = Field(description="Seconds between probes.")
    failures: StrictInt = Field(description="Consecutive failed probes before failing over.")


class Connectivity(_Section):
    links: list[Link] = Field(min_length=1, description="WAN links: at least a primary.")
    health_check: HealthCheck = Field(description="How the gateway decides a link has failed.")


class Gateway(_Section):
    host: Text = Field(description='How Ansible reaches the on-site gateway over SSH, or "lab" '
                       "for the local namespace lab.")
    lan_interface: Text = Field(description="The interface that carries the site's VLANs.")
    admin_segment: Text = Field(description="The only segment from which the gateway can be "
                                "administered.")
    ssh_user: Text = Field("provision", description="The account Ansible signs in as.")


class WifiSecurity(StrEnum):
    WPA3_PERSONAL = "wpa3-personal"
    WPA2_PERSONAL = "wpa2-personal"
    WPA3_ENTERPRISE = "wpa3-enterprise"
    OPEN = "open"


class Wifi(_Section):
    ssid: Annotated[str, Field(min_length=1, max_length=32)] = Field(
        description="The network name (at most 32 bytes).")
    security: WifiSecurity = Field(description="open only on an isolated segment.")
    passphrase_secret: str | None = Field(
        None, description="Name of the secret-store entry holding the passphrase; by default "
        "the tool generates one and names it itself. Never the passphrase.")


class Segment(_Section):
    name: Text = Field(description="A short name, used in `reach` and resource names.")
    vlan: StrictInt = Field(description="802.1Q VLAN id, 1-4094, unique per site.")
    cidr: Text = Field(description="The segment's IPv4 network, e.g. 10.50.10.0/24.")
    wifi: Wifi | None = Field(None, description="A Wi-Fi network bridged to this segment.")
    client_isolation: StrictBool = Field(False, description="true: clients on the segment "
                                         "cannot reach each other (guest networks).")
    reach: list[str] = Field(default_factory=list, description='What the segment may reach: '
                             '"internet", a segment name (everything), or "segment:proto/port".')


# "protective" stands for the national Protective DNS service. Its addresses are issued to
# enrolled organisations, so the default here is Quad9, a public resolver that also blocks
# known-malicious domains; PROVISION_PROTECTIVE_DNS (comma-separated) overrides it.
DEFAULT_PROTECTIVE_RESOLVERS = ("9.9.9.9", "149.112.112.112")


class Dns(_Section):
    resolvers: Literal["protective"] | list[str] = Field(
        "protective", description='"protective" (the national protective DNS service) or a '
        "list of resolver addresses.")

    def addresses(self) -> list[str]:
        """The resolver addresses the gateway forwards to."""
        listed = [self.resolvers] if isinstance(self.resolvers, str) else self.resolvers
        protective = os.environ.get("PROVISION_PROTECTIVE_DNS", "")
        expanded: list[str] = []
        for entry in listed:
            if entry == "protective":
                expanded += [a.strip() for a in protective.split(",") if a.strip()] or list(
                    DEFAULT_PROTECTIVE_RESOLVERS)
            else:
                expanded.append(entry)
        return list(dict.fromkeys(expanded))


class Network(_Section):
    segments: list[Segment] = Field(min_length=1, description="The site's LAN segments.")
    dns: Dns = Field(default_factory=Dns, description="Where the gateway forwards DNS.")
    ntp: list[str] = Field(default_factory=list, description="Time servers.")


class User(_Section):
    email: Text = Field(description="Sign-in address; the user is invited by email.")
    name: Text = Field(description="Full name.")
    groups: list[str] = Field(default_factory=list, description="Groups from `groups`.")


class Identity(_Section):
    provider: Literal["cognito"] = Field(description="Only cognito is supported.")
    mfa: Literal["required", "optional", "off"] = Field(description="required is the only "
                                                        "value policy accepts.")
    groups: list[str] = Field(default_factory=list, description="Groups users can belong to.")
    users: list[User] = Field(default_factory=list, description="Staff, inline.")
    users_file: str | None = Field(None, description="Or: a CSV (email,name,groups; groups "
                                   "separated by ;) read relative to the site file.")


class Service(_Section):
    name: Text = Field(description="A DNS label; public services are published as "
                       "<name>.<site domain>.")
    exposure: Literal["public", "saas"] = Field(
        description="public: DNS name, certificate and sign-in through the site identity; "
        "saas: consumed over the internet.")
    origin: str | None = Field(None, description="public: the https:// URL behind the name.")
    sign_in: Literal["required", "none"] | None = Field(
        None, description="public: required is the only value policy accepts.")
    endpoints: list[str] = Field(default_factory=list, description="saas: host:port the site "
                                 "uses.")


class Monitoring(_Section):
    alert_emails: list[str] = Field(default_factory=list, description="Who is told when the "
                                    "gateway stops reporting or fails over.")
    log_retention_days: StrictInt = Field(30, description="How long gateway logs are kept.")


class Site(_Section):
    """A whole site file. `source` (not part of the file) maps every value to its line."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="provision site file")

    site: SiteInfo = Field(description="What the site is, who runs it and when it is open.")
    cloud: Cloud = Field(description="Where the site's cloud resources live.")
    connectivity: Connectivity = Field(description="The site's internet links and failover.")
    gateway: Gateway = Field(description="The on-site gateway and how it is administered.")
    network: Network = Field(description="LAN segments (VLANs), Wi-Fi, DNS and time.")
    identity: Identity = Field(description="Staff sign-in: groups and users, MFA.")
    services: list[Service] = Field(default_factory=list, description="Services the site "
                                    "publishes (public) or uses over the internet (saas).")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Who is alerted "
                                   "and how long logs are kept.")
    _source: SourceMap | None = PrivateAttr(None)

    @property
    def source(self) -> SourceMap:
        """Where each value was written; attached by the loader."""
        if self._source is None:
            raise RuntimeError("this Site was not loaded from a file")
        return self._source

    @property
    def domain(self) -> str:
        return f"{self.site.id}.{self.cloud.dns_zone}"

    @property
    def is_temporary(self) -> bool:
        return self.site.kind is not SiteKind.OFFICE

    def secret_name(self, purpose: str) -> str:
        """The secret-store name for one of the site's secrets, e.g. "wifi/clinical" or
        "gateway-admin". The cloud side creates them; the gateway role reads them at run time."""
        return f"provision/{self.site.id}/{purpose}"

    def wifi_secret(self, segment: Segment) -> str:
        if segment.wifi is not None and segment.wifi.passphrase_secret:
            return segment.wifi.passphrase_secret
        return self.secret_name(f"wifi/{segment.name}")

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self.network.segments if s.name == name), None)
