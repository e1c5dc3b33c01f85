"""`provision render SITE --out DIR`, run as a user runs it: the installed command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from provision.cli import main; main()",
                           *args], capture_output=True, text=True, timeout=60)


def test_render_writes_and_lists_the_files(tmp_path: Path, field_hospital_file: Path) -> None:
    out = tmp_path / "out"
    result = provision("render", str(field_hospital_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stdout.splitlines() if line.startswith(str(out))]
    assert str(out / "gateway/nftables.conf") in listed
    assert str(out / "inventory/host_vars/nightingale-north-gw.yml") in listed
    assert sorted(listed) == sorted(str(p) for p in out.rglob("*") if p.is_file())


def test_render_json_lists_the_files(tmp_path: Path, field_hospital_file: Path) -> None:
    result = provision("render", str(field_hospital_file), "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert str(tmp_path / "gateway/dnsmasq.conf") in files


def test_invalid_site_gives_findings_not_a_traceback(tmp_path: Path,
                                                     field_hospital_file: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(field_hospital_file.read_text().replace("admin_segment: it ",
                                                         "admin_segment: itt "))
    result = provision("render", str(broken), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "admin_segment 'itt' is not a segment" in result.stdout
    assert not (tmp_path / "out").exists()
