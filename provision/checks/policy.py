"""Layer 3: the Internet First and security baseline (DESIGN.md, "Policy checks").

Each rule has a stable id (IFnnn) that people can cite in a change record, a severity, and a
fix. Errors stop plan and apply; warnings are shown and allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from provision.checks.findings import Severity
from provision.checks.rules import Problem, rule
from provision.checks.semantic import AWS_REGION, parse_reach
from provision.site.model import LinkType, Site, WifiSecurity
from provision.site.source import PathKey

ERROR, WARNING = Severity.ERROR, Severity.WARNING
PRIVATE_CIRCUITS = {LinkType.HSCN, LinkType.MPLS}
# Links of one family share their faults (the same duct, the same mast), so a backup must come
# from another family.
LINK_FAMILIES = {
    LinkType.BROADBAND: "fixed line", LinkType.FTTP: "fixed line",
    LinkType.FOUR_G: "mobile", LinkType.FIVE_G: "mobile",
    LinkType.SATELLITE: "satellite",
    LinkType.HSCN: "private circuit", LinkType.MPLS: "private circuit",
}
UK_REGIONS = {"eu-west-2"}
# Well-known public resolvers that do not filter malicious domains: not protective DNS.
UNFILTERED_RESOLVERS = {"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "208.67.222.222",
                        "208.67.220.220", "4.2.2.1", "4.2.2.2"}
SECRET_KEYS = re.compile(r"(pass(word|phrase|wd)?|pwd|psk|pre.?shared|secret|token|api.?key|"
                         r"private.?key|credential)s?$", re.IGNORECASE)
SECRET_VALUES = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "a URL with a password in it"),
]
# Keys whose value is the *name* of a secret, which is exactly what the file should hold.
SECRET_REFERENCE_KEYS = {"passphrase_secret", "credentials_secret", "secret"}


def is_guest_like(site: Site, name: str) -> bool:
    seg = site.segment(name)
    return seg is not None and (seg.client_isolation or
                                (seg.wifi is not None and seg.wifi.security is WifiSecurity.OPEN))


@rule("IF001", ERROR, "a site does not depend on a private circuit alone (HSCN/MPLS)",
      needs=["connectivity"])
def private_circuit_only(site: Site) -> Iterator[Problem]:
    links = site.connectivity.links
    if all(link.type in PRIVATE_CIRCUITS for link in links):
        yield Problem(("connectivity", "links"), "every link is a private circuit "
                      f"({', '.join(sorted({link.type.value for link in links}))}); Internet "
                      "First sites run on commodity internet",
                      "add a broadband or FTTP link as primary; keep HSCN as an extra if needed")


@rule("IF002", ERROR, "a backup link of another kind than the primary: fixed line, mobile, "
      "satellite (warning if there is no backup)", needs=["connectivity"])
def backup_link(site: Site) -> Iterator[Problem]:
    links = site.connectivity.links
    primary = next((link for link in links if link.role == "primary"), None)
    backups = [(i, link) for i, link in enumerate(links) if link.role == "backup"]
    if not backups:
        yield Problem(("connectivity", "links"), "the site has no backup link; one fault "
                      "takes it offline", "add a 4g or 5g link with `role: backup`",
                      severity=WARNING)
    elif primary and all(LINK_FAMILIES[link.type] == LINK_FAMILIES[primary.type]
                         for _, link in backups):
        i, backup = backups[0]
        family = LINK_FAMILIES[primary.type]
        yield Problem(("connectivity", "links", i, "type"), f"the backup link "
                      f"({backup.type.value}) is a {family} link like the primary "
                      f"({primary.type.value}); a shared fault takes both down",
                      "use a backup of another kind, e.g. 4g or 5g for a fixed-line primary")


@rule("IF003", ERROR, "MFA is required for every identity", needs=["identity"])
def mfa_required(site: Site) -> Iterator[Problem]:
    if site.identity.mfa != "required":
        yield Problem(("identity", "mfa"), f"mfa is '{site.identity.mfa}'; staff sign-in must "
                      "enforce MFA", "set `mfa: required`")


@rule("IF004", ERROR, "guest-like segments (client isolation or open Wi-Fi) reach nothing but "
      "the internet, and no segment reaches into them", needs=["network"])
def guest_reach(site: Site) -> Iterator[Problem]:
    for i, seg in enumerate(site.network.segments):
        for j, entry in enumerate(seg.reach):
            parsed = parse_reach(entry)
            if parsed is None or parsed[0] in ("internet", seg.name):
                continue
            if is_guest_like(site, seg.name):
                yield Problem(("network", "segments", i, "reach", j), f"guest-like segment "
                              f"'{seg.name}' reaches '{entry}'",
                              "guest segments reach only `internet`; remove this entry")
            elif is_guest_like(site, parsed[0]):
                yield Problem(("network", "segments", i, "reach", j), f"segment '{seg.name}' "
                              f"reaches into guest-like segment '{parsed[0]}'",
                              "keep guest segments isolated; remove this entry")


@rule("IF005", ERROR, "no secret values in the site file; refer to them by name",
      on="document")
def no_secrets(document: Any) -> Iterator[Problem]:
    def walk(node: Any, path: PathKey) -> Iterator[Problem]:
        if isinstance(node, dict):
            for key, value in node.items():
                child = (*path, str(key))
                if (SECRET_KEYS.search(str(key)) and str(key) not in SECRET_REFERENCE_KEYS
                        and isinstance(value, (str, int)) and str(value)):
                    yield Problem(child, f"'{key}' holds a secret value in the file",
                                  "remove it: the tool generates secrets and keeps them in the "
                                  "secret store; to use an existing one, name it with "
                                  "`passphrase_secret:` / `credentials_secret:`")
                else:
                    yield from walk(value, child)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                yield from walk(item, (*path, index))
        elif isinstance(node, str):
            for pattern, what in SECRET_VALUES:
                if pattern.search(node):
                    yield Problem(path, f"this value looks like {what}",
                                  "remove it from the file and revoke it: it has been exposed")
    yield from walk(document, ())


@rule("IF006", ERROR, "cloud resources stay in a UK region unless an approval is recorded",
      needs=["cloud"])
def uk_region(site: Site) -> Iterator[Problem]:
    region = site.cloud.region
    if AWS_REGION.match(region) and region not in UK_REGIONS and not site.cloud.region_exception:
        yield Problem(("cloud", "region"), f"region {region} is outside the UK",
                      "use eu-west-2 (London), or record the approval under "
                      "`cloud.region_exception: {approved_by: ..., reference: ...}`")


@rule("IF007", ERROR, "every public service requires sign-in through the site identity",
      needs=["services"])
def public_sign_in(site: Site) -> Iterator[Problem]:
    for i, svc in enumerate(site.services):
        if svc.exposure == "public" and svc.sign_in != "required":
            yield Problem(("services", i, "sign_in") if svc.sign_in else ("services", i),
                          f"public service '{svc.name}' does not require sign-in",
                          "set `sign_in: required`")


@rule("IF008", ERROR, "public services are reached over TLS (https origin)",
      needs=["services"])
def public_tls(site: Site) -> Iterator[Problem]:
    for i, svc in enumerate(site.services):
        if svc.exposure == "public" and svc.origin and not svc.origin.startswith("https://"):
            yield Problem(("services", i, "origin"), f"origin '{svc.origin}' is not https",
                          "publish the service over TLS: https://...")


@rule("IF009", ERROR, "a temporary site has a closing date and a data-retention period",
      needs=["site"])
def temporary_lifetime(site: Site) -> Iterator[Problem]:
    if not site.is_temporary:
        return
    life = site.site.lifetime
    for key, value in (("closes", life.closes), ("retain_data_days", life.retain_data_days)):
        if value is None:
            yield Problem(("site", "lifetime"), f"a {site.site.kind.value} is temporary but has "
                          f"no {key}", f"add `{key}:` under site.lifetime")


@rule("IF010", ERROR, "DNS goes through protective resolvers", needs=["network"])
def protective_dns(site: Site) -> Iterator[Problem]:
    listed = site.network.dns.resolvers
    if not isinstance(listed, list):
        return
    for i, entry in enumerate(listed):
        if entry in UNFILTERED_RESOLVERS:
            yield Problem(("network", "dns", "resolvers", i), f"{entry} is a public resolver "
                          "that does not block malicious domains", "use `resolvers: protective`")
    if set(listed) - UNFILTERED_RESOLVERS - {"protective"}:
        yield Problem(("network", "dns", "resolvers"), "resolvers are given by address; the "
                      "tool cannot tell they are protective", "use `resolvers: protective` "
                      "unless these are your protective DNS service's addresses",
                      severity=WARNING)


@rule("IF011", ERROR, "open Wi-Fi only on a segment with client isolation", needs=["network"])
def open_wifi_isolated(site: Site) -> Iterator[Problem]:
    for i, seg in enumerate(site.network.segments):
        if seg.wifi and seg.wifi.security is WifiSecurity.OPEN and not seg.client_isolation:
            yield Problem(("network", "segments", i, "wifi", "security"), f"open Wi-Fi "
                          f"'{seg.wifi.ssid}' is on segment '{seg.name}' without client "
                          "isolation", "set `client_isolation: true` on this segment, or use "
                          "wpa3-personal")


@rule("IF012", ERROR, "the gateway is administered only from a trusted segment",
      needs=["gateway", "network"])
def admin_not_guest(site: Site) -> Iterator[Problem]:
    if is_guest_like(site, site.gateway.admin_segment):
        yield Problem(("gateway", "admin_segment"), f"admin segment "
                      f"'{site.gateway.admin_segment}' is a guest-like segment",
                      "administer the gateway from a staff segment such as 'it'")


@rule("IF013", WARNING, "Wi-Fi for staff uses WPA3", needs=["network"])
def wpa3(site: Site) -> Iterator[Problem]:
    for i, seg in enumerate(site.network.segments):
        if seg.wifi and seg.wifi.security is WifiSecurity.WPA2_PERSONAL:
            yield Problem(("network", "segments", i, "wifi", "security"), f"'{seg.wifi.ssid}' "
                          "uses WPA2", "use wpa3-personal where the devices support it")


@rule("IF014", WARNING, "someone is alerted when the gateway fails", needs=["monitoring"])
def alerting(site: Site) -> Iterator[Problem]:
    if not site.monitoring.alert_emails:
        yield Problem(("monitoring", "alert_emails"), "no alert_emails: nobody is told when "
                      "the site goes offline", "add the on-call address under "
                      "monitoring.alert_emails")
