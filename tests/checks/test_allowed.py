"""What the checks must let through: each variant is a legitimate site and yields no finding.
(The corpus shows each check firing; these show it does not fire too widely.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.checks import RULES, validate_file

FIELD_HOSPITAL = Path(__file__).resolve().parents[2] / "sites" / "examples" / \
    "field-hospital.yaml"

ALLOWED = {
    "region-with-approval": [("  region: eu-west-2", "  region: eu-west-1\n  region_exception: "
                              "{approved_by: Trust SIRO, reference: DPIA-2026-014}")],
    "office-without-closes": [("  kind: field-hospital", "  kind: office"),
                              ("    closes: 2027-03-31", "")],
    "hscn-as-an-extra-link": [("    - name: mobile", "    - name: n3\n      type: hscn\n"
                               "      role: backup\n      interface: wan1\n    - name: mobile")],
    "mobile-primary-fixed-backup": [("      type: broadband", "      type: 4g"),
                                    ("      type: 5g", "      type: fttp")],
    "resolvers-listed-as-protective": [("    resolvers: protective",
                                        "    resolvers: [protective]")],
    "named-wifi-secret": [("security: wpa3-personal}",
                           "security: wpa3-personal, passphrase_secret: trust/wifi/clinical}")],
    "static-primary": [("      addressing: dhcp", "      addressing: static\n"
                        "      address: 203.0.113.2/30\n      next_hop: 203.0.113.1")],
    "pppoe-primary": [("      addressing: dhcp", "      addressing: pppoe\n"
                       "      credentials_secret: trust/pppoe")],
    "gateway-by-name": [("  host: 192.0.2.10", "  host: gw1.site.example.nhs.uk")],
    "lab-gateway": [("  host: 192.0.2.10", "  host: lab")],
}


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_allowed_variant_has_no_findings(tmp_path: Path, name: str) -> None:
    text = FIELD_HOSPITAL.read_text(encoding="utf-8")
    for old, new in ALLOWED[name]:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    assert [f"{f.location.line}: {f.rule} {f.message}" for f in validate_file(path).findings] \
        == []


def test_policy_rules_are_if001_to_if014_each_with_a_summary() -> None:
    policy = sorted(rule_id for rule_id in RULES if rule_id.startswith("IF"))
    assert policy == [f"IF{n:03d}" for n in range(1, 15)]
    assert all(RULES[rule_id].summary for rule_id in RULES)
