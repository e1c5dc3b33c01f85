"""Layer 2: meaning. Values that have the right type but cannot work together."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from provision.checks.findings import Severity
from provision.checks.rules import Problem, rule
from provision.site.model import Site
from provision.site.source import PathKey

ERROR = Severity.ERROR
DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
SITE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
REACH = re.compile(r"^(?P<segment>[^:]+)(?::(?P<proto>tcp|udp)/(?P<port>\d{1,5}))?$")
HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
# What AWS Secrets Manager accepts as a name: a passphrase with spaces or "!" is not one.
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")


def parse_reach(entry: str) -> tuple[str, str | None, int | None] | None:
    """'internet' | 'segment' | 'segment:tcp/443' -> (target, proto, port); None if malformed."""
    match = REACH.match(entry.strip())
    if not match or (match["port"] and not 1 <= int(match["port"]) <= 65535):
        return None
    return match["segment"], match["proto"], int(match["port"]) if match["port"] else None


def is_domain(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return len(labels) >= 2 and all(DNS_LABEL.match(label) for label in labels)


def _secret_reference(path: PathKey, name: str | None) -> Iterator[Problem]:
    if name is not None and not SECRET_NAME.match(name):
        yield Problem(path, f"'{name}' is not a secret-store name (letters, digits and "
                      "/_+=.@- only)", "name the secret-store entry, e.g. "
                      "provision/my-site/wifi/clinical; never write the secret itself")


def _duplicates(values: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    """Yields (index, value) for every value seen before."""
    seen: set[Any] = set()
    for index, value in values:
        if value in seen:
            yield index, value
        seen.add(value)


def is_site_id(text: str) -> bool:
    """3-40 lowercase letters, digits and single hyphens, not at either end."""
    return bool(SITE_ID.match(text)) and "--" not in text


@rule("site-id", ERROR, "the site id is a DNS label of 3-40 characters", needs=["site"])
def site_id(site: Site) -> Iterator[Problem]:
    if not is_site_id(site.site.id):
        yield Problem(("site", "id"), f"site id '{site.site.id}' is not a DNS label of 3-40 "
                      "lowercase letters, digits and single hyphens",
                      "use something like 'nightingale-north'")


@rule("cloud", ERROR, "the region is an AWS region name; the parent DNS zone is a domain name",
      needs=["cloud"])
def cloud(site: Site) -> Iterator[Problem]:
    if not AWS_REGION.match(site.cloud.region):
        yield Problem(("cloud", "region"), f"'{site.cloud.region}' is not an AWS region name",
                      "write it like eu-west-2 (London)")
    if not is_domain(site.cloud.dns_zone.lower()):
        yield Problem(("cloud", "dns_zone"), f"'{site.cloud.dns_zone}' is not a domain name",
                      "use the parent zone the site is published under, e.g. "
                      "sites.example.nhs.uk")


@rule("lifetime", ERROR, "a site closes after it opens; retention is positive", needs=["site"])
def lifetime(site: Site) -> Iterator[Problem]:
    life = site.site.lifetime
    if life.closes is not None and life.closes <= life.opens:
        yield Problem(("site", "lifetime", "closes"),
                      f"closes ({life.closes}) is not after opens ({life.opens})",
                      "set closes to a date after opens")
    if life.retain_data_days is not None and life.retain_data_days <= 0:
        yield Problem(("site", "lifetime", "retain_data_days"),
                      "retain_data_days must be a positive number of days",
                      "set it to how long the archive must be kept, e.g. 180")


@rule("contact-email", ERROR, "the contact email is a valid address", needs=["site"])
def contact_email(site: Site) -> Iterator[Problem]:
    contact = site.site.contact
    if contact and not EMAIL.match(contact.email):
        yield Problem(("site", "contact", "email"), f"'{contact.email}' is not an email address",
                      "write it as name@example.nhs.uk")


@rule("links", ERROR, "link names and interfaces are unique, one link is primary; static and "
      "pppoe links say how they connect, and only they do", needs=["connectivity"])
def links(site: Site) -> Iterator[Problem]:
    items = site.connectivity.links
    for i, name in _duplicates(enumerate(link.name for link in items)):
        yield Problem(("connectivity", "links", i, "name"), f"link name '{name}' is used twice",
                      "give each link its own name")
    for i, iface in _duplicates(enumerate(link.interface for link in items)):
        yield Problem(("connectivity", "links", i, "interface"),
                      f"interface '{iface}' is used by two links", "give each link its own port")
    primaries = [i for i, link in enumerate(items) if link.role == "primary"]
    if len(primaries) != 1:
        yield Problem(("connectivity", "links", primaries[1] if primaries else 0, "role"),
                      f"{len(primaries)} links are primary; exactly one must be",
                      "mark one link `role: primary` and the others `role: backup`")
    for i, link in enumerate(items):
        if link.addressing == "static":
            for key, value in (("address", link.address), ("next_hop", link.next_hop)):
                if not value:
                    yield Problem(("connectivity", "links", i),
                                  f"static link '{link.name}' has no {key}",
                                  f"add `{key}:` as the provider gave it")
            if link.address and not _is_interface(link.address):
                yield Problem(("connectivity", "links", i, "address"),
                              f"'{link.address}' is not an address with prefix",
                              "write it like 192.0.2.2/30")
            if link.next_hop and not _is_ip(link.next_hop):
                yield Problem(("connectivity", "links", i, "next_hop"),
                              f"'{link.next_hop}' is not an IP address",
                              "write the provider router's address, like 192.0.2.1")
            elif (link.address and link.next_hop and _is_interface(link.address)
                  and ipaddress.ip_address(link.next_hop)
                  not in ipaddress.ip_interface(link.address).network):
                yield Problem(("connectivity", "links", i, "next_hop"),
                              f"next_hop {link.next_hop} is not in {link.address}'s network",
                              "the provider's router is on the link's own subnet; check both")
        else:
            for key in ("address", "next_hop"):
                if getattr(link, key):
                    yield Problem(("connectivity", "links", i, key), f"'{key}' is only used "
                                  f"with `addressing: static`; link '{link.name}' uses "
                                  f"{link.addressing}", f"remove `{key}:`, or set "
                                  "`addressing: static`")
        if link.addressing == "pppoe" and not link.credentials_secret:
            yield Problem(("connectivity", "links", i), f"pppoe link '{link.name}' names no "
                          "credentials_secret", "add `credentials_secret:` naming the "
                          "secret-store entry with the PPP credentials")
        elif link.addressing != "pppoe" and link.credentials_secret:
            yield Problem(("connectivity", "links", i, "credentials_secret"),
                          "'credentials_secret' is only used with `addressing: pppoe`",
                          "remove it, or set `addressing: pppoe`")
        yield from _secret_reference(("connectivity", "links", i, "credentials_secret"),
                                     link.credentials_secret)


@rule("interfaces", ERROR, "the LAN interface is not also a WAN link's interface",
      needs=["connectivity", "gateway"])
def interfaces(site: Site) -> Iterator[Problem]:
    for i, link in enumerate(site.connectivity.links):
        if link.interface == site.gateway.lan_interface:
            yield Problem(("connectivity", "links", i, "interface"), f"link '{link.name}' uses "
                          f"{link.interface}, the gateway's lan_interface",
                          "plug each WAN link into its own port")


@rule("gateway-host", ERROR, "the gateway host is an address, a host name or 'lab'",
      needs=["gateway"])
def gateway_host(site: Site) -> Iterator[Problem]:
    host = site.gateway.host
    if host != "lab" and not _is_ip(host) and not is_domain(host.lower()):
        yield Problem(("gateway", "host"), f"'{host}' is not an address or host name",
                      'write the address Ansible reaches the gateway on, e.g. 192.0.2.10, or '
                      '"lab"')


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_interface(text: str) -> bool:
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        return False
    return "/" in text


@rule("health-check", ERROR, "health-check targets are addresses; interval and failures are "
      "positive", needs=["connectivity"])
def health_check(site: Site) -> Iterator[Problem]:
    check = site.connectivity.health_check
    base = ("connectivity", "health_check")
    for i, target in enumerate(check.targets):
        if not _is_ip(target):
            yield Problem(base + ("targets", i), f"health-check target '{target}' is not an IP "
                          "address", "use addresses such as 9.9.9.9 (names need DNS, which may "
                          "be what failed)")
    for key in ("interval_seconds", "failures"):
        if getattr(check, key) <= 0:
            yield Problem(base + (key,), f"{key} must be positive", f"set {key} to 1 or more")


@rule("segments", ERROR, "segment names and VLAN ids are unique, VLANs are 1-4094",
      needs=["network"])
def segments(site: Site) -> Iterator[Problem]:
    items = site.network.segments
    for i, name in _duplicates(enumerate(s.name for s in items)):
        yield Problem(("network", "segments", i, "name"), f"segment name '{name}' is used twice",
                      "give each segment its own name")
    for i, seg in enumerate(items):
        if not DNS_LABEL.match(seg.name) or seg.name == "internet":
            yield Problem(("network", "segments", i, "name"),
                          f"segment name '{seg.name}' must be a lowercase label other than "
                          "'internet'", "use letters, digits and hyphens, e.g. 'clinical'")
        if not 1 <= seg.vlan <= 4094:
            yield Problem(("network", "segments", i, "vlan"), f"VLAN {seg.vlan} is outside "
                          "1-4094", "pick a VLAN id from 2 to 4094 (1 is often the default)")
    for i, vlan in _duplicates(enumerate(s.vlan for s in items)):
        yield Problem(("network", "segments", i, "vlan"), f"VLAN {vlan} is used twice",
                      "give each segment its own VLAN id")
    for i, ssid in _duplicates((i, s.wifi.ssid) for i, s in enumerate(items) if s.wifi):
        yield Problem(("network", "segments", i, "wifi", "ssid"), f"SSID '{ssid}' is used twice",
                      "give each Wi-Fi network its own name")
    for i, seg in enumerate(items):
        if seg.wifi is None:
            continue
        wifi = ("network", "segments", i, "wifi")
        if len(seg.wifi.ssid.encode()) > 32:
            yield Problem(wifi + ("ssid",), f"SSID '{seg.wifi.ssid}' is "
                          f"{len(seg.wifi.ssid.encode())} bytes; Wi-Fi allows 32",
                          "shorten it (accented letters take two bytes)")
        yield from _secret_reference(wifi + ("passphrase_secret",), seg.wifi.passphrase_secret)


@rule("cidrs", ERROR, "segment CIDRs are valid IPv4 networks without host bits and do not "
      "overlap", needs=["network"])
def cidrs(site: Site) -> Iterator[Problem]:
    parsed: list[tuple[int, ipaddress.IPv4Network]] = []
    for i, seg in enumerate(site.network.segments):
        path = ("network", "segments", i, "cidr")
        try:
            net = ipaddress.ip_network(seg.cidr, strict=False)
        except ValueError:
            yield Problem(path, f"'{seg.cidr}' is not a network", "write it like 10.50.10.0/24")
            continue
        if not isinstance(net, ipaddress.IPv4Network):
            yield Problem(path, f"'{seg.cidr}' is not IPv4", "segments are IPv4 networks")
            continue
        if str(net) != seg.cidr.strip():
            yield Problem(path, f"'{seg.cidr}' has host bits set", f"did you mean {net}?")
        if net.prefixlen > 29:
            yield Problem(path, f"{net} leaves no room for clients", "use /29 or larger")
        elif not net.is_private:
            yield Problem(path, f"{net} is not a private range; the gateway NATs segments to "
                          "the internet", "use a range inside 10.0.0.0/8, 172.16.0.0/12 or "
                          "192.168.0.0/16", severity=Severity.WARNING)
        for j, other in parsed:
            if net.overlaps(other):
                yield Problem(path, f"{net} overlaps segment "
                              f"'{site.network.segments[j].name}' ({other})",
                              "give each segment its own range")
        parsed.append((i, net))


@rule("reach", ERROR, "every reach entry parses and names an existing segment or 'internet'",
      needs=["network"])
def reach(site: Site) -> Iterator[Problem]:
    names = {s.name for s in site.network.segments}
    for i, seg in enumerate(site.network.segments):
        for j, entry in enumerate(seg.reach):
            path = ("network", "segments", i, "reach", j)
            parsed = parse_reach(entry)
            if parsed is None:
                yield Problem(path, f"reach entry '{entry}' does not parse",
                              "write 'internet', 'segment' or 'segment:tcp/443' "
                              "(proto tcp or udp, port 1-65535)")
                continue
            target, proto, _port = parsed
            if target == "internet":
                if proto:
                    yield Problem(path, "internet reach takes no port",
                                  "write just 'internet'")
            elif target == seg.name:
                yield Problem(path, f"segment '{seg.name}' lists itself",
                              "remove it; a segment always reaches itself")
            elif target not in names:
                yield Problem(path, f"reach target '{target}' is not a segment",
                              "use one of: internet, " + ", ".join(sorted(names)))


@rule("resolvers", ERROR, "listed DNS resolvers are IP addresses; time servers are addresses "
      "or host names", needs=["network"])
def resolvers(site: Site) -> Iterator[Problem]:
    listed = site.network.dns.resolvers
    if isinstance(listed, list):
        for i, entry in enumerate(listed):
            if entry != "protective" and not _is_ip(entry):
                yield Problem(("network", "dns", "resolvers", i), f"'{entry}' is not an IP "
                              "address", "list resolver addresses, or write `protective`")
    for i, server in enumerate(site.network.ntp):
        if not _is_ip(server) and not is_domain(server.lower()):
            yield Problem(("network", "ntp", i), f"time server '{server}' is not an address or "
                          "host name", "write it like time.cloudflare.com")


@rule("admin-segment", ERROR, "the gateway's admin segment exists",
      needs=["gateway", "network"])
def admin_segment(site: Site) -> Iterator[Problem]:
    if site.segment(site.gateway.admin_segment) is None:
        yield Problem(("gateway", "admin_segment"), f"admin_segment "
                      f"'{site.gateway.admin_segment}' is not a segment",
                      "use one of: " + ", ".join(s.name for s in site.network.segments))


@rule("users", ERROR, "users have valid, unique emails and belong to existing groups",
      needs=["identity"])
def users(site: Site) -> Iterator[Problem]:
    groups = set(site.identity.groups)
    for i, group in _duplicates(enumerate(site.identity.groups)):
        yield Problem(("identity", "groups", i), f"group '{group}' is listed twice",
                      "list each group once")
    for i, user in enumerate(site.identity.users):
        path = ("identity", "users", i)
        if not EMAIL.match(user.email):
            yield Problem(path + ("email",), f"'{user.email}' is not an email address",
                          "write it as name@example.nhs.uk")
        for group in user.groups:
            if group not in groups:
                yield Problem(path + ("groups",), f"user {user.email} is in group '{group}', "
                              "which is not in identity.groups",
                              f"add '{group}' to identity.groups, or fix the spelling")
    for i, email in _duplicates(enumerate(u.email.lower() for u in site.identity.users)):
        yield Problem(("identity", "users", i, "email"), f"user {email} is listed twice",
                      "list each user once")


@rule("services", ERROR, "service names are unique DNS labels; public services have an origin "
      "URL, SaaS services host:port endpoints, and neither carries the other's keys",
      needs=["services"])
def services(site: Site) -> Iterator[Problem]:
    for i, name in _duplicates(enumerate(s.name for s in site.services)):
        yield Problem(("services", i, "name"), f"service '{name}' is listed twice",
                      "give each service its own name")
    for i, svc in enumerate(site.services):
        path = ("services", i)
        if not DNS_LABEL.match(svc.name):
            yield Problem(path + ("name",), f"service name '{svc.name}' is not a DNS label",
                          "use lowercase letters, digits and hyphens")
        if svc.exposure == "public" and not svc.origin:
            yield Problem(path, f"public service '{svc.name}' has no origin",
                          "add `origin: https://...` for the address behind it")
        if svc.origin is not None and not _is_url(svc.origin):
            yield Problem(path + ("origin",), f"origin '{svc.origin}' is not a URL with a host",
                          "write it like https://bedboard.example-saas.example")
        only = {"public": ("origin", "sign_in"), "saas": ("endpoints",)}
        for exposure, keys in only.items():
            for key in keys:
                if svc.exposure != exposure and getattr(svc, key):
                    yield Problem(path + (key,), f"'{key}' is only used with `exposure: "
                                  f"{exposure}`; service '{svc.name}' is {svc.exposure}",
                                  f"remove `{key}:`, or set `exposure: {exposure}`")
        if svc.exposure == "saas" and not svc.endpoints:
            yield Problem(path, f"saas service '{svc.name}' lists no endpoints",
                          "add `endpoints: [\"host.example.com:443\"]` so egress to it can be "
                          "monitored")
        for j, endpoint in enumerate(svc.endpoints):
            match = HOST_PORT.match(endpoint)
            if not match or not 1 <= int(match["port"]) <= 65535:
                yield Problem(path + ("endpoints", j), f"endpoint '{endpoint}' is not host:port",
                              "write it like ehr.example.com:443")


@rule("monitoring", ERROR, "alert addresses are valid; log retention is positive",
      needs=["monitoring"])
def monitoring(site: Site) -> Iterator[Problem]:
    for i, email in enumerate(site.monitoring.alert_emails):
        if not EMAIL.match(email):
            yield Problem(("monitoring", "alert_emails", i), f"'{email}' is not an email address",
                          "write it as oncall@example.nhs.uk")
    if site.monitoring.log_retention_days <= 0:
        yield Problem(("monitoring", "log_retention_days"), "log_retention_days must be "
                      "positive", "set it to the days logs must be kept, e.g. 180")
