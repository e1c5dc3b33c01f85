"""The site's DNS: its hosted zone, every record in it (one resource, written in one batch),
and the NS delegation in the parent zone when that zone is in the same account.

Route 53 cannot tag records, so the records and the delegation belong to the site through the
zone: their `Live.tags` are the site zone's tags. The emulator accepts a duplicate CREATE that
real Route 53 rejects, so every write here is an UPSERT or a DELETE of exactly the values just
read, and the comparison is done here rather than trusted to the service.
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError

from provision.aws.resource import (
    REGISTRY,
    Attrs,
    Context,
    Desired,
    Live,
    Ref,
    ResourceType,
    register,
)
from provision.aws.tags import error_code, gone_is_none, is_owned, tag_dict, tag_list
from provision.errors import CloudCallFailed, Refused
from provision.site.model import Site

ZONE = "route53.zone"
RECORDS = "route53.records"
DELEGATION = "route53.delegation"
CERTIFICATE = "acm.certificate"  # its `validation_record` output goes into the site zone
RECORD_TTL = 300
READ_PERMISSIONS = ("route53:GetHostedZone", "route53:ListHostedZones",
                    "route53:ListHostedZonesByName", "route53:ListTagsForResource",
                    "route53:ListTagsForResources", "route53:ListResourceRecordSets")


def fqdn(name: str) -> str:
    """Route 53's spelling: lower case, trailing dot, `*` as written (it returns \\052)."""
    return name.lower().replace("\\052", "*").rstrip(".") + "."


def _client(ctx: Context) -> Any:
    return ctx.aws.client("route53")


def _short_id(zone_id: str) -> str:
    return zone_id.rsplit("/", 1)[-1]


def zone_comment(site_id: str) -> str:
    return f"provision site {site_id}"


def _zone_tags(ctx: Context, zone_id: str) -> dict[str, str]:
    response = _client(ctx).list_tags_for_resource(ResourceType="hostedzone",
                                                   ResourceId=zone_id)
    return tag_dict(response["ResourceTagSet"].get("Tags", []))


def _get_zone(ctx: Context, zone_id: str) -> dict[str, Any] | None:
    response: dict[str, Any] | None = gone_is_none({"NoSuchHostedZone"},
                                                   _client(ctx).get_hosted_zone, Id=zone_id)
    return response


def _zones_named(ctx: Context, name: str) -> list[str]:
    """Ids of every zone with exactly this name (Route 53 allows several)."""
    response = _client(ctx).list_hosted_zones_by_name(DNSName=name, MaxItems="100")
    return [_short_id(z["Id"]) for z in response["HostedZones"] if fqdn(z["Name"]) == name]


def _owned_zone_id(ctx: Context, name: str) -> str | None:
    """The site's zone of this name, found by its tags."""
    return next((z for z in _zones_named(ctx, name) if is_owned(ctx, _zone_tags(ctx, z))),
                None)


@register
class HostedZone(ResourceType):
    """`<site-id>.<dns_zone>`; outputs zone_id and name_servers."""

    type = ZONE
    permissions = READ_PERMISSIONS + ("route53:CreateHostedZone", "route53:DeleteHostedZone",
                                      "route53:UpdateHostedZoneComment",
                                      "route53:ChangeTagsForResource",
                                      "route53:ChangeResourceRecordSets")
    replace_on = frozenset({"name"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(ZONE, self.type, {"name": fqdn(site.domain),
                                          "comment": zone_comment(site.site.id)})]

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        response = _get_zone(ctx, resource_id)
        if response is None:
            return None
        zone = response["HostedZone"]
        zone_id = _short_id(zone["Id"])
        return Live(address, self.type, zone_id,
                    {"name": fqdn(zone["Name"]),
                     "comment": zone.get("Config", {}).get("Comment", "")},
                    _zone_tags(ctx, zone_id),
                    {"zone_id": zone_id, "name": fqdn(zone["Name"]), "name_servers": sorted(
                        fqdn(ns) for ns in response.get("DelegationSet", {}).get(
                            "NameServers", []))})

    def discover(self, ctx: Context) -> list[Live]:
        """Zones whose first label is the site id, then their tags (ten per call)."""
        route53 = _client(ctx)
        candidates = [_short_id(z["Id"])
                      for page in route53.get_paginator("list_hosted_zones").paginate()
                      for z in page["HostedZones"]
                      if z["Name"].lower().startswith(f"{ctx.site_id}.")]
        owned = []
        for start in range(0, len(candidates), 10):
            response = route53.list_tags_for_resources(
                ResourceType="hostedzone", ResourceIds=candidates[start:start + 10])
            owned += [s["ResourceId"] for s in response["ResourceTagSets"]
                      if is_owned(ctx, tag_dict(s.get("Tags", [])))]
        found = [self.read(ctx, ZONE, zone_id) for zone_id in owned]
        return [live for live in found if live is not None]

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        zone_id = _owned_zone_id(ctx, attrs["name"])
        if zone_id is None and address in ctx.resuming:
            # Killed between CreateHostedZone and tagging: our untagged zone, marked by the
            # comment only we write. Anything else of that name is left alone.
            zone_id = next((z for z in _zones_named(ctx, attrs["name"])
                            if not _zone_tags(ctx, z) and (_get_zone(ctx, z) or {}).get(
                                "HostedZone", {}).get("Config", {}).get("Comment")
                            == attrs["comment"]), None)
        if zone_id is None:
            response = _client(ctx).create_hosted_zone(
                Name=attrs["name"], CallerReference=str(uuid.uuid4()),
                HostedZoneConfig={"Comment": attrs["comment"], "PrivateZone": False})
            zone_id = _short_id(response["HostedZone"]["Id"])
        _client(ctx).change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id,
                                              AddTags=tag_list(ctx.tags))
        return self._reread(ctx, address, zone_id)

    def _reread(self, ctx: Context, address: str, zone_id: str) -> Live:
        live = self.read(ctx, address, zone_id)
        if live is None:
            raise CloudCallFailed(f"{address}: hosted zone {zone_id} vanished")
        return live

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        if "comment" in changed:
            _client(ctx).update_hosted_zone_comment(Id=live.id, Comment=attrs["comment"])
        return self._reread(ctx, live.address, live.id)

    def delete(self, ctx: Context, live: Live) -> None:
        """Empties the zone first: every record in the site's zone is the site's (a replaced
        zone still holds the records the new one is about to get)."""
        if _get_zone(ctx, live.id) is None:
            return
        sync_records(ctx, live.id, [])
        try:
            _client(ctx).delete_hosted_zone(Id=live.id)
        except ClientError as exc:
            if error_code(exc) != "NoSuchHostedZone":
                raise


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """One record set in a comparable shape: {name, type, ttl, values (sorted)}; accepts
    "value" for a single value (ACM's validation record)."""
    values = record.get("values") or [record["value"]]
    kind = record["type"].upper()
    if kind in ("CNAME", "NS"):
        values = [fqdn(v) for v in values]
    return {"name": fqdn(record["name"]), "type": kind, "ttl": record.get("ttl", RECORD_TTL),
            "values": sorted(values)}


def _sorted(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((normalise(r) for r in records), key=lambda r: (r["name"], r["type"]))


def _record_set(record: dict[str, Any]) -> dict[str, Any]:
    return {"Name": record["name"], "Type": record["type"], "TTL": record["ttl"],
            "ResourceRecords": [{"Value": v} for v in record["values"]]}


def _read_records(ctx: Context, zone_id: str) -> list[dict[str, Any]]:
    """Every record set except the apex SOA and NS, which belong to the zone itself (the
    apex is where the SOA is)."""
    pages = _client(ctx).get_paginator("list_resource_record_sets").paginate(
        HostedZoneId=zone_id)
    sets = [r for page in pages for r in page["ResourceRecordSets"]]
    apex = next((fqdn(r["Name"]) for r in sets if r["Type"] == "SOA"), "")
    return _sorted([
        {"name": r["Name"], "type": r["Type"], "ttl": r.get("TTL", RECORD_TTL),
         "values": [v["Value"] for v in r.get("ResourceRecords", [])]}
        for r in sets if not (fqdn(r["Name"]) == apex and r["Type"] in ("SOA", "NS"))])


def sync_records(ctx: Context, zone_id: str, want: list[dict[str, Any]]) -> None:
    """Makes the zone's records (apex SOA and NS aside) exactly `want`, in one change batch:
    UPSERT what differs, DELETE what is not wanted, with the values just read."""
    if _get_zone(ctx, zone_id) is None:
        raise CloudCallFailed(f"{RECORDS}: hosted zone {zone_id} is gone")
    if not is_owned(ctx, _zone_tags(ctx, zone_id)):
        raise Refused(f"hosted zone {zone_id} does not carry the tags of site {ctx.site_id}")
    have = {(r["name"], r["type"]): r for r in _read_records(ctx, zone_id)}
    desired = {(r["name"], r["type"]): r for r in _sorted(want)}
    changes = [{"Action": "DELETE", "ResourceRecordSet": _record_set(record)}
               for key, record in have.items() if key not in desired]
    changes += [{"Action": "UPSERT", "ResourceRecordSet": _record_set(record)}
                for key, record in desired.items() if have.get(key) != record]
    _change(ctx, zone_id, changes)


def _change(ctx: Context, zone_id: str, changes: list[dict[str, Any]]) -> None:
    if changes:
        _client(ctx).change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Comment": "provision", "Changes": changes})


@register
class Records(ResourceType):
    """Every record of the site zone as one resource, so one apply is one change batch (Route
    53 allows five change requests a second per account). The site zone is the site's alone:
    a record in it that the site file does not describe is drift and goes."""

    type = RECORDS
    permissions = READ_PERMISSIONS + ("route53:ChangeResourceRecordSets",)
    replace_on = frozenset({"zone_id"})  # the records live in the zone: a new zone, new records

    def wanted(self, site: Site) -> list[Desired]:
        records: list[Any] = [
            {"name": f"{service.name}.{site.domain}", "type": "CNAME", "ttl": RECORD_TTL,
             "values": [(service.origin or "").split("://", 1)[-1].split("/", 1)[0]]}
            for service in site.services if service.exposure == "public" and service.origin]
        if CERTIFICATE in REGISTRY:
            records.append(Ref(CERTIFICATE, "validation_record"))
        return [Desired(RECORDS, self.type, {"zone_id": Ref(ZONE, "zone_id"),
                                             "records": records})]

    def diff(self, desired: Attrs, live: Attrs) -> dict[str, tuple[Any, Any]]:
        want = dict(desired)
        if all(isinstance(r, dict) for r in want["records"]):
            want["records"] = _sorted(want["records"])
        return super().diff(want, live)

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        try:
            records = _read_records(ctx, resource_id)
        except ClientError as exc:
            if error_code(exc) == "NoSuchHostedZone":
                return None
            raise
        return Live(address, self.type, resource_id,
                    {"zone_id": resource_id, "records": records},
                    _zone_tags(ctx, resource_id), {"zone_id": resource_id})

    def discover(self, ctx: Context) -> list[Live]:
        zones = REGISTRY[ZONE].discover(ctx)
        found = [self.read(ctx, RECORDS, zone.id) for zone in zones]
        return [live for live in found if live is not None and live.attrs["records"]]

    def _write(self, ctx: Context, zone_id: str, want: list[dict[str, Any]]) -> Live:
        sync_records(ctx, zone_id, want)
        result = self.read(ctx, RECORDS, zone_id)
        if result is None:
            raise CloudCallFailed(f"{RECORDS}: hosted zone {zone_id} vanished")
        return result

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        return self._write(ctx, attrs["zone_id"], attrs["records"])

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        return self._write(ctx, attrs["zone_id"], attrs["records"])

    def delete(self, ctx: Context, live: Live) -> None:
        """Removes every record (validation records too), so the zone can go."""
        if _get_zone(ctx, live.id) is not None:
            self._write(ctx, live.id, [])


def _parent_zone_id(ctx: Context, parent: str) -> str | None:
    zones = _zones_named(ctx, parent)
    return zones[0] if len(zones) == 1 else None


def _ns_record(ctx: Context, parent_id: str, name: str) -> dict[str, Any] | None:
    response = _client(ctx).list_resource_record_sets(
        HostedZoneId=parent_id, StartRecordName=name, StartRecordType="NS", MaxItems="1")
    for record in response["ResourceRecordSets"]:
        if fqdn(record["Name"]) == name and record["Type"] == "NS":
            return normalise({"name": name, "type": "NS", "ttl": record.get("TTL", RECORD_TTL),
                              "values": [v["Value"] for v in record["ResourceRecords"]]})
    return None


@register
class Delegation(ResourceType):
    """NS records for the site zone in the parent zone, when the parent zone is in this
    account (exactly one zone of that name); otherwise the parent's owner delegates, and this
    resource records "external". It is the site's only while it points at the site zone."""

    type = DELEGATION
    permissions = READ_PERMISSIONS + ("route53:ChangeResourceRecordSets",)
    replace_on = frozenset({"parent", "name"})  # another record: write it, remove the old

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(DELEGATION, self.type, {
            "parent": fqdn(site.cloud.dns_zone), "name": fqdn(site.domain),
            "name_servers": Ref(ZONE, "name_servers")})]

    def _site_zone(self, ctx: Context, name: str) -> Live | None:
        zone_id = _owned_zone_id(ctx, name)
        return REGISTRY[ZONE].read(ctx, ZONE, zone_id) if zone_id else None

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        parent, _, name = resource_id.partition("|")
        zone = self._site_zone(ctx, name)
        parent_id = _parent_zone_id(ctx, parent)
        if parent_id is None:
            # Not ours to write: it follows the site zone, so it never diffs; with the zone
            # gone there is nothing left of it.
            if zone is None:
                return None
            return Live(address, self.type, resource_id,
                        {"parent": parent, "name": name,
                         "name_servers": zone.outputs["name_servers"]},
                        zone.tags, {"delegated": False})
        record = _ns_record(ctx, parent_id, name)
        if record is None:
            return None
        owned = zone is not None and record["values"] == zone.outputs["name_servers"]
        return Live(address, self.type, resource_id,
                    {"parent": parent, "name": name, "name_servers": record["values"]},
                    zone.tags if owned and zone else {}, {"delegated": True})

    def discover(self, ctx: Context) -> list[Live]:
        found = []
        for zone in REGISTRY[ZONE].discover(ctx):
            name = zone.attrs["name"]
            parent = name.split(".", 1)[1]
            live = self.read(ctx, DELEGATION, f"{parent}|{name}")
            if live is not None and live.outputs["delegated"] and self.owned(ctx, live):
                found.append(live)
        return found

    def _upsert(self, ctx: Context, parent_id: str, attrs: Attrs) -> None:
        record = normalise({"name": attrs["name"], "type": "NS",
                            "values": attrs["name_servers"]})
        _change(ctx, parent_id, [{"Action": "UPSERT", "ResourceRecordSet": _record_set(record)}])

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        resource_id = f"{attrs['parent']}|{attrs['name']}"
        parent_id = _parent_zone_id(ctx, attrs["parent"])
        if parent_id is not None:
            existing = _ns_record(ctx, parent_id, attrs["name"])
            if existing is not None:
                current = self.read(ctx, address, resource_id)
                if current is None or not self.owned(ctx, current):
                    raise Refused(f"{attrs['parent']} already delegates {attrs['name']} to "
                                  "name servers that are not this site's zone",
                                  hint="remove that NS record, or use another site id")
            self._upsert(ctx, parent_id, attrs)
        live = self.read(ctx, address, resource_id)
        if live is None:
            raise CloudCallFailed(f"{address}: the NS record did not appear")
        return live

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        parent_id = _parent_zone_id(ctx, attrs["parent"])
        if parent_id is not None:
            self._upsert(ctx, parent_id, attrs)
        return self.read(ctx, live.address, live.id) or live

    def delete(self, ctx: Context, live: Live) -> None:
        parent_id = _parent_zone_id(ctx, live.attrs["parent"])
        record = _ns_record(ctx, parent_id, live.attrs["name"]) if parent_id else None
        if parent_id is not None and record is not None:
            _change(ctx, parent_id, [{"Action": "DELETE",
                                      "ResourceRecordSet": _record_set(record)}])
