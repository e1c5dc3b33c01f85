"""Watching the site: the gateway's log group, the alert topic and the alarms that feed it.

The gateway publishes two metrics in namespace `Provision/Gateway` with dimension
`Site=<site id>`: `Heartbeat` (1 every minute while it runs) and `WanFailover` (1 each time it
moves traffic to the backup link). No heartbeat for five minutes, or any failover, mails the
site's alert addresses through the topic.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from botocore.exceptions import ClientError

from provision.aws.archive import ARCHIVE_PERMISSIONS, archive_object
from provision.aws.resource import Attrs, Context, Desired, Live, Ref, ResourceType, register
from provision.aws.tags import (
    TAGGING_PERMISSIONS,
    error_code,
    find_tagged,
    gone_is_none,
    require_owned,
    tag_dict,
    tag_list,
)
from provision.errors import CloudCallFailed
from provision.site.model import Site

LOG_GROUP = "logs.group"
TOPIC = "sns.topic"
METRIC_NAMESPACE = "Provision/Gateway"
# The only values PutRetentionPolicy accepts (the emulator accepts any).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)


def nearest_retention(days: int) -> int:
    """The accepted retention closest to `days`; between two, the longer (keep, not lose)."""
    return min(LOG_RETENTION_DAYS, key=lambda accepted: (abs(accepted - days), -accepted))


def log_group_name(site_id: str) -> str:
    return f"/provision/{site_id}/gateway"


def resource_name(site_id: str, purpose: str) -> str:
    """Names of the site's topic and alarms, e.g. provision-<site>-alerts."""
    return f"provision-{site_id}-{purpose}"


def _reread(rt: ResourceType, ctx: Context, address: str, resource_id: str) -> Live:
    live = rt.read(ctx, address, resource_id)
    if live is None:
        raise CloudCallFailed(f"{address} ({resource_id}) vanished while it was being set up")
    return live


@register
class LogGroup(ResourceType):
    """The gateway's logs. Teardown archives every event before the group goes."""

    type = LOG_GROUP
    permissions = TAGGING_PERMISSIONS + ARCHIVE_PERMISSIONS + (
        "logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:CreateLogGroup",
        "logs:TagResource", "logs:PutRetentionPolicy",
        "logs:FilterLogEvents", "logs:DeleteLogGroup",
    )
    replace_on = frozenset({"name"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(LOG_GROUP, self.type, {
            "name": log_group_name(site.site.id),
            "retention_days": nearest_retention(site.monitoring.log_retention_days)})]

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        logs = ctx.aws.client("logs")
        groups = logs.describe_log_groups(logGroupNamePrefix=resource_id)["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == resource_id), None)
        if group is None:
            return None
        arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
        tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
        return Live(address, self.type, resource_id,
                    {"name": resource_id, "retention_days": group.get("retentionInDays")},
                    dict(tags), {"name": resource_id, "arn": arn})

    def discover(self, ctx: Context) -> list[Live]:
        found = (self.read(ctx, LOG_GROUP, arn.split(":log-group:", 1)[1].removesuffix(":*"))
                 for arn in find_tagged(ctx, "logs", "log-group:"))
        return [live for live in found if live is not None]

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        try:
            ctx.aws.client("logs").create_log_group(logGroupName=attrs["name"],
                                                    tags=dict(ctx.tags))
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
            existing = self.read(ctx, address, attrs["name"])
            require_owned(ctx, existing.tags if existing else {}, f"log group {attrs['name']}")
        return self.update(ctx, _reread(self, ctx, address, attrs["name"]), attrs,
                           frozenset({"retention_days"}))

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        require_owned(ctx, live.tags, f"log group {live.id}")
        if "retention_days" in changed:
            ctx.aws.client("logs").put_retention_policy(logGroupName=live.id,
                                                        retentionInDays=attrs["retention_days"])
        return _reread(self, ctx, live.address, live.id)

    def retire(self, ctx: Context, live: Live) -> bool:
        """Copies every event to the site's archive (gzip'd JSON lines, one event a line);
        running it again rewrites the same object."""
        logs = ctx.aws.client("logs")
        lines = []
        try:
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=live.id):
                lines += [json.dumps({"stream": e["logStreamName"], "timestamp": e["timestamp"],
                                      "message": e["message"]}) for e in page["events"]]
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        body = gzip.compress(("\n".join(lines) + "\n" if lines else "").encode())
        archive_object(ctx, ctx.retain_data_days, f"logs{live.id}.jsonl.gz", body)
        return True

    def delete(self, ctx: Context, live: Live) -> None:
        current = self.read(ctx, live.address, live.id)
        if current is None:
            return
        require_owned(ctx, current.tags, f"log group {live.id}")
        gone_is_none({"ResourceNotFoundException"}, ctx.aws.client("logs").delete_log_group,
                     logGroupName=live.id)


@register
class AlertTopic(ResourceType):
    """Where alarms go; the site's alert addresses are subscribed by email (each confirms by
    replying to AWS's message). A subscription still awaiting confirmation cannot be
    removed: AWS drops it by itself after a few days."""

    type = TOPIC
    permissions = TAGGING_PERMISSIONS + (
        "sns:CreateTopic", "sns:GetTopicAttributes", "sns:ListTagsForResource",
        "sns:TagResource", "sns:ListSubscriptionsByTopic", "sns:Subscribe", "sns:Unsubscribe",
        "sns:DeleteTopic",
    )
    replace_on = frozenset({"name"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(TOPIC, self.type, {
            "name": resource_name(site.site.id, "alerts"),
            "emails": sorted(set(site.monitoring.alert_emails))})]

    def _subscriptions(self, ctx: Context, arn: str) -> dict[str, str]:
        """{email: subscription ARN or "PendingConfirmation"}."""
        pages = ctx.aws.client("sns").get_paginator("list_subscriptions_by_topic").paginate(
            TopicArn=arn)
        return {s["Endpoint"]: s["SubscriptionArn"] for page in pages
                for s in page["Subscriptions"] if s["Protocol"] == "email"}

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        sns = ctx.aws.client("sns")
        if gone_is_none({"NotFound"}, sns.get_topic_attributes, TopicArn=resource_id) is None:
            return None
        tags = tag_dict(sns.list_tags_for_resource(ResourceArn=resource_id).get("Tags", []))
        return Live(address, self.type, resource_id, {
            "name": resource_id.rsplit(":", 1)[1],
            "emails": sorted(self._subscriptions(ctx, resource_id))},
            tags, {"arn": resource_id})

    def discover(self, ctx: Context) -> list[Live]:
        found = (self.read(ctx, TOPIC, arn) for arn in find_tagged(ctx, "sns", "")
                 if ":" not in arn.split(":", 5)[5])  # topics, not subscriptions
        return [live for live in found if live is not None]

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        sns = ctx.aws.client("sns")
        adopted = next((live for live in self.discover(ctx)
                        if live.attrs["name"] == attrs["name"]), None)
        if adopted is None:
            # CreateTopic returns an existing topic of the same name rather than failing,
            # so ownership is checked on what came back before anything else is done.
            arn = sns.create_topic(Name=attrs["name"], Tags=tag_list(ctx.tags))["TopicArn"]
            adopted = _reread(self, ctx, address, arn)
        return self.update(ctx, adopted, attrs, frozenset({"emails"}))

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        require_owned(ctx, live.tags, f"SNS topic {live.id}")
        if "emails" in changed:
            sns = ctx.aws.client("sns")
            current = self._subscriptions(ctx, live.id)
            for email in sorted(set(attrs["emails"]) - set(current)):
                sns.subscribe(TopicArn=live.id, Protocol="email", Endpoint=email)
            for email in sorted(set(current) - set(attrs["emails"])):
                if current[email].startswith("arn:"):
                    sns.unsubscribe(SubscriptionArn=current[email])
        return _reread(self, ctx, live.address, live.id)

    def delete(self, ctx: Context, live: Live) -> None:
        current = self.read(ctx, live.address, live.id)
        if current is None:
            return
        require_owned(ctx, current.tags, f"SNS topic {live.id}")
        ctx.aws.client("sns").delete_topic(TopicArn=live.id)  # its subscriptions go with it


# (purpose, description, metric, statistic, evaluation periods, comparison, missing data,
#  notify when it clears)
ALARMS = (
    ("gateway-heartbeat", "The gateway has not reported for 5 minutes: it is down or offline",
     "Heartbeat", "SampleCount", 5, "LessThanThreshold", "breaching", True),
    ("wan-failover", "The gateway moved traffic to its backup link",
     "WanFailover", "Sum", 1, "GreaterThanOrEqualToThreshold", "notBreaching", False),
)


@register
class Alarm(ResourceType):
    type = "cloudwatch.alarm"
    permissions = TAGGING_PERMISSIONS + (
        "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource",
        "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:DeleteAlarms",
    )
    replace_on = frozenset({"name"})

    def wanted(self, site: Site) -> list[Desired]:
        topic = Ref(TOPIC, "arn")
        return [Desired(f"cloudwatch.alarm[{purpose}]", self.type, {
            "name": resource_name(site.site.id, purpose),
            "description": f"{site.site.name}: {description}",
            "namespace": METRIC_NAMESPACE,
            "metric": metric,
            "dimensions": {"Site": site.site.id},
            "statistic": statistic,
            "period": 60,
            "evaluation_periods": periods,
            "threshold": 1.0,
            "comparison": comparison,
            "treat_missing_data": missing,
            "alarm_actions": [topic],
            "ok_actions": [topic] if notify_ok else [],
        }) for purpose, description, metric, statistic, periods, comparison, missing, notify_ok
            in ALARMS]

    def _live(self, ctx: Context, address: str, alarm: dict[str, Any],
              tags: dict[str, str] | None = None) -> Live:
        arn = alarm["AlarmArn"]
        if tags is None:
            tags = tag_dict(ctx.aws.client("cloudwatch").list_tags_for_resource(
                ResourceARN=arn).get("Tags", []))
        return Live(address, self.type, alarm["AlarmName"], {
            "name": alarm["AlarmName"],
            "description": alarm.get("AlarmDescription", ""),
            "namespace": alarm.get("Namespace"),
            "metric": alarm.get("MetricName"),
            "dimensions": tag_dict(alarm.get("Dimensions", []), "Name", "Value"),
            "statistic": alarm.get("Statistic"),
            "period": alarm.get("Period"),
            "evaluation_periods": alarm.get("EvaluationPeriods"),
            "threshold": alarm.get("Threshold"),
            "comparison": alarm.get("ComparisonOperator"),
            "treat_missing_data": alarm.get("TreatMissingData", "missing"),
            "alarm_actions": alarm.get("AlarmActions", []),
            "ok_actions": alarm.get("OKActions", []),
        }, tags, {"arn": arn, "name": alarm["AlarmName"]})

    def _describe(self, ctx: Context, names: list[str]) -> list[dict[str, Any]]:
        cloudwatch = ctx.aws.client("cloudwatch")
        alarms: list[dict[str, Any]] = []
        for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
            pages = cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNames=names[start:start + 100], AlarmTypes=["MetricAlarm"])
            alarms += [alarm for page in pages for alarm in page["MetricAlarms"]]
        return alarms

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        alarms = self._describe(ctx, [resource_id])
        return self._live(ctx, address, alarms[0]) if alarms else None

    def discover(self, ctx: Context) -> list[Live]:
        tagged = {arn.split(":alarm:", 1)[1]: tags
                  for arn, tags in find_tagged(ctx, "cloudwatch", "alarm:").items()}
        prefix = resource_name(ctx.site_id, "")
        return [self._live(ctx, f"cloudwatch.alarm[{alarm['AlarmName'].removeprefix(prefix)}]",
                           alarm, tagged[alarm["AlarmName"]])
                for alarm in self._describe(ctx, sorted(tagged))]

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        # PutMetricAlarm overwrites an alarm of the same name: check whose it is first.
        existing = self.read(ctx, address, attrs["name"])
        if existing is not None:
            return self.update(ctx, existing, attrs, frozenset(attrs))
        self._put(ctx, attrs, Tags=tag_list(ctx.tags))
        return _reread(self, ctx, address, attrs["name"])

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        require_owned(ctx, live.tags, f"alarm {live.id}")
        self._put(ctx, attrs)
        return _reread(self, ctx, live.address, live.id)

    def _put(self, ctx: Context, attrs: Attrs, **extra: Any) -> None:
        """PutMetricAlarm replaces the whole alarm, so it always gets every setting."""
        ctx.aws.client("cloudwatch").put_metric_alarm(
            AlarmName=attrs["name"], AlarmDescription=attrs["description"],
            Namespace=attrs["namespace"], MetricName=attrs["metric"],
            Dimensions=[{"Name": k, "Value": v} for k, v in sorted(attrs["dimensions"].items())],
            Statistic=attrs["statistic"], Period=attrs["period"],
            EvaluationPeriods=attrs["evaluation_periods"], Threshold=attrs["threshold"],
            ComparisonOperator=attrs["comparison"], TreatMissingData=attrs["treat_missing_data"],
            ActionsEnabled=True, AlarmActions=attrs["alarm_actions"],
            OKActions=attrs["ok_actions"], **extra)

    def delete(self, ctx: Context, live: Live) -> None:
        current = self.read(ctx, live.address, live.id)
        if current is None:
            return
        require_owned(ctx, current.tags, f"alarm {live.id}")
        ctx.aws.client("cloudwatch").delete_alarms(AlarmNames=[live.id])
