"""The job a user comes for, through the installed command on a machine with no AWS account:
`up` the field hospital on the lab, add a segment and a user to the file, re-plan (exactly
those changes, cloud and gateway), apply, plan again (nothing), tear down (a tag sweep finds
nothing, the archive stays, the gateway is blank), take the lab down (nothing left).

The tests of this module are the stages of one site's life, in order, against one lab (module
scope); each stage runs only if the one before it passed, and a finaliser takes the lab down
whatever happens. No secret value may appear in anything printed or written on the way.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from provision.checks import load_site
from provision.lab import netns
from provision.lab.emulator import LAB_CREDENTIALS
from provision.lab.lab import Lab
from provision.lab.topology import default_lab_dir
from provision.site.paths import work_dir
from tests.deploy.conftest import PROVISION, SITE_ID, env_without_aws, json_documents, site_copy

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")

REGION = "eu-west-2"
FIRST_SEGMENTS = ("clinical", "it", "devices", "guest")
NEW_SEGMENT = ("    - name: pharmacy\n"
               "      vlan: 40\n"
               "      cidr: 10.50.40.0/24\n"
               "      reach: [internet]\n")
NEW_USER_EMAIL = "d.pharmacist@example.nhs.uk"
NEW_USER = (f"    - {{email: {NEW_USER_EMAIL}, name: D Pharmacist, "
            "groups: [clinicians]}\n")
SECRETS = (f"provision/{SITE_ID}/wifi/clinical", f"provision/{SITE_ID}/gateway-admin")
ARCHIVE_BUCKET = f"provision-archive-{SITE_ID}"
RETAIN_DATA_DAYS = 180  # the field hospital's lifetime.retain_data_days


@dataclass
class Deployment:
    """One site's copy, the commands run on it with everything they printed, and what the
    stages learnt along the way."""

    site_file: Path
    env: dict[str, str]
    printed: list[str] = field(default_factory=list)
    passed: set[str] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)
    secret_values: list[str] = field(default_factory=list)
    lab_pids: list[int] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def work(self) -> Path:
        return work_dir(self.site_file, SITE_ID)

    def lab(self) -> Lab:
        site = load_site(self.site_file)
        return Lab(site, default_lab_dir(self.site_file, site))

    def provision(self, *args: str, expect: int) -> subprocess.CompletedProcess[str]:
        """The installed command, as an operator runs it; its output is kept for the secret
        search."""
        started = time.monotonic()
        done = subprocess.run([PROVISION, *args], env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=600)
        self.seconds[" ".join(a for a in args if a != str(self.site_file))] = round(
            time.monotonic() - started, 1)
        self.printed += [done.stdout, done.stderr]
        assert done.returncode == expect, (
            f"provision {' '.join(args)}: exit {done.returncode}, expected {expect}\n"
            f"--- stdout (end)\n{done.stdout[-6000:]}\n--- stderr (end)\n{done.stderr[-6000:]}")
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def aws(self, service: str) -> Any:
        """A client of the lab's emulator, from outside the tool."""
        record = self.work / "lab" / "emulator" / "emulator.json"
        endpoint = json.loads(record.read_text())["endpoint"]
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                            aws_access_key_id=LAB_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=LAB_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def after(self, stage: str) -> None:
        if stage not in self.passed:
            pytest.skip(f"needs the '{stage}' stage, which did not pass")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("e2e")
    deployment = Deployment(site_copy(folder), env_without_aws(folder))
    yield deployment
    lab = deployment.lab()
    if lab.lab_dir.exists() or any(netns.exists(n) for n in lab.plan.namespaces):
        lab.down()


def _only(documents: list[Any], key: str) -> Any:
    found = [d[key] for d in documents if isinstance(d, dict) and key in d]
    assert len(found) == 1, f"expected one '{key}' document, saw {len(found)}"
    return found[0]


def _events(documents: list[Any], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if isinstance(d, dict) and d.get("kind") == kind]


def _check_names(verify: dict[str, Any]) -> set[str]:
    return {r["name"] for r in verify["results"]}


def _assert_all_passed(verify: dict[str, Any]) -> None:
    failed = [r for r in verify["results"] if not r["passed"]]
    assert verify["passed"] and not failed, failed
    assert verify["failed"] == 0 and verify["checks"] == len(verify["results"])


def _insert_after(text: str, anchor: str, addition: str) -> str:
    assert text.count(anchor) == 1, anchor
    return text.replace(anchor, anchor + addition)


def test_up_brings_the_field_hospital_up_on_the_lab(deployment: Deployment) -> None:
    up = deployment.provision("up", str(deployment.site_file), "--lab", "--json", expect=0)
    documents = json_documents(up.stdout)

    [target] = _events(documents, "target")
    assert target["data"] == {"lab": True, "reason": "--lab given"}
    assert "the local lab" in target["message"]

    plan = _only(documents, "plan")
    assert plan["steps"] and {s["action"] for s in plan["steps"]} == {"create"}
    assert plan["gateway"]["playbook"] == "site.yml" and plan["gateway"]["changes"]

    verify = _only(documents, "verify")
    _assert_all_passed(verify)
    assert {f"dhcp:{s}" for s in FIRST_SEGMENTS} <= _check_names(verify)

    page = Path(_only(documents, "pack"))
    assert page == deployment.work / "pack" / "index.html"
    html = page.read_text()
    assert all(segment in html for segment in FIRST_SEGMENTS)

    # Read now, while the secrets exist: the last stage searches every output for them.
    store = deployment.aws("secretsmanager")
    for name in SECRETS:
        value = store.get_secret_value(SecretId=name)["SecretString"]
        deployment.secret_values.append(value)
        try:
            parsed = json.loads(value)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            deployment.secret_values += [v for v in parsed.values()
                                         if isinstance(v, str) and len(v) >= 8]
    assert all(len(value) >= 8 for value in deployment.secret_values)
    deployment.passed.add("up")


def test_a_new_segment_and_user_plan_exactly_those_changes(deployment: Deployment) -> None:
    deployment.after("up")
    text = deployment.site_file.read_text()
    text = _insert_after(text, "      client_isolation: true\n      reach: [internet]\n",
                         NEW_SEGMENT)
    text = _insert_after(text, "groups: [admin, it-support]}\n", NEW_USER)
    deployment.site_file.write_text(text)

    planned = deployment.provision("plan", str(deployment.site_file), "--lab", "--json",
                                   expect=2)
    plan = json_documents(planned.stdout)[-1]
    assert [(s["action"], s["address"]) for s in plan["steps"]] == [
        ("create", f"cognito.user[{NEW_USER_EMAIL}]")]
    assert plan["forget"] == [] and plan["clear_pending"] == []

    gateway = plan["gateway"]
    assert gateway["playbook"] == "site.yml"
    # The file tasks, with their diffs (the ruleset's load task names the same path).
    by_path = {c["path"]: c for c in gateway["changes"] if c["path"] and c["diffs"]}
    for installed in ("/etc/nftables.conf", "/etc/provision/dnsmasq.conf"):
        assert installed in by_path, sorted(by_path)
        [diff] = by_path[installed]["diffs"]
        added = set(diff["after"].splitlines()) - set(diff["before"].splitlines())
        assert any("lan0.40" in line for line in added), (installed, added)
        assert "lan0.40" not in diff["before"]
    deployment.plan = plan
    deployment.passed.add("replan")


def test_apply_brings_the_new_segment_and_user_and_verify_checks_them(
        deployment: Deployment) -> None:
    deployment.after("replan")
    applied = deployment.provision("apply", str(deployment.site_file), "--lab", "--yes",
                                   "--json", expect=0)
    documents = json_documents(applied.stdout)
    plan = _only(documents, "plan")
    assert plan["steps"] == deployment.plan["steps"]
    assert [c["task"] for c in plan["gateway"]["changes"]] == [
        c["task"] for c in deployment.plan["gateway"]["changes"]]
    # The playbook changed exactly the tasks its check-mode run put in the plan.
    changed = [d["subject"] for d in documents
               if isinstance(d, dict) and d.get("kind") == "task.changed"]
    assert sorted(changed) == sorted(c["task"] for c in plan["gateway"]["changes"])

    verify = _only(documents, "verify")
    _assert_all_passed(verify)
    assert {"dhcp:pharmacy", "dns:pharmacy", "dns-bypass:pharmacy", "nat:pharmacy",
            "reach:pharmacy->internet", "reach:pharmacy->clinical",
            "reach:guest->pharmacy"} <= _check_names(verify)

    identity = deployment.aws("cognito-idp")
    [pool] = [p for p in identity.list_user_pools(MaxResults=60)["UserPools"]
              if SITE_ID in p["Name"]]
    groups = identity.admin_list_groups_for_user(UserPoolId=pool["Id"],
                                                 Username=NEW_USER_EMAIL)["Groups"]
    assert [g["GroupName"] for g in groups] == ["clinicians"]
    deployment.passed.add("apply")


def test_a_plan_after_apply_has_nothing_to_do(deployment: Deployment) -> None:
    deployment.after("apply")
    planned = deployment.provision("plan", str(deployment.site_file), "--lab", expect=0)
    assert f"Plan for {SITE_ID}: nothing to do." in planned.stdout
    assert "site.yml: 0 changed" in planned.stdout  # the gateway was checked, not skipped
    assert "would change" not in planned.stdout
    deployment.passed.add("plan-empty")


def test_teardown_leaves_nothing_of_the_site_but_its_archive(deployment: Deployment) -> None:
    deployment.after("up")
    lab = deployment.lab()
    info = lab.info()
    deployment.lab_pids += [*info.processes.values(), lab.box.pid,
                            json.loads((lab.emulator.record).read_text())["pid"]]

    torn = deployment.provision("teardown", str(deployment.site_file), "--lab", "--yes",
                                "--confirm", SITE_ID, "--json", expect=0)
    plan = _only(json_documents(torn.stdout), "plan")
    assert plan["mode"] == "destroy" and plan["gateway"]["playbook"] == "wipe.yml"

    tagged = deployment.aws("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "provision:site", "Values": [SITE_ID]}])["ResourceTagMappingList"]
    assert tagged == []
    # The tagging API does not cover zones, pools or IAM: ask each service by name.
    zones = deployment.aws("route53").list_hosted_zones()["HostedZones"]
    assert [z["Name"] for z in zones if SITE_ID in z["Name"]] == []
    pools = deployment.aws("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Name"] for p in pools if SITE_ID in p["Name"]] == []
    s3 = deployment.aws("s3")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"] if SITE_ID in b["Name"]] == [
        ARCHIVE_BUCKET]
    secrets = deployment.aws("secretsmanager").list_secrets()["SecretList"]
    assert [s["Name"] for s in secrets if SITE_ID in s["Name"]] == []
    logs = deployment.aws("logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in logs if SITE_ID in g["logGroupName"]] == []
    topics = deployment.aws("sns").list_topics()["Topics"]
    assert [t["TopicArn"] for t in topics if SITE_ID in t["TopicArn"]] == []

    # The archive stays for retain_data_days, marked as the site's archive, not the site.
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=ARCHIVE_BUCKET)["TagSet"]}
    assert tags.get("provision:archive-of") == SITE_ID and "provision:site" not in tags
    rules = s3.get_bucket_lifecycle_configuration(Bucket=ARCHIVE_BUCKET)["Rules"]
    assert [r["Expiration"]["Days"] for r in rules] == [RETAIN_DATA_DAYS]

    # The gateway is blank: no ruleset of ours, no files of the role.
    ruleset = lab.box.run("nft", "list", "ruleset", check=True).stdout
    assert "table inet provision" not in ruleset and "provision_nat" not in ruleset, ruleset
    assert lab.box.run("test", "-e", "/etc/provision").returncode != 0

    again = deployment.provision("teardown", str(deployment.site_file), "--lab", "--yes",
                                 "--confirm", SITE_ID, expect=0)
    assert "Nothing of the site is left." in again.stdout
    deployment.passed.add("teardown")


def test_no_secret_value_is_printed_or_written(deployment: Deployment) -> None:
    deployment.after("up")
    assert deployment.secret_values
    for number, text in enumerate(deployment.printed):
        for value in deployment.secret_values:
            assert value not in text, f"a secret value is in captured output #{number}"
    files = [p for p in deployment.work.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name == "index.html" for p in files) and len(files) > 20
    for path in files:
        content = path.read_bytes()
        for value in deployment.secret_values:
            assert value.encode() not in content, f"a secret value is in {path}"


def test_lab_down_leaves_no_namespace_process_or_folder(deployment: Deployment) -> None:
    lab = deployment.lab()
    deployment.provision("lab", "down", str(deployment.site_file), expect=0)
    assert [n for n in netns.names() if n.startswith(lab.plan.prefix)] == []
    assert _ended(deployment.lab_pids) == deployment.lab_pids
    assert not lab.lab_dir.exists()
    print(f"\ncommand times (s): {deployment.seconds}")


def _ended(pids: list[int], patience: float = 10.0) -> list[int]:
    """The processes among `pids` that have ended (a zombie not yet reaped counts as ended).
    `lab down` signals the emulator and returns without waiting for it to exit (about 0.1 s
    later), so this waits a little before calling a process left behind."""
    deadline = time.monotonic() + patience
    while True:
        running = [pid for pid in pids if _running(pid)]
        if not running or time.monotonic() > deadline:
            return [pid for pid in pids if pid not in running]
        time.sleep(0.1)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
