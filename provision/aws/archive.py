"""The site's archive: where teardown puts the site's data and logs, kept for retain_data_days.

The archive bucket is tagged `provision:archive-of=<site>` and `provision:managed-by`, but not
`provision:site`: a tag sweep of the site after teardown finds nothing, while the archive stays
until its lifecycle rule expires every object.
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary

from botocore.exceptions import ClientError

from provision.aws.resource import MANAGED_BY, TAG_MANAGED_BY, Context
from provision.aws.session import AwsSession
from provision.errors import Refused

TAG_ARCHIVE_OF = "provision:archive-of"
# What archiving needs; a resource type whose `retire` archives includes these.
ARCHIVE_PERMISSIONS = (
    "s3:CreateBucket", "s3:GetBucketTagging", "s3:PutBucketTagging", "s3:ListBucket",
    "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration", "s3:PutObject")


def archive_bucket_name(site_id: str) -> str:
    """Deterministic, so any later run (or a person) finds the archive of a torn-down site."""
    return f"provision-archive-{site_id}"


def _bucket_tags(s3: object, bucket: str) -> dict[str, str] | None:
    """The bucket's tags; None when the bucket does not exist."""
    try:
        response = s3.get_bucket_tagging(Bucket=bucket)  # type: ignore[attr-defined]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "NoSuchTagSet":
            return {}
        if code in ("NoSuchBucket", "404"):
            return None
        raise
    return {t["Key"]: t["Value"] for t in response["TagSet"]}


def ensure_archive_bucket(ctx: Context, retain_days: int) -> str:
    """Creates (or adopts) the site's archive bucket and (re)applies its settings; returns its
    name. Refuses a bucket of that name that was not made by provision for this site: one
    with other tags, or an untagged one holding objects (an untagged empty one is what a run
    killed between CreateBucket and PutBucketTagging leaves)."""
    s3 = ctx.aws.client("s3")
    bucket = archive_bucket_name(ctx.site_id)
    existing = _bucket_tags(s3, bucket)
    if existing is None:
        params: dict[str, object] = {"Bucket": bucket}
        if ctx.aws.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.aws.region}
        s3.create_bucket(**params)
    elif existing.get(TAG_ARCHIVE_OF) != ctx.site_id and (
            existing or s3.list_objects_v2(Bucket=bucket, MaxKeys=1)["KeyCount"]):
        raise Refused(f"bucket {bucket} exists but is not the archive of {ctx.site_id}",
                      hint="remove or rename that bucket; provision never takes over "
                      "resources it did not make")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [
        {"Key": TAG_ARCHIVE_OF, "Value": ctx.site_id},
        {"Key": TAG_MANAGED_BY, "Value": MANAGED_BY}]})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
         "BucketKeyEnabled": True}]})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "retain-data-days", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Expiration": {"Days": retain_days}}]})
    return bucket


_ENSURED: WeakKeyDictionary[AwsSession, set[tuple[str, int]]] = WeakKeyDictionary()
_ENSURED_LOCK = threading.Lock()


def archive_bucket(ctx: Context, retain_days: int) -> str:
    """The archive bucket's name, set up on first use in this session (not once per object)."""
    with _ENSURED_LOCK:
        done = _ENSURED.setdefault(ctx.aws, set())
        if (ctx.site_id, retain_days) not in done:
            ensure_archive_bucket(ctx, retain_days)
            done.add((ctx.site_id, retain_days))
    return archive_bucket_name(ctx.site_id)


def archive_object(ctx: Context, retain_days: int, key: str, body: bytes) -> None:
    """Stores one object in the site's archive (creating the archive on first use)."""
    ctx.aws.client("s3").put_object(Bucket=archive_bucket(ctx, retain_days), Key=key,
                                    Body=body, ServerSideEncryption="AES256")
