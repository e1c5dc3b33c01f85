"""The engine end to end against the emulator: create, no-op re-plan, exact updates, saved
plans, locking, and the ownership rules."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from provision.aws.resource import REGISTRY
from provision.aws.session import AwsSession
from provision.engine.state import LocalBackend, S3Backend
from provision.engine.workflow import (
    StateOptions,
    check_fresh,
    converge,
    drift,
    make_plan,
    open_workspace,
)
from provision.errors import LockHeld, PlanStale, Refused
from provision.plan import Plan
from tests.engine.conftest import (
    BUCKET,
    SITE_ID,
    ZONE_NAME,
    Recorder,
    apply_site,
    resource_counts,
    workspace,
    write_site,
    yes,
)


def test_create_from_empty_then_nothing_to_do(aws: AwsSession, tmp_path: Path) -> None:
    site = write_site(tmp_path)
    ws = workspace(site, aws)
    first = make_plan(ws, "apply")
    assert {s.action for s in first.steps} == {"create"}
    assert {s.address for s in first.steps} == {d.address for d in ws.desired}
    assert first.fingerprint.state_serial == 0

    sink = Recorder()
    converge(ws, "apply", confirm=yes, sink=sink)
    assert sorted(sink.kinds("step.done")) == sorted(s.address for s in first.steps)
    assert resource_counts(aws)["zones"] == 1
    assert resource_counts(aws)["buckets"] == 1

    again = make_plan(ws, "apply")
    assert not again.has_changes, [s.to_json() for s in again.steps]
    assert drift(ws) == []
    state = ws.backend.load()
    assert set(state.resources) == {d.address for d in ws.desired}
    assert state.pending == {}
    assert state.resources["s3.bucket"].tags["provision:expires"] == "2027-03-31"
    assert state.resources["route53.zone"].tags["provision:managed-by"] == "provision"
    for address, recorded in state.resources.items():
        assert recorded.tags.get("provision:site") == SITE_ID or address.startswith(
            ("cognito.", "route53.")), address


def test_a_change_to_the_file_is_exactly_one_update(aws: AwsSession, tmp_path: Path) -> None:
    site = write_site(tmp_path)
    apply_site(site, aws)
    changed = write_site(tmp_path, replace={"retain_data_days: 180": "retain_data_days: 365"})
    plan = make_plan(workspace(changed, aws), "apply")
    bucket_steps = [s for s in plan.steps if s.address == "s3.bucket"]
    assert [s.action for s in bucket_steps] == ["update"]
    assert {k: (c.before, c.after) for k, c in bucket_steps[0].changes.items()} == {
        "noncurrent_version_days": (180, 365)}
    assert {s.action for s in plan.steps} == {"update"}

    apply_site(changed, aws)
    rules = aws.client("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 365
    assert not make_plan(workspace(changed, aws), "apply").has_changes


def test_a_new_service_changes_the_records_in_one_batch(aws: AwsSession,
                                                        tmp_path: Path) -> None:
    batches: list[str] = []  # hooks reach only clients made after they are registered
    aws.events.register("before-call.route53.ChangeResourceRecordSets",
                        lambda **kw: batches.append("batch"))
    site = write_site(tmp_path)
    apply_site(site, aws)
    assert batches == ["batch"]  # the first apply writes every record at once
    service = ("  - name: pharmacy\n    exposure: public\n"
               "    origin: https://pharmacy.example-saas.example\n    sign_in: required\n")
    changed = write_site(tmp_path, replace={"  - name: ehr\n": service + "  - name: ehr\n"})
    plan = make_plan(workspace(changed, aws), "apply")
    records = next(s for s in plan.steps if s.address == "route53.records")
    assert records.action == "update"
    assert set(records.changes) == {"records"}
    apply_site(changed, aws)
    assert batches == ["batch", "batch"]
    zone = aws.client("route53").list_hosted_zones_by_name(DNSName=ZONE_NAME)["HostedZones"][0]
    names = {r["Name"] for r in aws.client("route53").list_resource_record_sets(
        HostedZoneId=zone["Id"])["ResourceRecordSets"]}
    assert f"pharmacy.{ZONE_NAME}" in names
    assert not make_plan(workspace(changed, aws), "apply").has_changes


def test_saved_plan_is_applied_exactly_and_refused_when_stale(aws: AwsSession,
                                                               tmp_path: Path) -> None:
    site = write_site(tmp_path)
    ws = workspace(site, aws)
    saved = Plan.from_json(json.loads(json.dumps(make_plan(ws, "apply").to_json())))
    sink = Recorder()
    converge(ws, "apply", confirm=yes, saved=saved, sink=sink)
    assert sorted(sink.kinds("step.done")) == sorted(s.address for s in saved.steps)

    # The same plan again: the state moved on since it was made.
    with pytest.raises(PlanStale, match="state changed"):
        converge(workspace(site, aws), "apply", confirm=yes, saved=saved)

    # A fresh plan, then an edit to the site file: refused, nothing applied.
    fresh = make_plan(workspace(site, aws), "apply")
    write_site(tmp_path, replace={"retain_data_days: 180": "retain_data_days: 200"})
    edited = workspace(site, aws)
    with pytest.raises(PlanStale, match="site file changed"):
        check_fresh(edited, fresh, edited.backend.load())
    serial = edited.backend.load().serial
    with pytest.raises(PlanStale):
        converge(edited, "apply", confirm=yes, saved=fresh)
    assert edited.backend.load().serial == serial


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_two_concurrent_applies_one_is_refused_naming_the_holder(
        aws: AwsSession, tmp_path: Path, backend: str) -> None:
    options = StateOptions(tmp_path / "state")
    if backend == "s3":
        aws.client("s3").create_bucket(
            Bucket="team-state", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        options = StateOptions(state_url="s3://team-state/provision")
    site = write_site(tmp_path)
    first = open_workspace(site, options, aws=aws)
    second = open_workspace(site, options, aws=aws)
    assert isinstance(first.backend, S3Backend if backend == "s3" else LocalBackend)
    inside, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hold(_plan: Plan) -> bool:
        inside.set()
        release.wait(30)
        return True

    def run_first() -> None:
        try:
            converge(first, "apply", confirm=hold)
            outcome["first"] = "applied"
        except Exception as exc:  # recorded for the assertion below
            outcome["first"] = exc

    thread = threading.Thread(target=run_first)
    thread.start()
    assert inside.wait(60)
    with pytest.raises(LockHeld) as refused:
        converge(second, "apply", confirm=yes)
    release.set()
    thread.join(60)
    assert outcome["first"] == "applied"
    holder = first.backend.holder()
    assert holder is None  # released after the run
    assert "@" in refused.value.message and "pid" in refused.value.message
    assert "force-unlock" in refused.value.hint
    assert not make_plan(second, "apply").has_changes


def test_force_unlock_needs_the_lock_id(aws: AwsSession, tmp_path: Path) -> None:
    ws = workspace(write_site(tmp_path), aws)
    lock = ws.backend.lock("apply")
    with pytest.raises(LockHeld, match=lock.who):
        converge(ws, "apply", confirm=yes)
    with pytest.raises(Exception, match="not"):
        ws.backend.force_unlock("wrong-id")
    assert ws.backend.force_unlock(lock.id).id == lock.id
    converge(ws, "apply", confirm=yes)


def test_replacement_is_refused_unless_allowed(aws: AwsSession, tmp_path: Path) -> None:
    site = write_site(tmp_path)
    apply_site(site, aws)
    moved = write_site(tmp_path, replace={"dns_zone: sites.example.nhs.uk":
                                          "dns_zone: hospitals.example.nhs.uk"})
    ws = workspace(moved, aws)
    plan = make_plan(ws, "apply")
    assert {s.address for s in plan.steps if s.action == "replace"} >= {"route53.zone"}
    with pytest.raises(Refused, match="would be replaced") as refused:
        converge(ws, "apply", confirm=yes)
    assert "--allow-replace" in refused.value.hint
    assert len(aws.client("route53").list_hosted_zones()["HostedZones"]) == 1
    replaced = [s.address for s in plan.steps if s.action == "replace"]
    converge(ws, "apply", confirm=yes, allow_replace=replaced)
    names = [z["Name"] for z in aws.client("route53").list_hosted_zones()["HostedZones"]]
    assert names == ["nightingale-north.hospitals.example.nhs.uk."]
    assert not make_plan(ws, "apply").has_changes


def test_every_registered_type_is_planned(aws: AwsSession, tmp_path: Path) -> None:
    ws = workspace(write_site(tmp_path), aws)
    assert {d.type for d in ws.desired} == set(REGISTRY)
