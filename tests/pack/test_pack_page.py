"""The handover pack's content, from the real site loader through the real templates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provision.checks import load_site
from provision.cli import full_app
from provision.errors import ProvisionError
from provision.pack import read_verify_results, render_pack, write_pack
from provision.pack.diagram import layout
from provision.pack.page import segment_rows
from provision.site.paths import verify_results_file
from provision.verify import CheckResult, VerifyReport
from tests.conftest import FIELD_HOSPITAL, VariantFile
from tests.pack.pack_helpers import diagram_texts, many_segments, visible_text


@pytest.fixture
def page() -> str:
    return render_pack(load_site(FIELD_HOSPITAL))


def test_every_fact_the_site_team_needs_is_on_the_page(page: str) -> None:
    site = load_site(FIELD_HOSPITAL)
    text = visible_text(page)
    assert site.site.name in text and site.site.organisation in text
    for seg in site.network.segments:
        assert seg.name in text and seg.cidr in text and f"VLAN {seg.vlan}" in text
    assert "10.50.10.1" in text and "10.50.32.1" in text  # the gateway's addresses
    assert "NW-Clinical" in text and "NHS Wi-Fi" in text
    assert ("AWS Secrets Manager, eu-west-2: provision/nightingale-north/wifi/clinical"
            in text)
    assert "Open network: no password." in text
    assert "https://bed-board.nightingale-north.sites.example.nhs.uk" in text
    assert "Required: a site account with multi-factor authentication" in text
    assert "ehr.example-saas.example:443" in text
    for contact in ("Site IT Lead", "site-it@example.nhs.uk", "+44 161 000 0000",
                    "oncall@example.nhs.uk"):
        assert contact in text
    assert "1 December 2026" in text and "31 March 2027" in text
    assert "kept for 180 days" in text
    assert "No: the site can be torn down" in text
    for link in ("fttp", "mobile", "900 Mbit/s", "150 Mbit/s", "wan0", "wwan0"):
        assert link in text


def test_the_page_names_secrets_and_never_holds_one(page: str) -> None:
    site = load_site(FIELD_HOSPITAL)
    clinical, guest = site.segment("clinical"), site.segment("guest")
    assert clinical is not None and guest is not None
    assert site.wifi_secret(clinical) in page
    assert site.wifi_secret(guest) not in page  # an open network has no passphrase to name
    for setting in ("wpa_passphrase", "sae_password", "passphrase:", "password:"):
        assert setting not in page


def test_the_page_is_self_contained(page: str) -> None:
    """Usable offline: nothing is fetched, no script runs."""
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!bed-board\.)""", page)
    assert "@import" not in page and "url(" not in page


def test_diagram_has_a_text_per_segment_and_the_reach_matrix(page: str) -> None:
    texts = diagram_texts(page)
    for name in ("clinical", "it", "devices", "guest"):
        assert name in texts
    assert "GUEST / ISOLATED" in texts and "GATEWAY ADMIN" in texts
    assert "Internet" in texts and "Site gateway" in texts
    assert "tcp/104, tcp/443" in texts  # devices -> clinical, from `reach`
    assert "Wi-Fi: NW-Clinical" in texts and "5G mobile" in texts


def test_reach_matrix_follows_the_site_file() -> None:
    diagram = layout(load_site(FIELD_HOSPITAL), {n: "x" for n in
                                                 ("clinical", "it", "devices", "guest")})
    cells = {(round(t.x), round(t.y)): t.text for t in diagram.texts if t.css == "body"}
    labels = {t.text: t.y for t in diagram.texts if t.css == "body" and t.anchor == "start"
              and t.weight == "bold"}
    heads = {t.text: t.x for t in diagram.texts if t.css == "matrix-head-text"}

    def cell(source: str, target: str) -> list[str]:
        row_y, col_x = labels[source], heads[target]
        return [text for (x, y), text in sorted(cells.items(), key=lambda c: c[0][1])
                if x == round(col_x) and abs(y - row_y) < 25]

    assert cell("devices", "clinical") == ["tcp/104, tcp/443"]
    assert cell("devices", "Internet") == ["No"]
    assert cell("it", "devices") == ["Yes"]
    assert cell("guest", "Internet") == ["Yes"]
    assert cell("guest", "guest") == ["No", "(isolated)"]
    assert cell("clinical", "guest") == ["No"]


def test_layout_is_deterministic_and_wraps_many_segments(variant_file: VariantFile) -> None:
    site = load_site(variant_file(many_segments))
    gateways = {row.segment.name: row.gateway for row in segment_rows(site)}
    first, second = layout(site, gateways), layout(site, gateways)
    assert first == second
    names = [seg.name for seg in site.network.segments]
    heads = [t for t in first.texts if t.css.startswith("segment-name")]
    assert [t.text for t in heads] == names
    assert len({t.y for t in heads}) == 2  # two rows of boxes
    for rect in first.rects:
        assert rect.x >= 0 and rect.x + rect.w <= first.width + 0.01
        assert rect.y >= 0 and rect.y + rect.h <= first.height
    # Long names are squeezed to their box rather than overflowing it.
    assert any(t.fit for t in heads)


def test_html_in_the_site_file_is_escaped(variant_file: VariantFile) -> None:
    def hostile(document: dict[str, Any]) -> None:
        document["site"]["name"] = "<script>alert(1)</script> North & West"
        document["network"]["segments"][0]["wifi"]["ssid"] = "<b>Clinical</b>"
    page = render_pack(load_site(variant_file(hostile)))
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; North &amp; West" in page
    assert "&lt;b&gt;Clinical&lt;/b&gt;" in page
    assert "<b>Clinical</b>" in " ".join(diagram_texts(page))  # parsed back: plain text


def test_not_verified_yet_without_results(page: str) -> None:
    assert visible_text(page).count("Not verified yet") == 2  # at a glance, and the section


def test_verify_results_are_shown_with_their_outcome() -> None:
    results = [CheckResult("dhcp:clinical", "dhcp", True, "a lease in 10.50.10.0/24",
                           "10.50.10.23"),
               CheckResult("reach:guest->clinical", "reach", False, "blocked", "tcp/443 open")]
    text = visible_text(render_pack(load_site(FIELD_HOSPITAL), results))
    assert "Not verified yet" not in text
    assert "1 of 2 checks failed" in text
    for needle in ("dhcp:clinical", "10.50.10.23", "✓ passed",
                   "reach:guest->clinical", "tcp/443 open", "✗ failed"):
        assert needle in text


def test_protected_and_permanent_sites_say_so(variant_file: VariantFile) -> None:
    def office(document: dict[str, Any]) -> None:
        document["site"]["kind"] = "office"
        document["site"]["protect"] = True
        del document["site"]["lifetime"]["closes"]
        del document["site"]["lifetime"]["retain_data_days"]
    text = visible_text(render_pack(load_site(variant_file(office))))
    assert "Yes: teardown is refused until protect is set back to false" in text
    assert "No closing date (permanent site)" in text


def test_write_pack_creates_the_folder(tmp_path: Path) -> None:
    target = write_pack(load_site(FIELD_HOSPITAL), tmp_path / "a" / "b")
    assert target == tmp_path / "a" / "b" / "index.html"
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_writes_the_pack_with_saved_results(tmp_path: Path) -> None:
    saved = tmp_path / "verify.json"
    saved.write_text(json.dumps([{"name": "internet from clinical", "passed": True,
                                  "expected": "reachable", "seen": "reachable"}]))
    result = CliRunner().invoke(full_app(), ["pack", str(FIELD_HOSPITAL), "--out",
                                      str(tmp_path / "pack"), "--verify-results", str(saved),
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"pack": str(tmp_path / "pack" / "index.html"),
                                         "verify_results": str(saved)}
    text = visible_text((tmp_path / "pack" / "index.html").read_text(encoding="utf-8"))
    assert "The check passed" in text and "internet from clinical" in text


def test_cli_refuses_an_invalid_site(variant_file: VariantFile, tmp_path: Path) -> None:
    def broken(document: dict[str, Any]) -> None:
        document["network"]["segments"][1]["vlan"] = 10  # a duplicate VLAN
    result = CliRunner().invoke(full_app(), ["pack", str(variant_file(broken)), "--out",
                                      str(tmp_path / "pack")])
    assert result.exit_code != 0
    assert not (tmp_path / "pack").exists()


@pytest.mark.parametrize("content", ['{"name": "x"}', '[{"name": "x", "passed": "yes"}]',
                                     "not json"])
def test_malformed_verify_results_are_a_user_error(tmp_path: Path, content: str) -> None:
    saved = tmp_path / "verify.json"
    saved.write_text(content)
    with pytest.raises(ProvisionError, match="cannot read verify results"):
        read_verify_results(saved)


def test_cli_finds_the_results_verify_saved_for_the_site(variant_file: VariantFile,
                                                          tmp_path: Path) -> None:
    """`provision verify` saves beside the site file; pack picks them up by default."""
    site_file = variant_file(lambda document: None)
    report = VerifyReport("nightingale-north", "2026-12-01T08:00:00+00:00", 12.5, [
        CheckResult("nat:clinical", "nat", True, "masqueraded", "203.0.113.2",
                    {"ms": 3})])
    report.save(verify_results_file(site_file, "nightingale-north"))
    result = CliRunner().invoke(full_app(),
                                ["pack", str(site_file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = visible_text((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    assert "The check passed" in text and "nat:clinical" in text
    assert "Checked on" in text and "Not verified yet" not in text


def test_cli_says_not_verified_when_nothing_was_saved(variant_file: VariantFile,
                                                      tmp_path: Path) -> None:
    result = CliRunner().invoke(full_app(), ["pack", str(variant_file(lambda document: None)),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "not verified yet" in result.output
    text = visible_text((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    assert "Not verified yet" in text
