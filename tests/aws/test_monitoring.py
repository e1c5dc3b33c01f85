"""Monitoring: the gateway's log group (archived at teardown), the alert topic and alarms."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest

from provision.aws.archive import archive_bucket_name
from provision.aws.resource import REGISTRY, Context, Live
from provision.aws.resources.monitoring import LOG_RETENTION_DAYS, nearest_retention
from provision.errors import Refused
from provision.site.model import Site
from tests.aws.conftest import ActionLog, assert_converged, exercise, resolve, wanted

LOG_GROUP = REGISTRY["logs.group"]
TOPIC = REGISTRY["sns.topic"]
ALARM = REGISTRY["cloudwatch.alarm"]
GROUP_NAME = "/provision/nightingale-north/gateway"
TOPIC_NAME = "provision-nightingale-north-alerts"
HEARTBEAT = "cloudwatch.alarm[gateway-heartbeat]"
HEARTBEAT_NAME = "provision-nightingale-north-gateway-heartbeat"


def client(ctx: Context, service: str) -> Any:
    return ctx.aws.client(service)


def make_group(ctx: Context, site: Site) -> Live:
    return LOG_GROUP.create(ctx, "logs.group", wanted(LOG_GROUP, site, "logs.group").attrs)


def make_topic(ctx: Context, site: Site) -> Live:
    return TOPIC.create(ctx, "sns.topic", wanted(TOPIC, site, "sns.topic").attrs)


def test_the_site_wants_a_log_group_a_topic_and_two_alarms(site: Site) -> None:
    addresses = {d.address for rt in (LOG_GROUP, TOPIC, ALARM) for d in rt.wanted(site)}
    assert addresses == {"logs.group", "sns.topic", HEARTBEAT,
                         "cloudwatch.alarm[wan-failover]"}
    assert wanted(LOG_GROUP, site, "logs.group").attrs == {"name": GROUP_NAME,
                                                           "retention_days": 180}
    assert wanted(TOPIC, site, "sns.topic").attrs["emails"] == ["oncall@example.nhs.uk"]
    heartbeat = wanted(ALARM, site, HEARTBEAT).attrs
    assert heartbeat["alarm_actions"][0].to_json() == {"$ref": "sns.topic.arn"}
    assert heartbeat["treat_missing_data"] == "breaching"
    assert heartbeat["dimensions"] == {"Site": "nightingale-north"}


@pytest.mark.parametrize(("asked", "accepted"), [
    (0, 1), (2, 3), (4, 5), (31, 30), (45, 60), (200, 180), (366, 365), (500, 545),
    (10_000, 3653)])
def test_retention_is_rounded_to_the_nearest_value_aws_accepts(asked: int,
                                                                accepted: int) -> None:
    assert nearest_retention(asked) == accepted


def test_accepted_retentions_are_kept_as_they_are() -> None:
    assert [nearest_retention(days) for days in LOG_RETENTION_DAYS] == list(LOG_RETENTION_DAYS)


def test_log_group_create_adopt_update(ctx: Context, site: Site) -> None:
    desired = wanted(LOG_GROUP, site, "logs.group").attrs
    live = assert_converged(LOG_GROUP, desired, make_group(ctx, site))
    group = client(ctx, "logs").describe_log_groups(logGroupNamePrefix=GROUP_NAME)["logGroups"]
    assert [g["retentionInDays"] for g in group] == [180]
    assert live.tags["provision:site"] == "nightingale-north"
    assert make_group(ctx, site).id == live.id
    assert len(client(ctx, "logs").describe_log_groups()["logGroups"]) == 1

    changed = {**desired, "retention_days": 30}
    assert set(LOG_GROUP.diff(changed, live.attrs)) == {"retention_days"}
    assert_converged(LOG_GROUP, changed,
                     LOG_GROUP.update(ctx, live, changed, frozenset({"retention_days"})))
    assert [live.id for live in LOG_GROUP.discover(ctx)] == [GROUP_NAME]


def test_an_untagged_log_group_of_the_same_name_is_never_found_adopted_or_deleted(
        ctx: Context, site: Site) -> None:
    client(ctx, "logs").create_log_group(logGroupName=GROUP_NAME)
    client(ctx, "logs").put_retention_policy(logGroupName=GROUP_NAME, retentionInDays=7)
    assert LOG_GROUP.discover(ctx) == []
    with pytest.raises(Refused):
        make_group(ctx, site)
    stranger = LOG_GROUP.read(ctx, "logs.group", GROUP_NAME)
    assert stranger is not None and not LOG_GROUP.owned(ctx, stranger)
    with pytest.raises(Refused):
        LOG_GROUP.delete(ctx, stranger)
    assert stranger.attrs["retention_days"] == 7


def test_retire_archives_every_log_event_then_delete_removes_the_group(
        ctx: Context, site: Site) -> None:
    live = make_group(ctx, site)
    logs = client(ctx, "logs")
    now = int(time.time() * 1000)
    for stream in ("gateway-1", "gateway-2"):
        logs.create_log_stream(logGroupName=GROUP_NAME, logStreamName=stream)
        logs.put_log_events(logGroupName=GROUP_NAME, logStreamName=stream, logEvents=[
            {"timestamp": now + i, "message": f"{stream} event {i}"} for i in range(3)])

    assert LOG_GROUP.retire(ctx, live) is True
    assert LOG_GROUP.retire(ctx, live) is True  # again: the same object, rewritten
    bucket = archive_bucket_name("nightingale-north")
    objects = client(ctx, "s3").list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in objects] == ["logs/provision/nightingale-north/gateway.jsonl.gz"]
    body = client(ctx, "s3").get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read()
    events = [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]
    assert sorted(e["message"] for e in events) == sorted(
        f"{s} event {i}" for s in ("gateway-1", "gateway-2") for i in range(3))

    LOG_GROUP.delete(ctx, live)
    assert LOG_GROUP.read(ctx, "logs.group", GROUP_NAME) is None
    LOG_GROUP.delete(ctx, live)
    assert LOG_GROUP.retire(ctx, live) is False


def test_topic_subscribes_the_alert_emails_and_update_adds_and_removes(
        ctx: Context, site: Site) -> None:
    desired = wanted(TOPIC, site, "sns.topic").attrs
    live = assert_converged(TOPIC, desired, make_topic(ctx, site))
    assert live.tags["provision:site"] == "nightingale-north"
    assert make_topic(ctx, site).id == live.id
    assert len(client(ctx, "sns").list_topics()["Topics"]) == 1

    changed = {**desired, "emails": ["duty-manager@example.nhs.uk", "it@example.nhs.uk"]}
    assert set(TOPIC.diff(changed, live.attrs)) == {"emails"}
    assert_converged(TOPIC, changed, TOPIC.update(ctx, live, changed, frozenset({"emails"})))
    subscriptions = client(ctx, "sns").list_subscriptions_by_topic(TopicArn=live.id)
    assert sorted(s["Endpoint"] for s in subscriptions["Subscriptions"]) == changed["emails"]
    assert [t.id for t in TOPIC.discover(ctx)] == [live.id]

    TOPIC.delete(ctx, live)
    assert TOPIC.read(ctx, "sns.topic", live.id) is None
    TOPIC.delete(ctx, live)


def test_an_untagged_topic_of_the_same_name_is_never_found_adopted_or_deleted(
        ctx: Context, site: Site) -> None:
    arn = client(ctx, "sns").create_topic(Name=TOPIC_NAME)["TopicArn"]
    assert TOPIC.discover(ctx) == []
    with pytest.raises(Refused):
        make_topic(ctx, site)
    assert client(ctx, "sns").list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    with pytest.raises(Refused):
        TOPIC.delete(ctx, Live("sns.topic", TOPIC.type, arn, {}))
    assert TOPIC.read(ctx, "sns.topic", arn) is not None


def test_alarms_notify_the_topic_and_read_back_as_sent(ctx: Context, site: Site) -> None:
    topic = make_topic(ctx, site)
    for d in ALARM.wanted(site):
        desired = resolve(d.attrs, topic)
        live = assert_converged(ALARM, desired, ALARM.create(ctx, d.address, desired))
        assert live.address == d.address
        assert live.attrs["alarm_actions"] == [topic.id]
        assert ALARM.owned(ctx, live)
    alarm = client(ctx, "cloudwatch").describe_alarms(
        AlarmNames=[HEARTBEAT_NAME])["MetricAlarms"][0]
    assert alarm["Namespace"] == "Provision/Gateway"
    assert alarm["Dimensions"] == [{"Name": "Site", "Value": "nightingale-north"}]
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["OKActions"] == [topic.id]
    assert sorted(a.address for a in ALARM.discover(ctx)) == sorted(
        d.address for d in ALARM.wanted(site))


def test_alarm_create_again_adopts_and_update_changes_only_what_changed(
        ctx: Context, site: Site) -> None:
    topic = make_topic(ctx, site)
    desired = resolve(wanted(ALARM, site, HEARTBEAT).attrs, topic)
    first = ALARM.create(ctx, HEARTBEAT, desired)
    assert ALARM.create(ctx, HEARTBEAT, desired).id == first.id
    assert len(client(ctx, "cloudwatch").describe_alarms()["MetricAlarms"]) == 1
    changed = {**desired, "evaluation_periods": 10}
    assert set(ALARM.diff(changed, first.attrs)) == {"evaluation_periods"}
    updated = assert_converged(
        ALARM, changed, ALARM.update(ctx, first, changed, frozenset({"evaluation_periods"})))
    assert updated.tags == first.tags
    ALARM.delete(ctx, updated)
    assert ALARM.read(ctx, HEARTBEAT, HEARTBEAT_NAME) is None
    ALARM.delete(ctx, updated)


def test_an_untagged_alarm_of_the_same_name_is_never_overwritten_or_deleted(
        ctx: Context, site: Site) -> None:
    topic = make_topic(ctx, site)
    client(ctx, "cloudwatch").put_metric_alarm(
        AlarmName=HEARTBEAT_NAME, Namespace="Theirs", MetricName="CPU", Statistic="Average",
        Period=300, EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold")
    assert ALARM.discover(ctx) == []
    with pytest.raises(Refused):
        ALARM.create(ctx, HEARTBEAT, resolve(wanted(ALARM, site, HEARTBEAT).attrs, topic))
    stranger = ALARM.read(ctx, HEARTBEAT, HEARTBEAT_NAME)
    assert stranger is not None and stranger.attrs["namespace"] == "Theirs"
    with pytest.raises(Refused):
        ALARM.delete(ctx, stranger)
    assert ALARM.read(ctx, HEARTBEAT, HEARTBEAT_NAME) is not None


def test_every_call_is_among_the_declared_permissions(
        ctx: Context, site: Site, actions: ActionLog) -> None:
    topic = make_topic(ctx, site)
    exercise(ALARM, ctx, actions, HEARTBEAT, resolve(wanted(ALARM, site, HEARTBEAT).attrs, topic),
             {"threshold": 2.0})
    exercise(TOPIC, ctx, actions, "sns.topic", wanted(TOPIC, site, "sns.topic").attrs,
             {"emails": ["it@example.nhs.uk"]})
    used = exercise(LOG_GROUP, ctx, actions, "logs.group",
                    wanted(LOG_GROUP, site, "logs.group").attrs, {"retention_days": 30})
    assert "s3:PutObject" in used  # retire archived through the archive bucket
