"""`provision new`'s text: every kind validates clean as written, and bad input is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from provision.checks import load_site, validate_file
from provision.errors import ProvisionError
from provision.site.model import SiteKind
from provision.site.templates import KINDS, new_site_text


def written(tmp_path: Path, kind: SiteKind, site_id: str, name: str | None = None) -> Path:
    path = tmp_path / f"{site_id}.yaml"
    path.write_text(new_site_text(kind, site_id, name), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", list(SiteKind))
def test_every_kind_validates_without_findings(tmp_path: Path, kind: SiteKind) -> None:
    path = written(tmp_path, kind, f"new-{kind.value}")
    assert validate_file(path).findings == []
    site = load_site(path)
    assert site.site.kind is kind
    assert site.site.id == f"new-{kind.value}"
    assert [s.name for s in site.network.segments] == [s.name for s in KINDS[kind].segments]
    assert site.site.lifetime.opens == dt.date.today()


def test_kinds_differ_as_described(tmp_path: Path) -> None:
    segments = {kind: [s.name for s in load_site(written(tmp_path, kind, f"k-{kind.value}"))
                       .network.segments] for kind in SiteKind}
    assert segments[SiteKind.FIELD_HOSPITAL] == ["clinical", "it", "devices", "guest"]
    assert segments[SiteKind.VACCINATION_CENTRE] == ["vaccinators", "it", "guest"]
    assert segments[SiteKind.SURGE_CLINIC] == ["clinical", "it", "guest"]
    office = load_site(written(tmp_path, SiteKind.OFFICE, "an-office"))
    assert office.site.lifetime.closes is None
    clinic = load_site(written(tmp_path, SiteKind.SURGE_CLINIC, "a-clinic"))
    assert clinic.site.lifetime.closes is not None


def test_the_file_teaches_the_format() -> None:
    text = new_site_text(SiteKind.FIELD_HOSPITAL, "teach-me", None)
    comments = [line for line in text.splitlines() if "#" in line]
    assert len(comments) >= 30
    assert "provision validate teach-me.yaml" in text


@pytest.mark.parametrize("name", ['Ward "7": East', "St Mary's # annexe", "Ysbyty Ŵyl",
                                  "two\nlines", "yes", "- dash", "{brace}"])
def test_any_name_is_written_safely(tmp_path: Path, name: str) -> None:
    site = load_site(written(tmp_path, SiteKind.SURGE_CLINIC, "named-site", name))
    assert site.site.name == name


@pytest.mark.parametrize("bad_id", ["Bad_ID", "ab", "-leading", "trailing-", "two--hyphens",
                                    "x" * 41, "with space", "ünïcode", ""])
def test_a_bad_id_is_refused_with_a_clear_message(bad_id: str) -> None:
    with pytest.raises(ProvisionError, match="is not a site id") as raised:
        new_site_text(SiteKind.OFFICE, bad_id, None)
    assert "lowercase" in raised.value.hint


def test_a_blank_name_is_refused() -> None:
    with pytest.raises(ProvisionError, match="blank"):
        new_site_text(SiteKind.OFFICE, "ok-id", "   ")
