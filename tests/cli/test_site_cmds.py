"""`provision validate | new | schema | rules` through the real console command, as a user runs
them: exit codes, output grouped by file and sorted by line, JSON shape, and never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provision.site.model import SiteKind
from provision.site.schema import site_json_schema

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "sites" / "examples"
BROKEN = REPO / "tests" / "checks" / "broken"
FINDING = re.compile(r"^  (?P<file>\S+):(?P<line>\d+): (?P<severity>error|warning)"
                     r"\[(?P<rule>[^\]]+)\]: ")


def provision_command() -> str:
    """The console script installed beside this interpreter (not a shell shim)."""
    beside = Path(sys.executable).parent / "provision"
    found = str(beside) if beside.is_file() else shutil.which("provision")
    assert found, "the provision command is not installed (pip install -e .)"
    return found


def run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # a wide terminal, so that rich does not wrap a finding over two lines
    env = {**os.environ, "COLUMNS": "300"}
    result = subprocess.run([provision_command(), *map(str, args)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def test_clean_examples_exit_0() -> None:
    result = run("validate", "sites/examples")
    assert result.returncode == 0, result.stdout
    for name in ("field-hospital", "vaccination-centre", "surge-clinic"):
        assert f"sites/examples/{name}.yaml: ok" in result.stdout
    assert "0 error(s), 0 warning(s)" in result.stdout


def test_warnings_alone_exit_0() -> None:
    result = run("validate", BROKEN / "IF013-wpa2.yaml")
    assert result.returncode == 0
    assert "warning[IF013]" in result.stdout
    assert "0 error(s), 1 warning(s)" in result.stdout


def test_errors_exit_1_grouped_by_file_and_sorted_by_line() -> None:
    files = [BROKEN / "many-segments.yaml", BROKEN / "many-across-sections.yaml",
             EXAMPLES / "field-hospital.yaml"]
    result = run("validate", *files)
    assert result.returncode == 1
    headers = [line for line in result.stdout.splitlines() if line.startswith(str(BROKEN))]
    assert headers == sorted(headers) == [str(files[1]), str(files[0])]
    grouped: dict[str, list[int]] = {}
    for line in result.stdout.splitlines():
        match = FINDING.match(line)
        if match:
            grouped.setdefault(match["file"], []).append(int(match["line"]))
    assert list(grouped) == [str(files[1]), str(files[0])]
    assert all(lines == sorted(lines) and len(lines) >= 4 for lines in grouped.values())
    assert result.stdout.count("      fix: ") == sum(map(len, grouped.values()))
    assert "9 error(s), 0 warning(s)" in result.stdout


def test_json_output_shape() -> None:
    result = run("validate", "--json", EXAMPLES / "surge-clinic.yaml",
                 BROKEN / "many-links.yaml")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["files"] == [
        {"file": str(EXAMPLES / "surge-clinic.yaml"), "ok": True, "errors": 0, "warnings": 0,
         "not_checked": [], "sections_with_shape_errors": []},
        {"file": str(BROKEN / "many-links.yaml"), "ok": False, "errors": 3, "warnings": 0,
         "not_checked": [], "sections_with_shape_errors": []}]
    findings = report["findings"]
    assert [f["rule"] for f in findings] == ["IF001", "IF002", "links"]
    assert all(set(f) == {"rule", "severity", "file", "line", "message", "fix"}
               for f in findings)
    assert [f["line"] for f in findings] == sorted(f["line"] for f in findings)


def test_the_whole_corpus_and_odd_paths_never_give_a_traceback(tmp_path: Path) -> None:
    odd = [tmp_path, tmp_path / "missing.yaml", Path("/dev/null")]
    corpus = sorted(BROKEN.glob("*.yaml"))
    result = run("validate", *corpus, *odd)
    assert result.returncode == 1
    for path in [*corpus, *odd]:
        beside = path.with_suffix(".csv")  # a users CSV's findings are grouped under it
        assert f"\n{path}\n" in "\n" + result.stdout or (
            beside.is_file() and f"\n{beside}\n" in result.stdout), f"{path} not reported"
    as_json = run("validate", "--json", *corpus, *odd)
    assert as_json.returncode == 1
    assert len(json.loads(as_json.stdout)["files"]) == len(corpus) + len(odd)


def test_paths_are_printed_as_written(tmp_path: Path) -> None:
    odd = tmp_path / "[old] :x:"
    odd.mkdir()
    shutil.copy(EXAMPLES / "field-hospital.yaml", odd / "site.yaml")
    result = run("validate", odd / "site.yaml")
    assert result.returncode == 0
    assert f"{odd}/site.yaml: ok" in result.stdout
    written = run("new", "--kind", "office", "--id", "hq-two", "--out", odd / "new.yaml")
    assert f"wrote {odd}/new.yaml" in written.stdout


def test_a_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    site = tmp_path / "typo.yaml"
    site.write_text((EXAMPLES / "field-hospital.yaml").read_text(encoding="utf-8")
                    .replace("client_isolation:", "client_isolaton:"), encoding="utf-8")
    result = run("validate", site)
    assert result.returncode == 1
    assert "unknown key 'client_isolaton'" in result.stdout
    assert "did you mean 'client_isolation'?" in result.stdout


def test_checks_held_back_by_shape_errors_are_named(tmp_path: Path) -> None:
    site = tmp_path / "typo.yaml"
    site.write_text((EXAMPLES / "field-hospital.yaml").read_text(encoding="utf-8")
                    .replace("      vlan: 20", "      vlna: 20")
                    .replace("admin_segment: it", "admin_segment: itt"), encoding="utf-8")
    said = run("validate", site)
    assert "did not run because of the shape errors in network" in said.stdout
    [summary] = json.loads(run("validate", site, "--json").stdout)["files"]
    assert summary["sections_with_shape_errors"] == ["network"]
    assert "admin-segment" in summary["not_checked"]  # would report 'itt' once vlan is fixed
    fixed = site.read_text(encoding="utf-8").replace("vlna: 20", "vlan: 20")
    site.write_text(fixed, encoding="utf-8")
    assert "admin_segment 'itt' is not a segment" in run("validate", site).stdout


def test_a_directory_without_site_files_is_reported(tmp_path: Path) -> None:
    result = run("validate", tmp_path, EXAMPLES / "field-hospital.yaml")
    assert result.returncode == 1
    assert f"{tmp_path}:1: error[file.unreadable]: {tmp_path} is a directory" in result.stdout


@pytest.mark.parametrize("kind", [k.value for k in SiteKind])
def test_new_writes_a_file_that_validates_clean(tmp_path: Path, kind: str) -> None:
    result = run("new", "--kind", kind, "--id", "my-site", "--name", "My Site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote my-site.yaml" in result.stdout
    checked = run("validate", "my-site.yaml", cwd=tmp_path)
    assert checked.returncode == 0
    assert "0 error(s), 0 warning(s)" in checked.stdout


def test_new_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "site.yaml"
    target.write_text("mine\n", encoding="utf-8")
    refused = run("new", "--kind", "office", "--id", "hq-one", "--out", target)
    assert refused.returncode == 1
    assert "exists" in refused.stderr
    assert target.read_text(encoding="utf-8") == "mine\n"
    forced = run("new", "--kind", "office", "--id", "hq-one", "--out", target, "--force")
    assert forced.returncode == 0
    assert "id: hq-one" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--kind", "office", "--id", "Bad_ID"], 1, "'Bad_ID' is not a site id"),
    (["--kind", "office", "--id", "ok-id", "--name", " "], 1, "the site name is blank"),
    (["--kind", "office", "--id", "ok-id", "--out", "/nonexistent/dir/x.yaml"], 1,
     "cannot write"),
    (["--kind", "hospital", "--id", "ok-id"], 2, "hospital"),
])
def test_new_explains_bad_input(tmp_path: Path, args: list[str], code: int, message: str
                                ) -> None:
    result = run("new", *args, cwd=tmp_path)
    assert result.returncode == code
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_schema_prints_the_committed_schema() -> None:
    result = run("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == site_json_schema() == json.loads(
        (REPO / "sites" / "schema.json").read_text(encoding="utf-8"))


def test_rules_lists_every_check() -> None:
    listing = json.loads(run("rules", "--json").stdout)
    ids = [item["id"] for item in listing]
    assert [i for i in ids if i.startswith("IF")] == [f"IF{n:03d}" for n in range(1, 15)]
    assert {"yaml.duplicate-key", "schema.unknown-key", "cidrs", "users-file"} <= set(ids)
    assert {item["severity"] for item in listing} == {"error", "warning"}
    text = run("rules").stdout
    assert all(rule_id in text for rule_id in ids)
