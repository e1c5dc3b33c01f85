"""The site bucket against the emulator: settings, adoption rules, archive and emptying."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from provision.aws.archive import TAG_ARCHIVE_OF, archive_bucket_name, archive_object
from provision.aws.resource import REGISTRY, Context
from provision.aws.resources.s3 import BUCKET, bucket_name
from provision.errors import Refused
from provision.site.model import Site
from tests.aws.conftest import SITE_ID, assert_converged, wanted

NAME = bucket_name(SITE_ID)


def test_create_sets_every_protection_and_reads_back_equal(ctx: Context, site: Site) -> None:
    rt = REGISTRY[BUCKET]
    attrs = wanted(rt, site, BUCKET).attrs
    live = assert_converged(rt, attrs, rt.create(ctx, BUCKET, attrs))
    assert live.attrs["tls_only"] is True
    assert live.attrs["noncurrent_version_days"] == 180
    assert live.tags["provision:site"] == SITE_ID
    assert rt.create(ctx, BUCKET, attrs).id == live.id  # a re-run adopts its own bucket
    assert [d.id for d in rt.discover(ctx)] == [NAME]


def test_an_untagged_bucket_is_never_adopted_unless_this_site_was_creating_it(
        ctx: Context, site: Site) -> None:
    rt = REGISTRY[BUCKET]
    attrs = wanted(rt, site, BUCKET).attrs
    s3 = ctx.aws.client("s3")
    s3.create_bucket(Bucket=NAME, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    with pytest.raises(Refused, match=NAME):
        rt.create(ctx, BUCKET, attrs)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=NAME)
    assert rt.discover(ctx) == []
    # A run killed between CreateBucket and tagging journalled the create: that one is ours.
    resuming = Context(ctx.aws, ctx.site_id, ctx.tags, resuming=frozenset({BUCKET}))
    assert_converged(rt, attrs, rt.create(resuming, BUCKET, attrs))


def test_another_sites_bucket_is_refused(ctx: Context, other_ctx: Context, site: Site) -> None:
    rt = REGISTRY[BUCKET]
    attrs = wanted(rt, site, BUCKET).attrs
    rt.create(other_ctx, BUCKET, attrs)
    with pytest.raises(Refused):
        rt.create(Context(ctx.aws, ctx.site_id, ctx.tags, resuming=frozenset({BUCKET})),
                  BUCKET, attrs)
    assert rt.discover(ctx) == []


def test_retire_archives_then_delete_empties_every_version(ctx: Context, site: Site) -> None:
    rt = REGISTRY[BUCKET]
    live = rt.create(ctx, BUCKET, wanted(rt, site, BUCKET).attrs)
    s3 = ctx.aws.client("s3")
    s3.delete_bucket_policy(Bucket=NAME)  # the emulator cannot see TLS; see s3.py
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=NAME, Key="logs/gateway.log", Body=body)
    s3.delete_object(Bucket=NAME, Key="logs/gateway.log")
    s3.put_object(Bucket=NAME, Key="beds.csv", Body=b"1,A")
    assert rt.retire(ctx, live) is True
    archive = archive_bucket_name(SITE_ID)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=archive)["Contents"]]
    assert keys == ["data/beds.csv"]
    rt.delete(ctx, live)
    assert rt.read(ctx, BUCKET, NAME) is None
    rt.delete(ctx, live)  # gone already is success


def test_archive_bucket_is_not_tagged_as_the_site(ctx: Context, other_ctx: Context) -> None:
    archive_object(ctx, 30, "logs/a.json", b"{}")
    s3 = ctx.aws.client("s3")
    archive = archive_bucket_name(SITE_ID)
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=archive)["TagSet"]}
    assert tags == {TAG_ARCHIVE_OF: SITE_ID, "provision:managed-by": "provision"}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=archive)["Rules"]
    assert rules[0]["Expiration"]["Days"] == 30
    assert s3.get_public_access_block(Bucket=archive)["PublicAccessBlockConfiguration"][
        "BlockPublicPolicy"]
    s3.create_bucket(Bucket=archive_bucket_name("other-site"),
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3.put_object(Bucket=archive_bucket_name("other-site"), Key="x", Body=b"not ours")
    with pytest.raises(Refused):
        archive_object(other_ctx, 30, "logs/b.json", b"{}")
