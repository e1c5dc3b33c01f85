"""Teardown: the destroy plan, one site never touching another, nothing untagged touched,
the archive kept, and no secret value anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from provision.aws.archive import archive_bucket_name
from provision.aws.resources.s3 import _tls_only_policy, bucket_name
from provision.aws.session import AwsSession
from provision.engine.workflow import converge, leftover_arns, make_plan
from provision.errors import Refused
from tests.engine.conftest import (
    BUCKET,
    SITE_ID,
    ZONE_NAME,
    Recorder,
    apply_site,
    other_site,
    run_cli,
    workspace,
    write_site,
    yes,
    zone_ids,
)

OTHER = "other-field-site"


def put_data(aws: AwsSession, bucket: str, key: str, body: bytes) -> None:
    """Writes an object as the site's services would over TLS (the emulator cannot tell TLS
    from plain HTTP, so the TLS-only policy is lifted for the write and put back)."""
    s3 = aws.client("s3")
    s3.delete_bucket_policy(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    s3.put_bucket_policy(Bucket=bucket, Policy=_tls_only_policy(bucket))


def read_data(aws: AwsSession, bucket: str, key: str) -> bytes:
    s3 = aws.client("s3")
    s3.delete_bucket_policy(Bucket=bucket)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_bucket_policy(Bucket=bucket, Policy=_tls_only_policy(bucket))
    return body


def test_destroy_plan_retires_first_and_deletes_in_reverse_order(aws: AwsSession,
                                                                   tmp_path: Path) -> None:
    site = write_site(tmp_path)
    apply_site(site, aws)
    plan = make_plan(workspace(site, aws), "destroy")
    actions = [s.action for s in plan.steps]
    retires = actions.count("retire")
    assert retires >= 1 and actions[:retires] == ["retire"] * retires
    assert set(actions[retires:]) == {"delete"}
    order = [s.address for s in plan.steps if s.action == "delete"]
    assert order.index("route53.records") < order.index("route53.zone")
    assert order.index("route53.delegation") < order.index("route53.zone")
    retire_keys = {s.key for s in plan.steps if s.action == "retire"}
    assert all(retire_keys <= set(s.depends_on) for s in plan.steps if s.action == "delete")


def test_protected_site_is_refused(aws: AwsSession, tmp_path: Path) -> None:
    site = write_site(tmp_path, replace={"protect: false": "protect: true"})
    apply_site(site, aws)
    with pytest.raises(Refused, match="protected"):
        converge(workspace(site, aws), "destroy", confirm=yes)
    assert len(zone_ids(aws)) == 1


def test_teardown_of_one_site_leaves_the_other_and_keeps_an_archive(aws: AwsSession,
                                                                     tmp_path: Path) -> None:
    site_a = write_site(tmp_path / "a")
    site_b = other_site(tmp_path / "b", OTHER)
    apply_site(site_a, aws)
    apply_site(site_b, aws)
    put_data(aws, BUCKET, "ward/beds.csv", b"bed,patient\n1,A\n")
    put_data(aws, bucket_name(OTHER), "ward/beds.csv", b"site B data")
    b_before = workspace(site_b, aws).backend.load()

    sink = Recorder()
    converge(workspace(site_a, aws), "destroy", confirm=yes, sink=sink)

    assert zone_ids(aws) == []
    buckets = {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}
    assert BUCKET not in buckets
    assert bucket_name(OTHER) in buckets
    assert read_data(aws, bucket_name(OTHER), "ward/beds.csv") == b"site B data"
    other_ws = workspace(site_b, aws)
    assert not make_plan(other_ws, "apply").has_changes
    assert other_ws.backend.load().resources.keys() == b_before.resources.keys()
    # The archive of site A: its data, kept, and not found by a sweep of the site's tags.
    s3 = aws.client("s3")
    archive = archive_bucket_name(SITE_ID)
    assert s3.get_object(Bucket=archive, Key="data/ward/beds.csv")["Body"].read() == (
        b"bed,patient\n1,A\n")
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=archive)["TagSet"]}
    assert tags == {"provision:archive-of": SITE_ID, "provision:managed-by": "provision"}
    # Secrets wait out their recovery window marked as deleted from the site; a tag sweep
    # finds nothing of it.
    assert leftover_arns(workspace(site_a, aws)) == []
    for listed in aws.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)[
            "SecretList"]:
        if listed["Name"].startswith(f"provision/{SITE_ID}/"):
            assert "DeletedDate" in listed
            assert {"Key": "provision:deleted-from", "Value": SITE_ID} in listed["Tags"]
    assert sink.kinds("sweep.leftover") == []
    assert workspace(site_a, aws).backend.load().resources == {}
    assert not make_plan(workspace(site_a, aws), "destroy").has_changes


def test_nothing_without_the_sites_tags_is_touched(aws: AwsSession, tmp_path: Path) -> None:
    route53, s3 = aws.client("route53"), aws.client("s3")
    stranger = route53.create_hosted_zone(Name=ZONE_NAME, CallerReference="someone-else")
    stranger_id = stranger["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=stranger_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": f"www.{ZONE_NAME}", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    s3.create_bucket(Bucket=BUCKET,
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3.put_object(Bucket=BUCKET, Key="someone-elses.txt", Body=b"keep me")

    site = write_site(tmp_path)
    with pytest.raises(Refused, match=BUCKET):
        apply_site(site, aws)
    assert len(zone_ids(aws)) == 2  # ours beside theirs; theirs was not taken over
    converge(workspace(site, aws), "destroy", confirm=yes)

    assert zone_ids(aws) == [stranger_id]
    names = {r["Name"] for r in route53.list_resource_record_sets(
        HostedZoneId=stranger_id)["ResourceRecordSets"]}
    assert f"www.{ZONE_NAME}" in names
    assert s3.get_object(Bucket=BUCKET, Key="someone-elses.txt")["Body"].read() == b"keep me"
    with pytest.raises(ClientError, match="NoSuchTagSet"):
        s3.get_bucket_tagging(Bucket=BUCKET)


def test_no_secret_value_in_state_plan_output_or_events(moto_endpoint: str, aws: AwsSession,
                                                         tmp_path: Path) -> None:
    site = write_site(tmp_path)
    planned = run_cli(["plan", str(site), "--json", "--out", str(tmp_path / "plan.json")],
                      moto_endpoint)
    applied = run_cli(["apply", str(site), "--yes", "--json"], moto_endpoint)
    assert applied.returncode == 0, applied.stderr
    again = run_cli(["plan", str(site), "--json"], moto_endpoint)
    assert again.returncode == 0, again.stdout
    status = run_cli(["status", str(site), "--json"], moto_endpoint)
    state = workspace(site, aws).backend.load()
    secrets_manager = aws.client("secretsmanager")
    values = [secrets_manager.get_secret_value(SecretId=r.id)["SecretString"]
              for r in state.resources.values() if r.type.startswith("secrets.")]
    assert values, "the site has generated secrets"
    state_text = (tmp_path / ".provision" / SITE_ID / "state.json").read_text()
    torn = run_cli(["teardown", str(site), "--yes", "--confirm", SITE_ID, "--json"],
                   moto_endpoint)
    assert torn.returncode == 0, torn.stdout + torn.stderr
    everything = "\n".join([planned.stdout, planned.stderr, applied.stdout, applied.stderr,
                            again.stdout, status.stdout, state_text, torn.stdout, torn.stderr,
                            (tmp_path / "plan.json").read_text()])
    for value in values:
        assert len(value) >= 12
        assert value not in everything
        assert json.dumps(value)[1:-1] not in everything
