"""The loader: every value keeps its file:line; what YAML makes dangerous is refused with a
finding, never an exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provision.checks import load_site, validate_file
from provision.errors import SiteInvalid
from provision.site.loader import MAX_FILE_BYTES, parse_yaml, read_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "sites" / "examples"
FIELD_HOSPITAL = EXAMPLES / "field-hospital.yaml"


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def only_rule(path: Path) -> tuple[str, int]:
    findings = validate_file(path).findings
    assert len(findings) == 1, findings
    return findings[0].rule, findings[0].location.line


def test_every_value_keeps_its_line() -> None:
    site = load_site(FIELD_HOSPITAL)
    source = site.source
    assert source.at("network", "segments", 1, "cidr").line == line_of(FIELD_HOSPITAL,
                                                                        "10.50.15.0/26")
    assert source.at("identity", "users", 1).line == line_of(FIELD_HOSPITAL, "b.nurse@")
    assert source.at("services", 1, "endpoints", 0).line == line_of(FIELD_HOSPITAL,
                                                                     '"ehr.example')
    # a value that was not written points at its nearest written ancestor
    assert source.at("gateway", "ssh_user").line == line_of(FIELD_HOSPITAL, "gateway:")
    assert source.at("cloud", "region").file == str(FIELD_HOSPITAL)


def test_csv_users_keep_their_csv_rows_and_inline_users_keep_theirs(tmp_path: Path) -> None:
    text = re.sub(r"  # or: users_file: staff.csv.*", "  users_file: staff.csv",
                  FIELD_HOSPITAL.read_text(encoding="utf-8"))
    site_file = tmp_path / "site.yaml"
    site_file.write_text(text, encoding="utf-8")
    (tmp_path / "staff.csv").write_text(
        "email,name,groups\nd.doctor@example.nhs.uk,D Doctor,clinicians\n\n"
        "e.nurse@example.nhs.uk,E Nurse,nurses;admin\n", encoding="utf-8")
    site = load_site(site_file)
    assert [u.email for u in site.identity.users][3:] == ["d.doctor@example.nhs.uk",
                                                           "e.nurse@example.nhs.uk"]
    assert site.identity.users[4].groups == ["nurses", "admin"]
    first_inline = line_of(site_file, "a.clinician")
    assert str(site.source.at("identity", "users", 0)) == f"{site_file}:{first_inline}"
    assert str(site.source.at("identity", "users", 3, "email")) == f"{tmp_path}/staff.csv:2"
    assert str(site.source.at("identity", "users", 4)) == f"{tmp_path}/staff.csv:4"


def test_merge_keys_may_override_but_written_duplicates_are_refused(tmp_path: Path) -> None:
    doc = parse_yaml("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  a: 3\n", tmp_path / "m.yaml")
    assert not doc.findings
    assert doc.data["x"] == {"a": 3, "b": 2}
    doc = parse_yaml("x:\n  a: 1\n  b: 2\n  a: 3\n", tmp_path / "d.yaml")
    assert [(f.rule, f.location.line) for f in doc.findings] == [("yaml.duplicate-key", 4)]
    assert "first at line 2" in doc.findings[0].message


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    doc = parse_yaml("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", tmp_path / "a.yaml")
    assert not doc.findings
    assert doc.data["b"] == [[1, 2, 3]] * 3


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + FIELD_HOSPITAL.read_bytes())
    assert validate_file(path).findings == []


def test_missing_file(tmp_path: Path) -> None:
    assert only_rule(tmp_path / "nope.yaml") == ("file.missing", 1)


def test_directory(tmp_path: Path) -> None:
    assert only_rule(tmp_path) == ("file.unreadable", 1)


def test_device_is_not_read() -> None:
    assert only_rule(Path("/dev/zero")) == ("file.unreadable", 1)


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1), encoding="utf-8")
    assert only_rule(path) == ("file.too-large", 1)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "program.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    assert only_rule(path)[0] == "file.encoding"


@pytest.mark.parametrize(("text", "rule"), [
    ("[1, 2]\n", "schema.not-a-mapping"),
    ("null\n", "schema.not-a-mapping"),
    ("42\n", "schema.not-a-mapping"),
    ("'just text'\n", "schema.not-a-mapping"),
])
def test_a_document_that_is_not_a_mapping(tmp_path: Path, text: str, rule: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    assert only_rule(path) == (rule, 1)


def test_read_yaml_reports_instead_of_raising(tmp_path: Path) -> None:
    assert read_yaml(tmp_path / "missing.yaml").data is None


def test_load_site_raises_site_invalid_with_every_finding(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(FIELD_HOSPITAL.read_text(encoding="utf-8")
                    .replace("mfa: required", "mfa: optional")
                    .replace("vlan: 30", "vlan: 5000"), encoding="utf-8")
    with pytest.raises(SiteInvalid) as raised:
        load_site(path)
    assert sorted(f.rule for f in raised.value.findings) == ["IF003", "segments"]


@pytest.mark.parametrize(("users_file", "message"), [
    ("/dev/zero", "is not a regular file"),
    (".", "is a directory"),
    ("nowhere.csv", "does not exist"),
])
def test_users_file_that_cannot_be_read(tmp_path: Path, users_file: str, message: str) -> None:
    text = re.sub(r"  # or: users_file: staff.csv.*", f"  users_file: {users_file}",
                  FIELD_HOSPITAL.read_text(encoding="utf-8"))
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    findings = validate_file(path).findings
    assert [(f.rule, f.location.line) for f in findings] == [
        ("users-file", line_of(path, "users_file:"))]
    assert message in findings[0].message
