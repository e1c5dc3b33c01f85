"""The site's bucket for its data and logs: encrypted, versioned, never public, TLS only,
keeping noncurrent versions for the retention period.

Teardown archives the current objects to the site's archive bucket (`retire`) and then empties
every version before deleting the bucket. The emulator does not understand
`aws:SecureTransport`, so with the TLS-only policy in place it refuses every object call; both
`retire` and `delete` lift the policy first (harmless on real AWS, where the bucket is going).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from provision.aws.archive import ARCHIVE_PERMISSIONS, archive_bucket
from provision.aws.resource import (
    DEFAULT_RETAIN_DATA_DAYS,
    MANAGED_BY,
    TAG_MANAGED_BY,
    Attrs,
    Context,
    Desired,
    Live,
    ResourceType,
    register,
)
from provision.aws.tags import error_code, find_tagged, is_owned, tag_dict, tag_list
from provision.errors import CloudCallFailed, Refused
from provision.site.model import Site

BUCKET = "s3.bucket"
GONE = frozenset({"NoSuchBucket", "404"})
BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": True}
TLS_ONLY_SID = "DenyInsecureTransport"


def bucket_name(site_id: str) -> str:
    return f"provision-{site_id}-data"


def _client(ctx: Context) -> Any:
    return ctx.aws.client("s3")


def _tls_only_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": TLS_ONLY_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def _optional(call: Any, missing: str, **params: Any) -> Any:
    """The response, or None when the setting is absent (S3 answers with an error code)."""
    try:
        return call(**params)
    except ClientError as exc:
        if error_code(exc) == missing:
            return None
        raise


def _tags(ctx: Context, bucket: str) -> dict[str, str] | None:
    """The bucket's tags ({} when it has none), or None when there is no such bucket."""
    try:
        return tag_dict(_client(ctx).get_bucket_tagging(Bucket=bucket)["TagSet"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchTagSet":
            return {}
        if error_code(exc) in GONE:
            return None
        raise


@register
class Bucket(ResourceType):
    type = BUCKET
    permissions = ARCHIVE_PERMISSIONS + (
        "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions",
        "s3:GetBucketTagging", "s3:PutBucketTagging", "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
        "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
        "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
        "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion",
        "tag:GetResources")
    replace_on = frozenset({"name"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(BUCKET, self.type, {
            "name": bucket_name(site.site.id),
            "encryption": "AES256",
            "versioning": "Enabled",
            "public_access_block": dict(BLOCK_ALL),
            "tls_only": True,
            "noncurrent_version_days": (site.site.lifetime.retain_data_days
                                        or DEFAULT_RETAIN_DATA_DAYS),
        })]

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        tags = _tags(ctx, resource_id)
        if tags is None:
            return None
        s3 = _client(ctx)
        encryption = _optional(s3.get_bucket_encryption,
                               "ServerSideEncryptionConfigurationNotFoundError",
                               Bucket=resource_id)
        rules = encryption["ServerSideEncryptionConfiguration"]["Rules"] if encryption else []
        block = _optional(s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration",
                          Bucket=resource_id)
        policy = _optional(s3.get_bucket_policy, "NoSuchBucketPolicy", Bucket=resource_id)
        statements = json.loads(policy["Policy"])["Statement"] if policy else []
        lifecycle = _optional(s3.get_bucket_lifecycle_configuration,
                              "NoSuchLifecycleConfiguration", Bucket=resource_id)
        noncurrent = [r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
                      for r in (lifecycle or {}).get("Rules", []) if r.get("Status") == "Enabled"]
        return Live(address, self.type, resource_id, {
            "name": resource_id,
            "encryption": rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            if rules else None,
            "versioning": s3.get_bucket_versioning(Bucket=resource_id).get("Status"),
            "public_access_block": block["PublicAccessBlockConfiguration"] if block else None,
            "tls_only": any(s.get("Sid") == TLS_ONLY_SID and s.get("Effect") == "Deny"
                            for s in statements),
            "noncurrent_version_days": next((d for d in noncurrent if d), None),
        }, tags, {"name": resource_id, "arn": f"arn:aws:s3:::{resource_id}"})

    def discover(self, ctx: Context) -> list[Live]:
        found = []
        for arn, tags in sorted(find_tagged(ctx, "s3", "").items()):
            if tags.get(TAG_MANAGED_BY) == MANAGED_BY:
                live = self.read(ctx, BUCKET, arn.rsplit(":", 1)[-1])
                if live is not None:
                    found.append(live)
        return found

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        bucket = attrs["name"]
        tags = _tags(ctx, bucket)
        if tags is None:
            params: dict[str, Any] = {"Bucket": bucket}
            if ctx.aws.region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.aws.region}
            _client(ctx).create_bucket(**params)
        elif not is_owned(ctx, tags) and not (address in ctx.resuming and not tags):
            # Only an untagged bucket this site journalled a create for is ours to adopt.
            raise Refused(f"bucket {bucket} exists without the tags of site {ctx.site_id}; "
                          "provision never takes over what it did not make",
                          hint="remove or rename that bucket, or choose another site id")
        return self._configure(ctx, address, bucket, attrs)

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        return self._configure(ctx, live.address, live.id, attrs)

    def _configure(self, ctx: Context, address: str, bucket: str, attrs: Attrs) -> Live:
        """Every setting, each an idempotent put (tags first: it marks the bucket ours)."""
        s3 = _client(ctx)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(ctx.tags)})
        s3.put_public_access_block(Bucket=bucket,
                                   PublicAccessBlockConfiguration=attrs["public_access_block"])
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": attrs["encryption"]},
             "BucketKeyEnabled": True}]})
        s3.put_bucket_versioning(Bucket=bucket,
                                 VersioningConfiguration={"Status": attrs["versioning"]})
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": "keep-noncurrent-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
             "NoncurrentVersionExpiration": {"NoncurrentDays": attrs["noncurrent_version_days"]},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]})
        if attrs["tls_only"]:
            s3.put_bucket_policy(Bucket=bucket, Policy=_tls_only_policy(bucket))
        else:
            s3.delete_bucket_policy(Bucket=bucket)
        live = self.read(ctx, address, bucket)
        if live is None:
            raise CloudCallFailed(f"{address}: bucket {bucket} vanished")
        return live

    def retire(self, ctx: Context, live: Live) -> bool:
        """Copies every current object into the archive (server-side), under data/<key>."""
        s3 = _client(ctx)
        _optional(s3.delete_bucket_policy, "NoSuchBucket", Bucket=live.id)
        archive = archive_bucket(ctx, ctx.retain_data_days)
        copied = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=live.id):
            for item in page.get("Contents", []):
                s3.copy_object(Bucket=archive, Key=f"data/{item['Key']}",
                               CopySource={"Bucket": live.id, "Key": item["Key"]},
                               ServerSideEncryption="AES256")
                copied += 1
        return copied > 0

    def delete(self, ctx: Context, live: Live) -> None:
        """Deletes every version and delete marker, then the bucket."""
        s3 = _client(ctx)
        try:
            s3.delete_bucket_policy(Bucket=live.id)
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=live.id):
                versions = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if versions:
                    s3.delete_objects(Bucket=live.id,
                                      Delete={"Objects": versions, "Quiet": True})
            s3.delete_bucket(Bucket=live.id)
        except ClientError as exc:
            if error_code(exc) not in GONE:
                raise
