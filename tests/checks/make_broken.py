"""Writes the corpus of broken site files in tests/checks/broken/ (run it after changing a case).

Each case is the field-hospital example with a small edit. Its header comment says what is
wrong and which findings to expect, one `# expect:` line each:

    # expect: <rule> <severity> line <n> [in <file>]

The line is worked out here from the edit itself (the unique line holding an anchor text),
never from the checker, so the expectations stay independent of the code they test.
The files are committed so that people can read them; tests/checks/test_corpus.py runs them.

    python tests/checks/make_broken.py
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "broken"
EXAMPLE = ROOT / "sites" / "examples" / "field-hospital.yaml"

# (rule, severity, where): `where` is an anchor text whose unique line in the site file is the
# expected line, or a line number; `file` names another file (a users CSV) the line is in.
Expect = tuple[str, str, str | int] | tuple[str, str, int, str]


@dataclass
class Case:
    name: str
    about: str
    edits: list[tuple[str, str]]
    expect: list[Expect]
    body: str | None = None  # the whole file instead of an edited example
    files: dict[str, str] = field(default_factory=dict)  # other files beside it (CSVs)
    encoding_error: bool = False  # write one byte that is not UTF-8 where "\x00" stands


def base() -> str:
    """The example without its comments, so that edits and anchors are exact."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    return "".join(re.sub(r"\s+#.*$", "", line) + "\n" for line in lines
                   if not line.lstrip().startswith("#"))


SEG_CLINICAL = "    - name: clinical\n"
CSV_HEADER = "email,name,groups\n"
USERS = """  users:
    - {email: a.clinician@example.nhs.uk, name: A Clinician, groups: [clinicians]}
    - {email: b.nurse@example.nhs.uk, name: B Nurse, groups: [nurses]}
    - {email: c.admin@example.nhs.uk, name: C Admin, groups: [admin, it-support]}
"""
BOMB = "\n".join([
    "x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
    *(f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 9)),
]) + "\n"


PRIMARY_ADDRESSING = "      addressing: dhcp\n      bandwidth_mbps: 900"


def _primary_addressing(*lines: str) -> tuple[str, str]:
    """An edit that replaces the primary link's addressing with `lines`."""
    return (PRIMARY_ADDRESSING, "".join(f"      {line}\n" for line in lines)
            + "      bandwidth_mbps: 900")


def _csv_case(name: str, about: str, csv: str, expect: list[Expect]) -> Case:
    return Case(name, about, [(USERS, f"  users_file: {name}.csv\n")], expect,
                files={f"{name}.csv": csv})


CASES: list[Case] = [
    # --- the loader's refusals -------------------------------------------------------------
    Case("yaml-syntax-tab", "a tab used for indentation", [
        ("    interval_seconds: 5\n", "\tinterval_seconds: 5\n")],
        [("yaml.syntax", "error", "\tinterval_seconds")]),
    Case("yaml-syntax-unclosed-quote", "a quote that is never closed", [
        ("  name: NHS Nightingale Hospital North West\n",
         '  name: "NHS Nightingale Hospital North West\n')],
        [("yaml.syntax", "error", "  contact:")]),
    Case("yaml-syntax-quote-to-end", "a quote left open to the end of the file", [
        ("  alert_emails: [oncall@example.nhs.uk]", '  alert_emails: ["oncall@example.nhs.uk]')],
        [("yaml.syntax", "error", '["oncall')]),
    Case("yaml-two-documents", "a second YAML document in the same file", [
        ("monitoring:\n", "---\nmonitoring:\n")],
        [("yaml.syntax", "error", "---")]),
    Case("yaml-duplicate-key", "a key written twice in one mapping (YAML would keep the last)", [
        ("  dns_zone: sites", "  region: eu-west-1\n  dns_zone: sites")],
        [("yaml.duplicate-key", "error", "  region: eu-west-1")]),
    Case("yaml-duplicate-section", "a whole section written twice", [
        ("monitoring:\n", "gateway:\n  host: lab\nmonitoring:\n")],
        [("yaml.duplicate-key", "error", "gateway:\n  host: lab")]),
    Case("yaml-alias-bomb", "anchors and aliases that expand to a billion values", [
        ("monitoring:\n", BOMB + "monitoring:\n")],
        [("yaml.alias-bomb", "error", "x4: &x4")]),
    Case("yaml-too-deep", "a value nested 70 levels deep", [
        ("  ntp: [time.cloudflare.com, ntp.ubuntu.com]", "  ntp: " + "[" * 70 + "]" * 70)],
        [("yaml.depth", "error", "  ntp: [[[")]),
    Case("yaml-empty", "nothing but comments", [], [("yaml.empty", "error", 1)], body=""),
    Case("yaml-list-key", "a mapping key that is a list", [
        ("monitoring:\n", "? [a, b]\n: c\nmonitoring:\n")],
        [("yaml.key", "error", "? [a, b]")]),
    Case("yaml-impossible-date", "a date with month 13", [
        ("    opens: 2026-12-01", "    opens: 2026-13-01")],
        [("yaml.value", "error", "2026-13-01")]),
    Case("yaml-python-tag", "a language-specific tag (never executed)", [
        ("  organisation: Example NHS Foundation Trust",
         "  organisation: !!python/object/apply:os.system [echo]")],
        [("yaml.value", "error", "!!python")]),
    Case("yaml-unknown-scalar-tag", "a local tag on a value", [
        ("  lan_interface: lan0", "  lan_interface: !interface lan0")],
        [("yaml.value", "error", "!interface")]),
    Case("file-not-utf8", "a byte that is not UTF-8 (Latin-1 e-acute)", [
        ("  name: NHS Nightingale Hospital North West", "  name: NHS Nightingale H\x00pital")],
        [("file.encoding", "error", "  name: NHS")], encoding_error=True),
    Case("file-control-character", "a NUL character, as in a binary file", [
        ("  lan_interface: lan0", "  lan_interface: lan\x000")],
        [("file.binary", "error", "  lan_interface")]),
    # --- schema ----------------------------------------------------------------------------
    Case("schema-not-a-mapping", "a list where the sections should be", [],
         [("schema.not-a-mapping", "error", 1)], body="- site\n- cloud\n"),
    Case("schema-missing-section", "the gateway section left out", [
        ("gateway:\n  host: 192.0.2.10\n  lan_interface: lan0\n  admin_segment: it\n", "")],
        [("schema.missing", "error", 1)]),
    Case("schema-missing-key", "a health check without its interval", [
        ("    interval_seconds: 5\n", "")],
        [("schema.missing", "error", "  health_check:")]),
    Case("schema-missing-key-in-list", "a link without its interface", [
        ("      interface: wan0\n", "")],
        [("schema.missing", "error", "    - name: fttp")]),
    Case("schema-misspelt-section", "a section name misspelt", [
        ("network:\n", "netwrok:\n")],
        [("schema.unknown-key", "error", "netwrok:")]),
    Case("schema-misspelt-key", "a key misspelt (did you mean)", [
        ("      client_isolation: true", "      client_isolaton: true")],
        [("schema.unknown-key", "error", "client_isolaton")]),
    Case("schema-misspelt-required-key", "a required key misspelt: one finding, not two", [
        ("    opens: 2026-12-01", "    opnes: 2026-12-01")],
        [("schema.unknown-key", "error", "opnes")]),
    Case("schema-unknown-key", "a key the format does not have", [
        ("  protect: false", "  protect: false\n  colour: blue")],
        [("schema.unknown-key", "error", "colour")]),
    Case("schema-number-for-text", "a number where text is expected", [
        ("  organisation: Example NHS Foundation Trust", "  organisation: 42")],
        [("schema.type", "error", "  organisation: 42")]),
    Case("schema-text-for-number", "a quoted VLAN id", [
        ("      vlan: 15", '      vlan: "15"')],
        [("schema.type", "error", '      vlan: "15"')]),
    Case("schema-float-for-int", "a fraction where a whole number is expected", [
        ("    failures: 3", "    failures: 2.5")],
        [("schema.type", "error", "    failures: 2.5")]),
    Case("schema-text-for-bool", "yes/no written as text", [
        ("  protect: false", '  protect: "no"')],
        [("schema.type", "error", '  protect: "no"')]),
    Case("schema-text-for-list", "a single group instead of a list", [
        ("  groups: [clinicians, nurses, admin, it-support]", "  groups: clinicians")],
        [("schema.type", "error", "  groups: clinicians")]),
    Case("schema-text-for-mapping", "a health check written as one value", [
        ("  health_check:\n    targets: [9.9.9.9, 1.1.1.1]\n    interval_seconds: 5\n"
         "    failures: 3", "  health_check: 5s")],
        [("schema.type", "error", "  health_check: 5s")]),
    Case("schema-empty-section", "a section with nothing under it", [
        ("monitoring:\n  alert_emails: [oncall@example.nhs.uk]\n  log_retention_days: 180",
         "monitoring:")],
        [("schema.type", "error", "monitoring:")]),
    Case("schema-resolvers-number", "resolvers neither 'protective' nor a list", [
        ("    resolvers: protective", "    resolvers: 42")],
        [("schema.type", "error", "    resolvers: 42")]),
    Case("schema-resolver-entry-number", "a resolver list with a number in it", [
        ("    resolvers: protective", "    resolvers:\n      - 9.9.9.9\n      - 99")],
        [("schema.type", "error", "      - 99")]),
    Case("schema-kind-misspelt", "a site kind misspelt (did you mean)", [
        ("  kind: field-hospital", "  kind: field-hosptial")],
        [("schema.choice", "error", "field-hosptial")]),
    Case("schema-mfa-misspelt", "an MFA setting misspelt", [
        ("  mfa: required", "  mfa: requried")],
        [("schema.choice", "error", "requried")]),
    Case("schema-yaml-boolean", "mfa: off, which YAML reads as false", [
        ("  mfa: required", "  mfa: off")],
        [("schema.choice", "error", "mfa: off")]),
    Case("schema-link-type-unknown", "a link type the tool does not know", [
        ("      type: broadband", "      type: adsl")],
        [("schema.choice", "error", "type: adsl")]),
    Case("schema-provider-unknown", "a cloud the tool does not support", [
        ("  provider: aws", "  provider: azure")],
        [("schema.choice", "error", "provider: azure")]),
    Case("schema-wifi-security-unknown", "a Wi-Fi security mode that does not exist", [
        ("security: wpa3-personal", "security: wep")],
        [("schema.choice", "error", "security: wep")]),
    Case("schema-no-links", "an empty list of links", [
        ("  links:\n    - name: fttp", "  links: []\n  old:\n    - name: fttp")],
        [("schema.size", "error", "  links: []"), ("schema.unknown-key", "error", "  old:")]),
    Case("schema-no-segments", "an empty list of segments", [
        ("  segments:\n", "  segments: []\n  old:\n")],
        [("schema.size", "error", "  segments: []"), ("schema.unknown-key", "error", "  old:")]),
    Case("schema-ssid-too-long", "an SSID longer than 32 characters", [
        ("ssid: NW-Clinical", "ssid: Nightingale North West Clinical Staff")],
        [("schema.size", "error", "Nightingale North West Clinical")]),
    Case("schema-bandwidth-zero", "a bandwidth of zero", [
        ("      bandwidth_mbps: 900", "      bandwidth_mbps: 0")],
        [("schema.size", "error", "bandwidth_mbps: 0")]),
    Case("schema-no-health-targets", "a health check with nothing to probe", [
        ("    targets: [9.9.9.9, 1.1.1.1]", "    targets: []")],
        [("schema.size", "error", "    targets: []")]),
    Case("schema-empty-name", "a site name that is empty", [
        ("  name: NHS Nightingale Hospital North West", '  name: ""')],
        [("schema.size", "error", '  name: ""')]),
    Case("schema-date-impossible-quoted", "a quoted 30 February", [
        ("    opens: 2026-12-01", '    opens: "2026-02-30"')],
        [("schema.date", "error", "2026-02-30")]),
    Case("schema-date-as-number", "a date written as a number", [
        ("    opens: 2026-12-01", "    opens: 20261201")],
        [("schema.date", "error", "20261201")]),
    Case("schema-date-with-time", "a closing date with a time of day", [
        ("    closes: 2027-03-31", "    closes: 2027-03-31 18:00")],
        [("schema.date", "error", "18:00")]),
    # --- semantics -------------------------------------------------------------------------
    Case("site-id-not-a-label", "a site id with capitals and an underscore", [
        ("  id: nightingale-north", "  id: Nightingale_North")],
        [("site-id", "error", "Nightingale_North")]),
    Case("site-id-too-short", "a site id of two letters", [
        ("  id: nightingale-north", "  id: nw")],
        [("site-id", "error", "  id: nw")]),
    Case("cloud-zone-not-a-domain", "a DNS zone of one label", [
        ("  dns_zone: sites.example.nhs.uk", "  dns_zone: localhost")],
        [("cloud", "error", "localhost")]),
    Case("cloud-region-malformed", "a region name mistyped (not reported as outside the UK)", [
        ("  region: eu-west-2", "  region: eu-west2")],
        [("cloud", "error", "eu-west2")]),
    Case("lifetime-closes-before-opens", "closes before it opens", [
        ("    closes: 2027-03-31", "    closes: 2026-11-30")],
        [("lifetime", "error", "2026-11-30")]),
    Case("lifetime-retention-negative", "a negative retention", [
        ("    retain_data_days: 180", "    retain_data_days: -1")],
        [("lifetime", "error", "retain_data_days: -1")]),
    Case("contact-email-invalid", "a contact email without @", [
        ("email: site-it@example.nhs.uk", "email: site-it.example.nhs.uk")],
        [("contact-email", "error", "site-it.example")]),
    Case("links-duplicate-name", "two links with one name", [
        ("    - name: mobile", "    - name: fttp\n")],
        [("links", "error", "    - name: fttp\n\n")]),
    Case("links-duplicate-interface", "two links on one port", [
        ("      interface: wwan0", "      interface: wan0 ")],
        [("links", "error", "interface: wan0 ")]),
    Case("links-two-primaries", "two primary links", [
        ("      role: backup", "      role: primary  # second")],
        [("links", "error", "# second"), ("IF002", "warning", "  links:")]),
    Case("links-static-no-next-hop", "a static link without the provider's router", [
        _primary_addressing("addressing: static", "address: 192.0.2.2/30")],
        [("links", "error", "    - name: fttp")]),
    Case("links-static-bad-address", "a static address that is not one", [
        _primary_addressing("addressing: static", "address: 192.0.2.300/30",
                            "next_hop: 192.0.2.1")],
        [("links", "error", "192.0.2.300")]),
    Case("links-static-next-hop-elsewhere", "a next hop outside the link's subnet", [
        _primary_addressing("addressing: static", "address: 192.0.2.2/30",
                            "next_hop: 198.51.100.1")],
        [("links", "error", "198.51.100.1")]),
    Case("links-address-on-dhcp", "a static address on a DHCP link (it would be ignored)", [
        ("      bandwidth_mbps: 150", "      bandwidth_mbps: 150\n      address: 192.0.2.2/30")],
        [("links", "error", "192.0.2.2/30")]),
    Case("links-pppoe-no-credentials", "a PPPoE link that names no credentials", [
        _primary_addressing("addressing: pppoe")],
        [("links", "error", "    - name: fttp")]),
    Case("links-credentials-not-a-name", "a PPPoE password written where its name belongs", [
        _primary_addressing("addressing: pppoe", 'credentials_secret: "user:hunter2 !"')],
        [("links", "error", "hunter2")]),
    Case("interfaces-wan-on-lan-port", "a WAN link on the LAN port", [
        ("      interface: wwan0", "      interface: lan0")],
        [("interfaces", "error", "      interface: lan0")]),
    Case("gateway-host-invalid", "a gateway host that is neither address nor name", [
        ("  host: 192.0.2.10", '  host: "gateway at the hall"')],
        [("gateway-host", "error", "gateway at the hall")]),
    Case("health-check-target-name", "a health-check target given as a name", [
        ("    targets: [9.9.9.9, 1.1.1.1]", "    targets: [9.9.9.9, dns.quad9.net]")],
        [("health-check", "error", "dns.quad9.net")]),
    Case("health-check-interval-zero", "a health-check interval of zero", [
        ("    interval_seconds: 5", "    interval_seconds: 0")],
        [("health-check", "error", "interval_seconds: 0")]),
    Case("segments-duplicate-name", "two segments with one name", [
        ("    - name: guest", "    - name: devices  # was guest")],
        [("segments", "error", "was guest")]),
    Case("segments-name-not-a-label", "a segment name with a space", [
        ("    - name: guest", "    - name: Guest Wi-Fi")],
        [("segments", "error", "Guest Wi-Fi")]),
    Case("segments-name-internet", "a segment called internet", [
        ("    - name: guest", "    - name: internet")],
        [("segments", "error", "name: internet")]),
    Case("segments-vlan-too-high", "a VLAN id above 4094", [
        ("      vlan: 30", "      vlan: 5000")],
        [("segments", "error", "vlan: 5000")]),
    Case("segments-vlan-zero", "VLAN 0", [
        ("      vlan: 30", "      vlan: 0")],
        [("segments", "error", "vlan: 0")]),
    Case("segments-vlan-huge", "a VLAN id far beyond any range", [
        ("      vlan: 30", "      vlan: 99999999999999999999999")],
        [("segments", "error", "vlan: 9999")]),
    Case("segments-duplicate-vlan", "two segments on one VLAN", [
        ("      vlan: 20", "      vlan: 10")],
        [("segments", "error", "vlan: 10\n      cidr: 10.50.20")]),
    Case("segments-duplicate-ssid", "two Wi-Fi networks with one name", [
        ("ssid: NHS Wi-Fi", "ssid: NW-Clinical")],
        [("segments", "error", "ssid: NW-Clinical, security: open")]),
    Case("segments-ssid-too-many-bytes", "an SSID of 31 characters but 35 bytes", [
        ("ssid: NW-Clinical", "ssid: Clínica Çà Nightingale Clínic")],
        [("segments", "error", "Clínica")]),
    Case("segments-passphrase-secret-not-a-name", "a passphrase where its name belongs", [
        ("security: wpa3-personal}", 'security: wpa3-personal, passphrase_secret: "my pass!"}')],
        [("segments", "error", "my pass!")]),
    Case("cidrs-invalid", "a prefix length of 33", [
        ("      cidr: 10.50.20.0/24", "      cidr: 10.50.20.0/33")],
        [("cidrs", "error", "10.50.20.0/33")]),
    Case("cidrs-host-bits", "a CIDR with host bits set", [
        ("      cidr: 10.50.20.0/24", "      cidr: 10.50.20.1/24")],
        [("cidrs", "error", "10.50.20.1/24")]),
    Case("cidrs-ipv6", "an IPv6 segment", [
        ("      cidr: 10.50.20.0/24", "      cidr: fd00:50:20::/64")],
        [("cidrs", "error", "fd00:50:20::/64")]),
    Case("cidrs-too-small", "a /30 that leaves no room for clients", [
        ("      cidr: 10.50.20.0/24", "      cidr: 10.50.20.0/30")],
        [("cidrs", "error", "10.50.20.0/30")]),
    Case("cidrs-overlap", "two segments whose ranges overlap", [
        ("      cidr: 10.50.20.0/24", "      cidr: 10.50.10.128/25")],
        [("cidrs", "error", "10.50.10.128/25")]),
    Case("cidrs-public-range", "a public range on the LAN (a warning)", [
        ("      cidr: 10.50.20.0/24", "      cidr: 81.2.69.0/24")],
        [("cidrs", "warning", "81.2.69.0/24")]),
    Case("reach-malformed", "a reach entry with a protocol the tool does not know", [
        ('reach: ["clinical:tcp/104"', 'reach: ["clinical:icmp"')],
        [("reach", "error", "clinical:icmp")]),
    Case("reach-port-out-of-range", "a reach port above 65535", [
        ('"clinical:tcp/443"]', '"clinical:tcp/70000"]')],
        [("reach", "error", "tcp/70000")]),
    Case("reach-unknown-segment", "a reach entry naming a segment that does not exist", [
        ("      reach: [internet, clinical, devices]",
         "      reach: [internet, clinical, printers]")],
        [("reach", "error", "printers")]),
    Case("reach-itself", "a segment that lists itself", [
        ("      reach: [internet, clinical, devices]", "      reach: [internet, clinical, it]")],
        [("reach", "error", "clinical, it]")]),
    Case("reach-internet-port", "internet with a port", [
        ("      reach: [internet, clinical, devices]",
         '      reach: ["internet:tcp/443", clinical, devices]')],
        [("reach", "error", "internet:tcp/443")]),
    Case("resolvers-not-addresses", "a resolver given by name", [
        ("    resolvers: protective", "    resolvers: [dns.quad9.net]")],
        [("resolvers", "error", "dns.quad9.net"), ("IF010", "warning", "dns.quad9.net")]),
    Case("ntp-invalid", "a time server that is not a name or address", [
        ("  ntp: [time.cloudflare.com, ntp.ubuntu.com]", '  ntp: ["the time server"]')],
        [("resolvers", "error", "the time server")]),
    Case("admin-segment-unknown", "an admin segment that does not exist", [
        ("  admin_segment: it", "  admin_segment: management")],
        [("admin-segment", "error", "management")]),
    Case("users-email-invalid", "a user whose email has no domain", [
        ("b.nurse@example.nhs.uk", "b.nurse@")],
        [("users", "error", "b.nurse@,")]),
    Case("users-unknown-group", "a user in a group that is not listed", [
        ("groups: [nurses]", "groups: [midwives]")],
        [("users", "error", "midwives")]),
    Case("users-duplicate", "one user listed twice", [
        ("c.admin@example.nhs.uk, name: C Admin", "A.Clinician@example.nhs.uk, name: C Admin")],
        [("users", "error", "A.Clinician")]),
    Case("users-duplicate-group", "a group listed twice", [
        ("  groups: [clinicians, nurses, admin, it-support]",
         "  groups:\n    - clinicians\n    - nurses\n    - admin\n    - it-support\n"
         "    - nurses  # again")],
        [("users", "error", "# again")]),
    Case("services-duplicate-name", "two services with one name", [
        ("  - name: ehr", "  - name: bed-board  # was ehr")],
        [("services", "error", "was ehr")]),
    Case("services-name-not-a-label", "a service name with an underscore", [
        ("  - name: ehr", "  - name: patient_record")],
        [("services", "error", "patient_record")]),
    Case("services-public-no-origin", "a public service with no origin", [
        ("    origin: https://bedboard.example-saas.example\n", "")],
        [("services", "error", "  - name: bed-board")]),
    Case("services-origin-not-a-url", "an origin with no host", [
        ("    origin: https://bedboard.example-saas.example", "    origin: https://")],
        [("services", "error", "origin: https://\n")]),
    Case("services-endpoint-not-host-port", "a SaaS endpoint without a port", [
        ('["ehr.example-saas.example:443"]', '["https://ehr.example-saas.example"]')],
        [("services", "error", '["https://ehr')]),
    Case("services-saas-no-endpoints", "a SaaS service with no endpoints", [
        ('    endpoints: ["ehr.example-saas.example:443"]\n', "")],
        [("services", "error", "  - name: ehr")]),
    Case("services-origin-on-saas", "an origin on a SaaS service (it would be ignored)", [
        ('    endpoints: ["ehr.example-saas.example:443"]',
         '    endpoints: ["ehr.example-saas.example:443"]\n    origin: https://ehr.example')],
        [("services", "error", "origin: https://ehr.example")]),
    Case("monitoring-email-invalid", "an alert address that is not one", [
        ("  alert_emails: [oncall@example.nhs.uk]", "  alert_emails: [oncall]")],
        [("monitoring", "error", "[oncall]")]),
    Case("monitoring-retention-zero", "log retention of zero days", [
        ("  log_retention_days: 180", "  log_retention_days: 0")],
        [("monitoring", "error", "log_retention_days: 0")]),
    # --- users_file ------------------------------------------------------------------------
    Case("users-file-missing", "a users_file that does not exist", [
        (USERS, "  users_file: no-such-staff.csv\n")],
        [("users-file", "error", "no-such-staff.csv")]),
    _csv_case("users-file-bad-header", "a CSV whose header is not email,name,groups",
              "mail,full name,groups\na@example.nhs.uk,A,admin\n",
              [("users-file", "error", 1, "users-file-bad-header.csv")]),
    _csv_case("users-file-row-without-name", "a CSV row with an email and nothing else",
              CSV_HEADER + "a@example.nhs.uk,A,admin\nb@example.nhs.uk\n",
              [("users-file", "error", 3, "users-file-row-without-name.csv")]),
    _csv_case("users-file-empty-name", "a CSV row whose name is blank",
              CSV_HEADER + "a@example.nhs.uk,A,admin\n\nb@example.nhs.uk, ,nurses\n",
              [("users-file", "error", 4, "users-file-empty-name.csv")]),
    _csv_case("users-file-unknown-group", "a CSV user in a group the site does not have "
              "(reported at the CSV row, after a quoted name that spans two lines)",
              CSV_HEADER + 'a@example.nhs.uk,"A\nClinician",clinicians\n'
              "b@example.nhs.uk,B Nurse,nurses;midwives\n",
              [("users", "error", 4, "users-file-unknown-group.csv")]),
    _csv_case("users-file-bad-email", "a CSV user whose email is not one",
              CSV_HEADER + "a@example.nhs.uk,A,admin\nnot-an-email,B,nurses\n",
              [("users", "error", 3, "users-file-bad-email.csv")]),
    _csv_case("users-file-not-utf8", "a CSV saved as Latin-1",
              CSV_HEADER + "a@example.nhs.uk,A,admin\nb@example.nhs.uk,Zo\udce9,nurses\n",
              [("users-file", "error", 3, "users-file-not-utf8.csv")]),
    # --- policy ----------------------------------------------------------------------------
    Case("IF001-hscn-only", "HSCN as the only link", [
        ("      type: broadband", "      type: hscn"),
        ("    - name: mobile\n      type: 5g\n      role: backup\n      interface: wwan0\n"
         "      addressing: dhcp\n      bandwidth_mbps: 150\n", "")],
        [("IF001", "error", "  links:"), ("IF002", "warning", "  links:")]),
    Case("IF001-private-circuits-only", "HSCN with an MPLS backup: still no internet", [
        ("      type: broadband", "      type: hscn"), ("      type: 5g", "      type: mpls")],
        [("IF001", "error", "  links:"), ("IF002", "error", "type: mpls")]),
    Case("IF002-backup-same-type", "a broadband backup for a broadband primary", [
        ("      type: 5g", "      type: broadband")],
        [("IF002", "error", "      type: broadband\n      role: backup")]),
    Case("IF002-backup-same-kind", "an FTTP backup for a broadband primary: both fixed line", [
        ("      type: 5g", "      type: fttp")],
        [("IF002", "error", "type: fttp")]),
    Case("IF002-no-backup", "no backup link (a warning)", [
        ("    - name: mobile\n      type: 5g\n      role: backup\n      interface: wwan0\n"
         "      addressing: dhcp\n      bandwidth_mbps: 150\n", "")],
        [("IF002", "warning", "  links:")]),
    Case("IF003-mfa-optional", "MFA optional", [("  mfa: required", "  mfa: optional")],
         [("IF003", "error", "mfa: optional")]),
    Case("IF004-guest-reaches-clinical", "the guest segment reaches a clinical segment", [
        ("      client_isolation: true\n      reach: [internet]",
         "      client_isolation: true\n      reach: [internet, clinical]")],
        [("IF004", "error", "reach: [internet, clinical]\n")]),
    Case("IF004-open-wifi-reaches-port", "an open Wi-Fi segment (isolated) reaching one port", [
        ("      client_isolation: true\n      reach: [internet]",
         '      client_isolation: true\n      reach: [internet, "devices:tcp/443"]')],
        [("IF004", "error", "devices:tcp/443")]),
    Case("IF004-staff-reach-into-guest", "a staff segment reaching into the guest segment", [
        ("      reach: [internet, clinical, devices]",
         "      reach: [internet, clinical, devices, guest]")],
        [("IF004", "error", "devices, guest]")]),
    Case("IF005-wifi-passphrase", "a Wi-Fi passphrase written in the file", [
        ("security: wpa3-personal}", 'security: wpa3-personal, passphrase: "Correct Horse"}')],
        [("IF005", "error", "Correct Horse"), ("schema.unknown-key", "error", "Correct Horse")]),
    Case("IF005-password-key", "a gateway password written in the file", [
        ("  lan_interface: lan0", "  lan_interface: lan0\n  ssh_password: hunter2")],
        [("IF005", "error", "hunter2"), ("schema.unknown-key", "error", "hunter2")]),
    Case("IF005-password-in-url", "an origin URL carrying a user and password", [
        ("    origin: https://bedboard.example-saas.example",
         "    origin: https://admin:s3cret@bedboard.example-saas.example")],
        [("IF005", "error", "s3cret@")]),
    Case("IF005-aws-key", "an AWS access key id pasted into a value", [
        ("  organisation: Example NHS Foundation Trust",
         "  organisation: AKIAIOSFODNN7EXAMPLE")],
        [("IF005", "error", "AKIA")]),
    Case("IF005-private-key", "a private key pasted into a value", [
        ("  host: 192.0.2.10", '  host: "-----BEGIN OPENSSH PRIVATE KEY-----"')],
        [("IF005", "error", "BEGIN OPENSSH"), ("gateway-host", "error", "BEGIN OPENSSH")]),
    Case("IF006-region-outside-uk", "Ireland without a recorded approval", [
        ("  region: eu-west-2", "  region: eu-west-1")],
        [("IF006", "error", "eu-west-1")]),
    Case("IF007-public-no-sign-in", "a public service without sign-in", [
        ("    sign_in: required", "    sign_in: none")],
        [("IF007", "error", "sign_in: none")]),
    Case("IF007-public-sign-in-missing", "a public service that does not say sign-in", [
        ("    sign_in: required\n", "")],
        [("IF007", "error", "  - name: bed-board")]),
    Case("IF008-public-http", "a public service behind plain http", [
        ("    origin: https://bedboard.example-saas.example",
         "    origin: http://bedboard.example-saas.example")],
        [("IF008", "error", "origin: http://")]),
    Case("IF009-no-closes", "a temporary site without a closing date", [
        ("    closes: 2027-03-31\n", "")],
        [("IF009", "error", "  lifetime:")]),
    Case("IF009-no-retention", "a temporary site without a retention period", [
        ("    retain_data_days: 180\n", "")],
        [("IF009", "error", "  lifetime:")]),
    Case("IF010-public-resolver", "DNS straight to a public resolver that filters nothing", [
        ("    resolvers: protective", "    resolvers: [protective, 8.8.8.8]")],
        [("IF010", "error", "8.8.8.8")]),
    Case("IF010-unknown-resolvers", "resolvers by address the tool cannot vouch for (warning)", [
        ("    resolvers: protective", "    resolvers: [10.0.0.53]")],
        [("IF010", "warning", "10.0.0.53")]),
    Case("IF011-open-wifi-not-isolated", "open Wi-Fi on a segment without client isolation", [
        ("      client_isolation: true\n", "")],
        [("IF011", "error", "security: open")]),
    Case("IF012-admin-from-guest", "the gateway administered from the guest segment", [
        ("  admin_segment: it", "  admin_segment: guest")],
        [("IF012", "error", "admin_segment: guest")]),
    Case("IF013-wpa2", "staff Wi-Fi on WPA2 (a warning)", [
        ("security: wpa3-personal", "security: wpa2-personal")],
        [("IF013", "warning", "wpa2-personal")]),
    Case("IF014-no-alerts", "nobody alerted (a warning)", [
        ("  alert_emails: [oncall@example.nhs.uk]", "  alert_emails: []")],
        [("IF014", "warning", "alert_emails: []")]),
    # --- several problems at once ----------------------------------------------------------
    Case("many-across-sections", "problems in five sections, all reported together", [
        ("  kind: field-hospital", "  kind: field-hosptial"),
        ("  region: eu-west-2", "  region: us-east-1"),
        ("      vlan: 30", "      vlan: 5000"),
        ("  mfa: required", "  mfa: optional"),
        ("    sign_in: required", "    sign_in: none")],
        [("schema.choice", "error", "field-hosptial"), ("IF006", "error", "us-east-1"),
         ("segments", "error", "vlan: 5000"), ("IF003", "error", "mfa: optional"),
         ("IF007", "error", "sign_in: none")]),
    Case("many-broken-section-others-checked", "a broken network section does not hide "
         "problems elsewhere; rules needing the network are skipped", [
        ("      vlan: 20", '      vlan: "twenty"'),
        ("      reach: [internet, clinical, devices]", "      reach: [internet, nowhere]"),
        ("  admin_segment: it", "  admin_segment: guest"),
        ("  alert_emails: [oncall@example.nhs.uk]", "  alert_emails: [oncall]"),
        ("    - {email: b.nurse@example.nhs.uk", "    - {email: b.nurse@example"),
        ("  lan_interface: lan0", "  lan_interface: lan0\n  passwd: x")],
        [("schema.type", "error", "twenty"), ("monitoring", "error", "[oncall]"),
         ("users", "error", "b.nurse@example,"), ("schema.unknown-key", "error", "passwd"),
         ("IF005", "error", "passwd")]),
    Case("many-links", "three problems with the links", [
        ("      type: broadband", "      type: hscn"),
        ("      type: 5g", "      type: mpls"),
        ("      interface: wwan0", "      interface: wan0 ")],
        [("IF001", "error", "  links:"), ("IF002", "error", "type: mpls"),
         ("links", "error", "interface: wan0 ")]),
    Case("many-segments", "several segment problems", [
        ("      cidr: 10.50.20.0/24", "      cidr: 10.50.10.0/24"),
        ("      vlan: 30", "      vlan: 15"),
        ("      client_isolation: true\n", ""),
        ("      reach: [internet, clinical, devices]", "      reach: [internet, clinical, lab]")],
        [("cidrs", "error", "cidr: 10.50.10.0/24\n      reach: [\"clinical"),
         ("segments", "error", "vlan: 15\n      cidr: 10.50.32"),
         ("IF011", "error", "security: open"), ("reach", "error", "clinical, lab]")]),
]


def _line_of(text: str, anchor: str, case: str) -> int:
    count = text.count(anchor)
    if count != 1:
        raise SystemExit(f"{case}: anchor {anchor!r} occurs {count} times")
    return text[: text.index(anchor)].count("\n") + 1


def render(case: Case) -> tuple[str, list[str]]:
    """The file's text and its expect lines."""
    body = base() if case.body is None else case.body
    for old, new in case.edits:
        if body.count(old) != 1:
            raise SystemExit(f"{case.name}: {old!r} occurs {body.count(old)} times")
        body = body.replace(old, new)
    header_lines = 1 + len(case.expect)
    expects = []
    for item in case.expect:
        rule, severity, where, *in_file = item
        line = where if isinstance(where, int) else header_lines + _line_of(body, where,
                                                                             case.name)
        suffix = f" in {in_file[0]}" if in_file else ""
        expects.append(f"# expect: {rule} {severity} line {line}{suffix}")
    return f"# {case.about}\n" + "\n".join(expects) + "\n" + body, expects


def corpus_files() -> dict[str, bytes]:
    """Every file of the corpus, by name, as it is to be written."""
    files: dict[str, bytes] = {}
    for case in CASES:
        text, _ = render(case)
        data = text.encode("utf-8")
        if case.encoding_error:
            data = data.replace(b"\x00", b"\xe9")
        files[f"{case.name}.yaml"] = data
        for name, content in case.files.items():
            files[name] = content.encode("utf-8", "surrogateescape")
    if len(files) != len(CASES) + sum(len(case.files) for case in CASES):
        raise SystemExit("two cases write a file of the same name")
    return files


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in [*OUT.glob("*.yaml"), *OUT.glob("*.csv")]:
        old.unlink()
    files = corpus_files()
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(files)} files ({len(CASES)} site files) to {OUT}")


if __name__ == "__main__":
    main()
