"""Ownership tags in the shapes AWS services want, and finding a site's resources by them.

Every resource type needs the same three things: write the site's tags, tell whether a live
resource carries them (nothing else is ever changed or deleted), and find what a crashed run
left behind. The Resource Groups Tagging API answers the last one in a single paginated call
for the services it covers (ACM, CloudWatch, Logs, Secrets Manager, SNS), so refresh stays at
about one read per resource.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from provision.aws.resource import TAG_DELETED_FROM, TAG_SITE, Context
from provision.errors import Refused


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """[{"Key": k, "Value": v}], the shape most services take."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_dict(pairs: Iterable[Mapping[str, str]], key: str = "Key",
             value: str = "Value") -> dict[str, str]:
    return {pair[key]: pair[value] for pair in pairs}


def is_owned(ctx: Context, tags: Mapping[str, str], *, deleted_ok: bool = False) -> bool:
    """Carries this site's tag; with `deleted_ok`, or is in a recovery window after this
    site's teardown."""
    return tags.get(TAG_SITE) == ctx.site_id or (
        deleted_ok and tags.get(TAG_DELETED_FROM) == ctx.site_id)


def require_owned(ctx: Context, tags: Mapping[str, str], what: str, *,
                  deleted_ok: bool = False) -> None:
    """Refuses to touch `what` unless it carries this site's tag."""
    if not is_owned(ctx, tags, deleted_ok=deleted_ok):
        raise Refused(f"{what} exists but is not tagged {TAG_SITE}={ctx.site_id}; "
                      "provision never changes or deletes what it does not own",
                      hint="rename or remove that resource, or tag it if it really is this "
                      "site's")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def gone_is_none(missing: Collection[str], call: Callable[..., Any], **params: Any) -> Any:
    """`call(**params)`, or None when AWS answers with one of the `missing` error codes:
    a resource that is already gone is an answer, not a failure."""
    try:
        return call(**params)
    except ClientError as exc:
        if error_code(exc) in missing:
            return None
        raise


def find_tagged(ctx: Context, service: str, resource_prefix: str) -> dict[str, dict[str, str]]:
    """{arn: tags} of the site's resources of one kind, e.g. ("cloudwatch", "alarm:").

    Filtered by ARN rather than ResourceTypeFilters: the emulator ignores some type filters,
    and the site's resources are few, so one unfiltered call per type is cheap either way.
    """
    client = ctx.aws.client("resourcegroupstaggingapi")
    found: dict[str, dict[str, str]] = {}
    for page in client.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": TAG_SITE, "Values": [ctx.site_id]}]):
        for mapping in page["ResourceTagMappingList"]:
            arn: str = mapping["ResourceARN"]
            parts = arn.split(":", 5)
            if len(parts) == 6 and parts[2] == service and parts[5].startswith(resource_prefix):
                found[arn] = tag_dict(mapping.get("Tags", []))
    return found


TAGGING_PERMISSIONS = ("tag:GetResources",)
