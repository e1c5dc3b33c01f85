"""The site's secrets in Secrets Manager: a passphrase per protected Wi-Fi network and the
gateway's admin credential.

Values are generated here on create, go straight into the CreateSecret call and nowhere
else: not into attrs, outputs, events, exceptions or logs. The gateway role reads them from
Secrets Manager at run time. Update never touches the value (rotation is out of scope), and
delete schedules deletion with a recovery window, so a mistaken teardown can be undone.
"""

from __future__ import annotations

import secrets
from typing import Any

from provision.aws.resource import (
    TAG_DELETED_FROM,
    TAG_EXPIRES,
    TAG_SITE,
    Attrs,
    Context,
    Desired,
    Live,
    ResourceType,
    register,
)
from provision.aws.tags import gone_is_none, is_owned, require_owned, tag_dict, tag_list
from provision.errors import CloudCallFailed
from provision.site.model import Site, WifiSecurity

RECOVERY_WINDOW_DAYS = 30

# No look-alike characters (0/O, 1/l/I): a Wi-Fi passphrase is read off a card and typed on
# a phone. Six groups of five from 31 symbols is about 148 bits.
PASSPHRASE_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
PASSPHRASE_GROUPS = 6
PASSPHRASE_GROUP_LENGTH = 5


def generate(generator: str) -> str:
    """A new secret value; it must be passed straight to AWS and never kept."""
    if generator == "passphrase":
        return "-".join(
            "".join(secrets.choice(PASSPHRASE_ALPHABET) for _ in range(PASSPHRASE_GROUP_LENGTH))
            for _ in range(PASSPHRASE_GROUPS))
    if generator == "password":
        return secrets.token_urlsafe(32)
    raise ValueError(f"unknown secret generator {generator!r}")


def _client(ctx: Context) -> Any:
    return ctx.aws.client("secretsmanager")


@register
class Secret(ResourceType):
    type = "secrets.secret"
    permissions = (
        "secretsmanager:ListSecrets", "secretsmanager:DescribeSecret",
        "secretsmanager:CreateSecret", "secretsmanager:UpdateSecret",
        "secretsmanager:RestoreSecret", "secretsmanager:TagResource",
        "secretsmanager:UntagResource", "secretsmanager:DeleteSecret",
    )
    replace_on = frozenset({"name"})
    write_only = frozenset({"generator"})  # how the value is made; AWS keeps only the value

    def wanted(self, site: Site) -> list[Desired]:
        # A segment naming its own passphrase_secret brings its own: not made here.
        wanted = [
            Desired(f"secrets.secret[wifi/{segment.name}]", self.type, {
                "name": site.wifi_secret(segment),
                "description": f"Wi-Fi passphrase for {segment.wifi.ssid} at {site.site.name}",
                "generator": "passphrase"})
            for segment in site.network.segments
            if segment.wifi is not None and segment.wifi.security is not WifiSecurity.OPEN
            and segment.wifi.passphrase_secret is None]
        wanted.append(Desired("secrets.secret[gateway-admin]", self.type, {
            "name": site.secret_name("gateway-admin"),
            "description": f"Gateway admin credential at {site.site.name}",
            "generator": "password"}))
        return wanted

    def _live(self, address: str, described: dict[str, Any]) -> Live:
        return Live(address, self.type, described["ARN"],
                    {"name": described["Name"],
                     "description": described.get("Description", "")},
                    tag_dict(described.get("Tags", [])),
                    {"arn": described["ARN"], "name": described["Name"]})

    def _describe(self, ctx: Context, secret_id: str) -> dict[str, Any] | None:
        described: dict[str, Any] | None = gone_is_none(
            {"ResourceNotFoundException"}, _client(ctx).describe_secret, SecretId=secret_id)
        return described

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        described = self._describe(ctx, resource_id)
        # A secret scheduled for deletion is gone as far as the site is concerned.
        if described is None or "DeletedDate" in described:
            return None
        return self._live(address, described)

    def discover(self, ctx: Context) -> list[Live]:
        """ListSecrets returns tags with each secret and leaves out those scheduled for
        deletion; its tag filters match key and value separately, so the pair is checked
        here."""
        pages = _client(ctx).get_paginator("list_secrets").paginate(Filters=[
            {"Key": "tag-key", "Values": ["provision:site"]},
            {"Key": "tag-value", "Values": [ctx.site_id]}])
        found = []
        for page in pages:
            for listed in page["SecretList"]:
                if tag_dict(listed.get("Tags", [])).get("provision:site") == ctx.site_id:
                    found.append(self._live(self._address_of(ctx, listed["Name"]), listed))
        return found

    @staticmethod
    def _address_of(ctx: Context, name: str) -> str:
        """The purpose part of a name made by Site.secret_name, e.g. "wifi/clinical"."""
        prefix = f"provision/{ctx.site_id}/"
        return f"secrets.secret[{name.removeprefix(prefix)}]"

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        client = _client(ctx)
        existing = self._describe(ctx, attrs["name"])
        if existing is None:
            created = client.create_secret(
                Name=attrs["name"], Description=attrs["description"], Tags=tag_list(ctx.tags),
                SecretString=generate(attrs["generator"]))
            described = self._describe(ctx, created["ARN"])
            if described is None:
                raise CloudCallFailed(f"secret {attrs['name']} vanished right after creation")
            return self._live(address, described)
        # Ours from a run that died before saving state, or scheduled for deletion by an
        # earlier teardown: adopt it, value and all. Never someone else's.
        tags = tag_dict(existing.get("Tags", []))
        require_owned(ctx, tags, f"secret {attrs['name']}", deleted_ok=True)
        if "DeletedDate" in existing:
            client.restore_secret(SecretId=existing["ARN"])
        if TAG_DELETED_FROM in tags or tags.get(TAG_SITE) != ctx.site_id:
            client.tag_resource(SecretId=existing["ARN"], Tags=tag_list(ctx.tags))
            client.untag_resource(SecretId=existing["ARN"], TagKeys=[TAG_DELETED_FROM])
        live = self.read(ctx, address, existing["ARN"])
        if live is None:
            raise CloudCallFailed(f"secret {attrs['name']} vanished while being restored")
        return self.update(ctx, live, attrs, frozenset(self.diff(attrs, live.attrs)))

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        """Only the description: the value is never regenerated."""
        require_owned(ctx, live.tags, f"secret {live.id}")
        if "description" in changed:
            _client(ctx).update_secret(SecretId=live.id, Description=attrs["description"])
        updated = self.read(ctx, live.address, live.id)
        if updated is None:
            raise CloudCallFailed(f"secret {live.id} vanished during update")
        return updated

    def delete(self, ctx: Context, live: Live) -> None:
        described = self._describe(ctx, live.id)
        if described is None or "DeletedDate" in described:
            return
        require_owned(ctx, tag_dict(described.get("Tags", [])), f"secret {live.id}",
                      deleted_ok=True)
        client = _client(ctx)
        # Marked as the site's deleted secret before it goes into its recovery window: a tag
        # sweep then finds nothing of the site, and a re-created site can still restore it.
        client.tag_resource(SecretId=live.id,
                            Tags=[{"Key": TAG_DELETED_FROM, "Value": ctx.site_id}])
        client.untag_resource(SecretId=live.id, TagKeys=[TAG_SITE, TAG_EXPIRES])
        client.delete_secret(SecretId=live.id, RecoveryWindowInDays=RECOVERY_WINDOW_DAYS)

    def owned(self, ctx: Context, live: Live) -> bool:
        """A teardown killed between re-tagging and scheduling the deletion still finishes."""
        return is_owned(ctx, live.tags, deleted_ok=True)
