"""The site's DNS against the emulator: zone adoption, records in one batch with UPSERT and
DELETE only, and the delegation in a parent zone of the same account."""

from __future__ import annotations

from typing import Any

import pytest

from provision.aws.resource import REGISTRY, Context, Live
from provision.aws.resources.route53 import DELEGATION, RECORDS, ZONE
from provision.errors import Refused
from provision.site.model import Site
from tests.aws.conftest import assert_converged, resolve, wanted

DOMAIN = "nightingale-north.sites.example.nhs.uk."
VALIDATION = {"name": f"_abc.{DOMAIN}", "type": "CNAME", "value": "_xyz.acm-validations.aws."}


def make_zone(ctx: Context, site: Site) -> Live:
    rt = REGISTRY[ZONE]
    return assert_converged(rt, wanted(rt, site, ZONE).attrs,
                            rt.create(ctx, ZONE, wanted(rt, site, ZONE).attrs))


def records_attrs(site: Site, zone: Live, extra: list[dict[str, Any]]) -> dict[str, Any]:
    """The site's records with `extra` in place of the certificate's (a Ref to ACM)."""
    attrs = dict(wanted(REGISTRY[RECORDS], site, RECORDS).attrs)
    attrs["records"] = [r for r in attrs["records"] if isinstance(r, dict)] + extra
    return resolve(attrs, zone)


def test_zone_is_tagged_adopted_on_rerun_and_discovered(ctx: Context, other_ctx: Context,
                                                        site: Site) -> None:
    zone = make_zone(ctx, site)
    assert zone.attrs["name"] == DOMAIN
    assert zone.tags["provision:site"] == "nightingale-north"
    assert zone.outputs["name_servers"]
    assert make_zone(ctx, site).id == zone.id  # no second zone
    assert [z.id for z in REGISTRY[ZONE].discover(ctx)] == [zone.id]
    assert REGISTRY[ZONE].discover(other_ctx) == []


def test_an_untagged_zone_of_the_same_name_is_left_alone(ctx: Context, site: Site) -> None:
    route53 = ctx.aws.client("route53")
    theirs = route53.create_hosted_zone(Name=DOMAIN, CallerReference="theirs")["HostedZone"]
    ours = make_zone(ctx, site)
    assert ours.id != theirs["Id"].rsplit("/", 1)[-1]
    assert route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=theirs["Id"]
                                          .rsplit("/", 1)[-1])["ResourceTagSet"].get("Tags",
                                                                                      []) == []
    assert [z.id for z in REGISTRY[ZONE].discover(ctx)] == [ours.id]


def test_records_are_one_batch_of_upserts_and_deletes(ctx: Context, site: Site) -> None:
    zone = make_zone(ctx, site)
    rt = REGISTRY[RECORDS]
    batches: list[list[str]] = []

    def count(params: dict[str, Any], **_kwargs: Any) -> None:
        batches.append([c["Action"] for c in params["ChangeBatch"]["Changes"]])

    ctx.aws.client("route53").meta.events.register(
        "before-parameter-build.route53.ChangeResourceRecordSets", count)
    attrs = records_attrs(site, zone, [VALIDATION])
    live = assert_converged(rt, attrs, rt.create(ctx, RECORDS, attrs))
    assert batches == [["UPSERT", "UPSERT"]]
    assert {r["name"] for r in live.attrs["records"]} == {
        f"bed-board.{DOMAIN}", VALIDATION["name"]}
    again = rt.create(ctx, RECORDS, attrs)  # a re-run after a crash: nothing to send
    assert batches == [["UPSERT", "UPSERT"]]
    fewer = records_attrs(site, zone, [])
    assert rt.diff(fewer, again.attrs).keys() == {"records"}
    assert_converged(rt, fewer, rt.update(ctx, again, fewer, frozenset({"records"})))
    assert batches[-1] == ["DELETE"]
    rt.delete(ctx, again)
    assert REGISTRY[RECORDS].read(ctx, RECORDS, zone.id).attrs["records"] == []  # type: ignore[union-attr]
    REGISTRY[ZONE].delete(ctx, zone)
    assert REGISTRY[ZONE].read(ctx, ZONE, zone.id) is None


def test_delegation_in_a_parent_zone_of_the_account(ctx: Context, site: Site) -> None:
    route53 = ctx.aws.client("route53")
    parent = route53.create_hosted_zone(Name="sites.example.nhs.uk.",
                                        CallerReference="parent")["HostedZone"]["Id"]
    zone = make_zone(ctx, site)
    rt = REGISTRY[DELEGATION]
    attrs = resolve(wanted(rt, site, DELEGATION).attrs, zone)
    live = assert_converged(rt, attrs, rt.create(ctx, DELEGATION, attrs))
    assert live.outputs["delegated"] is True
    assert rt.owned(ctx, live)
    assert [d.id for d in rt.discover(ctx)] == [live.id]
    rt.delete(ctx, live)
    assert rt.read(ctx, DELEGATION, live.id) is None
    names = {r["Name"] for r in route53.list_resource_record_sets(
        HostedZoneId=parent)["ResourceRecordSets"]}
    assert DOMAIN not in names  # the parent zone keeps only its own records


def test_a_delegation_to_someone_elses_servers_is_refused(ctx: Context, site: Site) -> None:
    route53 = ctx.aws.client("route53")
    parent = route53.create_hosted_zone(Name="sites.example.nhs.uk.",
                                        CallerReference="parent")["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=parent, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": DOMAIN, "Type": "NS", "TTL": 300,
            "ResourceRecords": [{"Value": "ns1.elsewhere.example."}]}}]})
    zone = make_zone(ctx, site)
    rt = REGISTRY[DELEGATION]
    attrs = resolve(wanted(rt, site, DELEGATION).attrs, zone)
    with pytest.raises(Refused, match="already delegates"):
        rt.create(ctx, DELEGATION, attrs)
    live = rt.read(ctx, DELEGATION, f"sites.example.nhs.uk.|{DOMAIN}")
    assert live is not None and not rt.owned(ctx, live)


def test_without_the_parent_zone_the_delegation_is_external(ctx: Context, site: Site) -> None:
    zone = make_zone(ctx, site)
    rt = REGISTRY[DELEGATION]
    attrs = resolve(wanted(rt, site, DELEGATION).attrs, zone)
    live = assert_converged(rt, attrs, rt.create(ctx, DELEGATION, attrs))
    assert live.outputs["delegated"] is False
    assert len(ctx.aws.client("route53").list_hosted_zones()["HostedZones"]) == 1
