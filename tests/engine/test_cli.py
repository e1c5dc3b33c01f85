"""The cloud commands as an operator runs them: exit codes a pipeline acts on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from provision.aws.session import AwsSession
from tests.engine.conftest import BUCKET, SITE_ID, json_lines, run_cli, write_site


def test_plan_apply_drift_and_teardown_exit_codes(moto_process: str, tmp_path: Path) -> None:
    site = write_site(tmp_path)
    planned = run_cli(["plan", str(site)], moto_process)
    assert planned.returncode == 2, planned.stderr
    assert "to create" in planned.stdout
    applied = run_cli(["apply", str(site), "--yes", "--json"], moto_process)
    assert applied.returncode == 0, applied.stderr
    kinds = [e["kind"] for e in json_lines(applied.stdout)]
    assert "step.done" in kinds and kinds[-1] == "apply.done"
    assert run_cli(["plan", str(site)], moto_process).returncode == 0
    assert run_cli(["drift", str(site)], moto_process).returncode == 0

    aws = AwsSession("eu-west-2", endpoint_url=moto_process)
    aws.client("s3").put_bucket_versioning(Bucket=BUCKET,
                                           VersioningConfiguration={"Status": "Suspended"})
    drifted = run_cli(["drift", str(site), "--json"], moto_process)
    assert drifted.returncode == 2
    found = json.loads(drifted.stdout)["drift"]
    assert [(d["address"], list(d["changes"])) for d in found] == [("s3.bucket",
                                                                      ["versioning"])]

    refused = run_cli(["teardown", str(site), "--yes", "--confirm", "wrong"], moto_process)
    assert refused.returncode == 1
    assert "--confirm" in refused.stderr
    not_asked = run_cli(["teardown", str(site)], moto_process, stdin=subprocess.DEVNULL)
    assert not_asked.returncode == 1  # no terminal to type the site id into
    torn = run_cli(["teardown", str(site), "--yes", "--confirm", SITE_ID], moto_process)
    assert torn.returncode == 0, torn.stderr
    assert "Teardown plan" in torn.stdout
    assert run_cli(["plan", str(site)], moto_process).returncode == 2


def test_iam_policy_is_json(moto_process: str) -> None:
    printed = run_cli(["iam-policy"], moto_process)
    policy = json.loads(printed.stdout)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"route53:ChangeResourceRecordSets", "s3:PutBucketPolicy"} <= actions
