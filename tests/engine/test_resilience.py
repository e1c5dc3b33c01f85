"""A run killed anywhere, or throttled, converges on re-run with no duplicates and no
orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from provision.aws.session import AwsSession
from provision.engine.workflow import converge, make_plan
from provision.errors import CloudCallFailed
from tests.engine.conftest import (
    FOR_REAL,
    PROVISION,
    apply_site,
    cli_env,
    resource_counts,
    workspace,
    write_site,
    yes,
)
from tests.engine.throttle_proxy import ThrottleProxy

EXPECTED = {"zones": 1, "buckets": 1, "pools": 1, "secrets": 2}


def kill_after(site: Path, endpoint: str, kind: str, count: int, command: list[str]) -> int:
    """Runs the CLI with JSON events and SIGKILLs it when the count-th `kind` event appears;
    returns how many events of that kind were seen (fewer if it finished first)."""
    process = subprocess.Popen([PROVISION, *command, str(site), "--yes", "--json",
                                *FOR_REAL.get(command[0], [])],
                               env=cli_env(endpoint), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    seen = 0
    for line in process.stdout:
        if line.startswith('{"kind"') and json.loads(line)["kind"] == kind:
            seen += 1
            if seen == count:
                os.kill(process.pid, signal.SIGKILL)
                break
    process.wait(timeout=120)
    process.stdout.close()
    return seen


def session_for(endpoint: str) -> AwsSession:
    return AwsSession("eu-west-2", endpoint_url=endpoint, max_attempts=3)


@pytest.mark.parametrize(("kind", "count"), [("step.start", 1), ("step.done", 3),
                                             ("step.start", 9), ("step.done", 12)])
def test_apply_killed_then_rerun_converges(moto_process: str, tmp_path: Path, kind: str,
                                           count: int) -> None:
    site = write_site(tmp_path)
    assert kill_after(site, moto_process, kind, count, ["apply"]) == count
    aws = session_for(moto_process)
    ws = workspace(site, aws)
    holder = ws.backend.holder()
    assert holder is not None  # the killed run's lock stays, naming it
    ws.backend.force_unlock(holder.id)
    converge(ws, "apply", confirm=yes)
    assert resource_counts(aws) == EXPECTED
    assert not make_plan(workspace(site, aws), "apply").has_changes
    state = ws.backend.load()
    assert state.pending == {}


@pytest.mark.parametrize("count", [2, 8])
def test_teardown_killed_then_rerun_removes_everything(moto_process: str, tmp_path: Path,
                                                       count: int) -> None:
    site = write_site(tmp_path)
    aws = session_for(moto_process)
    apply_site(site, aws)
    command = ["teardown", "--confirm", "nightingale-north"]
    assert kill_after(site, moto_process, "step.done", count, command) == count
    ws = workspace(site, aws)
    holder = ws.backend.holder()
    assert holder is not None
    ws.backend.force_unlock(holder.id)
    converge(ws, "destroy", confirm=yes)
    counts = resource_counts(aws)
    assert (counts["zones"], counts["buckets"], counts["pools"]) == (0, 0, 0)
    assert workspace(site, aws).backend.load().resources == {}


THROTTLED = {"CreateHostedZone": 2, "ChangeResourceRecordSets": 2, "CreateBucket": 1,
             "PutBucketTagging": 2, "CreateUserPool": 2, "CreateSecret": 2}


def test_apply_under_throttling_converges(moto_endpoint: str, aws: AwsSession,
                                          tmp_path: Path) -> None:
    proxy = ThrottleProxy(moto_endpoint).start()
    try:
        for operation, times in THROTTLED.items():
            proxy.fail(operation, times)
        throttled = AwsSession("eu-west-2", endpoint_url=proxy.url, max_attempts=4)
        site = write_site(tmp_path)
        apply_site(site, throttled)
        served = requests.get(f"{proxy.url}/__throttle__", timeout=10).json()["served"]
    finally:
        proxy.stop()
    assert served == THROTTLED  # every fault was really sent, and retried past
    assert resource_counts(aws) == EXPECTED
    assert not make_plan(workspace(site, aws), "apply").has_changes


def test_throttling_past_the_retries_fails_naming_the_call_then_resumes(
        moto_endpoint: str, aws: AwsSession, tmp_path: Path) -> None:
    proxy = ThrottleProxy(moto_endpoint).start()
    try:
        proxy.fail("CreateHostedZone", 100)
        throttled = AwsSession("eu-west-2", endpoint_url=proxy.url, max_attempts=2)
        site = write_site(tmp_path)
        with pytest.raises(CloudCallFailed) as failed:
            apply_site(site, throttled)
        assert "route53.zone" in failed.value.message
        assert "CreateHostedZone" in failed.value.message
        state = workspace(site, aws).backend.load()
        assert "route53.zone" not in state.resources
        assert state.resources  # the steps that did not need the zone were recorded
        proxy.fail("CreateHostedZone", 0)
        apply_site(site, throttled)
    finally:
        proxy.stop()
    assert resource_counts(aws) == EXPECTED
    assert not make_plan(workspace(site, aws), "apply").has_changes
