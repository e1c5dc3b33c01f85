"""`provision status` and `provision expire` over a folder of sites, through the installed
command, acting "for real" (--no-lab) on the cloud half against an emulator in its own
process. One folder goes through its life: listed, applied, drifted, locked, expired."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provision.aws.session import AwsSession
from provision.engine.state import LocalBackend
from provision.site.paths import work_root
from tests.engine.conftest import PROVISION, cli_env, write_site

ON = "2026-06-01"  # alpha and charlie are past closing, bravo is open
LATER = "2026-12-01"  # bravo is past closing too
EARLIER = "2026-03-01"  # nothing is past closing


def run(args: list[str], endpoint: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(endpoint), "COLUMNS": "80"}
    return subprocess.run([PROVISION, *args], env=env, capture_output=True, text=True,
                          timeout=300, **kwargs)


def site(folder: Path, site_id: str, opens: str, closes: str, *, protect: bool = False
         ) -> Path:
    return write_site(folder, name=f"{site_id}.yaml", replace={
        "id: nightingale-north": f"id: {site_id}", "opens: 2026-12-01": f"opens: {opens}",
        "closes: 2027-03-31": f"closes: {closes}",
        "protect: false": f"protect: {'true' if protect else 'false'}"})


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, Path]:
    """Three site files (one invalid: it closes before it opens), a protected one in a
    subfolder, and a YAML file in the tool's own working folder that must be skipped."""
    sites = {"alpha": site(tmp_path, "alpha", "2026-01-01", "2026-03-31"),
             "bravo": site(tmp_path, "bravo", "2026-04-01", "2026-09-30"),
             "broken": site(tmp_path, "broken", "2026-05-01", "2026-04-01"),
             "charlie": site(tmp_path / "north", "charlie", "2026-01-01", "2026-02-28",
                             protect=True)}
    (tmp_path / ".provision").mkdir()
    (tmp_path / ".provision" / "stray.yaml").write_text("not: a site\n")
    return sites


def rows(printed: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(printed.stdout)
    return {Path(r["file"]).stem: r for r in listed}


def bucket_exists(aws: AwsSession, site_id: str) -> bool:
    names = {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}
    return f"provision-{site_id}-data" in names


def state_of(path: Path, site_id: str) -> dict[str, Any]:
    recorded: dict[str, Any] = json.loads(
        (work_root(path) / site_id / "state.json").read_text())
    return recorded


def test_status_and_expire_over_a_fleet(moto_process: str, tmp_path: Path,
                                        fleet: dict[str, Path]) -> None:
    aws = AwsSession("eu-west-2", endpoint_url=moto_process)

    # Before anything is applied: every row, the invalid file as a row, exit 1 for it.
    listed = run(["status", str(tmp_path), "--no-lab", "--today", ON, "--json"], moto_process)
    assert listed.returncode == 1, listed.stderr
    before = rows(listed)
    assert sorted(before) == ["alpha", "bravo", "broken", "charlie"]
    assert before["alpha"]["lifetime"] == {"phase": "past-closing", "days": 62,
                                           "text": "PAST CLOSING by 62 days"}
    assert before["bravo"]["lifetime"]["text"] == "open, 121 days left"
    assert (before["charlie"]["protect"], before["charlie"]["lifetime"]["phase"]) == (
        True, "past-closing")
    assert before["broken"]["site_id"] is None
    assert "does not validate" in before["broken"]["error"]
    assert "closes (2026-04-01) is not after opens" in before["broken"]["error"]
    for name in ("alpha", "bravo", "charlie"):
        assert before[name]["error"] is None
        assert (before[name]["last_apply"], before[name]["resources"], before[name]["lock"],
                before[name]["drift"]) == (None, 0, None, {"status": "none", "count": 0,
                                                           "why": None})
    table = run(["status", str(tmp_path), "--no-lab", "--today", ON, "--no-drift"],
                moto_process)
    assert table.returncode == 1, table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines() if line.strip()}
    assert "PAST CLOSING by 62 days" in lines["alpha"]
    assert "open, 121 days left" in lines["bravo"]
    assert "does not validate" in lines[str(fleet["broken"])]
    assert "drift" not in table.stdout

    for name in ("alpha", "bravo"):
        applied = run(["apply", str(fleet[name]), "--no-lab", "--only", "cloud", "--yes"],
                      moto_process)
        assert applied.returncode == 0, applied.stderr

    # One site file: what state records, as before, with its lifetime and last apply.
    one = run(["status", str(fleet["bravo"]), "--no-lab", "--today", ON, "--json"],
              moto_process)
    assert one.returncode == 0, one.stderr
    single = json.loads(one.stdout)
    assert (single["site_id"], single["lock"], single["pending"]) == ("bravo", None, {})
    assert "s3.bucket" in single["resources"]
    assert single["last_apply"]["mode"] == "apply"
    assert single["lifetime"]["text"] == "open, 121 days left"
    said = run(["status", str(fleet["bravo"]), "--no-lab", "--today", ON], moto_process)
    assert "provision-bravo-data" in said.stdout
    assert "lifetime: open, 121 days left; last apply: " in said.stdout

    # The last apply shows; nothing past closing on the earlier day and no drift: exit 0.
    pair = [str(fleet["alpha"]), str(fleet["bravo"])]
    quiet = run(["status", *pair, "--no-lab", "--today", EARLIER, "--json"], moto_process)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    applied_rows = rows(quiet)
    bravo = applied_rows["bravo"]
    assert bravo["last_apply"]["mode"] == "apply"
    assert bravo["last_apply"]["steps"] == bravo["resources"] > 0
    assert bravo["last_apply"] == state_of(fleet["bravo"], "bravo")["last_apply"]
    assert bravo["drift"]["status"] == "none"
    assert applied_rows["alpha"]["lifetime"]["phase"] == "open"

    # An out-of-band change and a held lock: exit 2, and only bravo's row shows them.
    aws.client("s3").put_bucket_versioning(Bucket="provision-bravo-data",
                                           VersioningConfiguration={"Status": "Suspended"})
    backend = LocalBackend("bravo", work_root(fleet["bravo"]))
    lock = backend.lock("apply")
    try:
        drifted = run(["status", *pair, "--no-lab", "--today", EARLIER, "--json"],
                      moto_process)
    finally:
        backend.unlock(lock.id)
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    after = rows(drifted)
    assert after["bravo"]["drift"] == {"status": "differences", "count": 1, "why": None}
    assert after["bravo"]["lock"]["id"] == lock.id
    assert (after["alpha"]["drift"]["status"], after["alpha"]["lock"]) == ("none", None)

    # expire lists only the sites past closing; the invalid file makes the answer incomplete.
    due = run(["expire", str(tmp_path), "--today", ON, "--json"], moto_process)
    assert due.returncode == 1, due.stderr
    report = json.loads(due.stdout)
    assert [(d["site_id"], d["days_past"], d["protect"], d["result"])
            for d in report["due"]] == [("charlie", 93, True, None), ("alpha", 62, False, None)]
    assert [Path(u["file"]).stem for u in report["unreadable"]] == ["broken"]
    assert run(["expire", *pair, "--today", ON], moto_process).returncode == 2
    assert run(["expire", *pair, "--today", EARLIER], moto_process).returncode == 0
    said = run(["expire", *pair, str(fleet["charlie"]), "--today", ON], moto_process)
    assert "PAST CLOSING by 62 days" in said.stdout and "protected" in said.stdout
    assert "bravo" not in said.stdout

    bravo_before = state_of(fleet["bravo"], "bravo")

    # No terminal and no --yes: nothing is torn down.
    unasked = run(["expire", str(tmp_path), "--teardown", "--today", LATER, "--no-lab",
                   "--only", "cloud"], moto_process, stdin=subprocess.DEVNULL)
    assert unasked.returncode == 1
    assert "no terminal" in unasked.stderr
    assert bucket_exists(aws, "alpha") and bucket_exists(aws, "bravo")

    # Teardown: alpha confirmed (torn down), bravo due but not confirmed (skipped), charlie
    # protected (refused), the broken file reported; exit 1 for the refusal.
    torn = run(["expire", str(tmp_path), "--teardown", "--yes", "--confirm", "alpha",
                "--today", LATER, "--no-lab", "--only", "cloud", "--json"], moto_process)
    assert torn.returncode == 1, torn.stdout + torn.stderr
    outcome = {d["site_id"]: d for d in json.loads(torn.stdout)["due"]}
    assert {k: v["result"] for k, v in outcome.items()} == {
        "alpha": "torn-down", "bravo": "skipped", "charlie": "refused"}
    assert "--confirm bravo" in outcome["bravo"]["message"]
    assert "protected" in outcome["charlie"]["message"]
    assert not bucket_exists(aws, "alpha")
    assert state_of(fleet["alpha"], "alpha")["resources"] == {}
    assert state_of(fleet["alpha"], "alpha")["last_apply"]["mode"] == "destroy"
    assert bucket_exists(aws, "bravo")
    assert state_of(fleet["bravo"], "bravo") == bravo_before
    assert not (work_root(fleet["charlie"]) / "charlie").exists()  # never even opened



def test_expire_asks_for_each_site_id_at_a_terminal(moto_process: str, tmp_path: Path) -> None:
    """The operator types each site's id after its plan: a wrong id skips that site only."""
    aws = AwsSession("eu-west-2", endpoint_url=moto_process)
    first = site(tmp_path, "alpha", "2026-01-01", "2026-03-31")
    second = site(tmp_path, "bravo", "2026-04-01", "2026-09-30")
    for path in (first, second):
        applied = run(["apply", str(path), "--no-lab", "--only", "cloud", "--yes"],
                      moto_process)
        assert applied.returncode == 0, applied.stderr

    leader, follower = pty.openpty()
    with subprocess.Popen([PROVISION, "expire", str(tmp_path), "--teardown", "--today", LATER,
                           "--no-lab", "--only", "cloud"], env=cli_env(moto_process),
                          stdin=follower, stdout=follower, stderr=follower) as process:
        os.close(follower)
        os.write(leader, b"bravo\nbravo\n")  # alpha is asked first: the wrong id skips it
        output = read_all(leader)
        code = process.wait(timeout=120)
    os.close(leader)
    assert code == 2, output  # alpha is still due
    assert output.count("Type the site id") == 2
    assert "skipped alpha: not confirmed" in output
    assert "torn-down bravo" in output
    assert bucket_exists(aws, "alpha") and not bucket_exists(aws, "bravo")


def read_all(leader: int) -> str:
    """Everything the child writes to its terminal until it exits (EIO once it has), less
    colours."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode(errors="replace"))
