"""The site's identity: a Cognito user pool, its groups, invited users and an app client per
public service.

The pool is the only Cognito resource that carries tags; groups, users and clients are found
and owned through it. Two Cognito habits shape the code: UpdateUserPool and
UpdateUserPoolClient reset every setting they are not given, so one function builds the full
settings for both create and update; and CreateUserPool cannot switch on MFA with a software
token only (it demands SMS), so MFA is set afterwards with SetUserPoolMfaConfig, as Terraform
does.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from provision.aws.resource import (
    Attrs,
    Context,
    Desired,
    Live,
    Ref,
    ResourceType,
    register,
)
from provision.aws.tags import error_code, gone_is_none, is_owned, require_owned
from provision.errors import CloudCallFailed
from provision.site.model import Site

POOL = "cognito.pool"
POOL_ID = Ref(POOL, "id")
GONE = frozenset({"ResourceNotFoundException", "UserNotFoundException"})
MFA_MODES = {"required": "ON", "optional": "OPTIONAL", "off": "OFF"}
POOL_READ = ("cognito-idp:ListUserPools", "cognito-idp:DescribeUserPool")  # children's owner
MFA_SETTINGS = frozenset({"mfa", "software_token_mfa"})  # set by SetUserPoolMfaConfig

# NCSC password guidance: length over complexity (12+), no composition rules, no expiry
# (Cognito has none). Temporary passwords come from Cognito's invitation, never from us.
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireUppercase": False,
    "RequireLowercase": False,
    "RequireNumbers": False,
    "RequireSymbols": False,
    "TemporaryPasswordValidityDays": 7,
}
OAUTH_SCOPES = ["email", "openid"]


def pool_name(site_id: str) -> str:
    return f"provision-{site_id}"


def split_id(resource_id: str) -> tuple[str, str]:
    """A pool child's id, "<pool id>/<key>", in its two parts."""
    pool_id, _, name = resource_id.partition("/")
    return pool_id, name


def _client(ctx: Context) -> Any:
    return ctx.aws.client("cognito-idp")


def _owned_pools(ctx: Context) -> list[dict[str, Any]]:
    """The site's pools (normally one), described. Listed by name first, so that an account
    holding many sites' pools costs one describe per look-alike, not one per pool."""
    cognito = _client(ctx)
    wanted_name = pool_name(ctx.site_id)
    pools = []
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for summary in page["UserPools"]:
            if summary["Name"] != wanted_name:
                continue
            pool = _describe_pool(cognito, summary["Id"])
            if pool is not None and is_owned(ctx, pool.get("UserPoolTags", {})):
                pools.append(pool)
    return pools


# Pool id -> its tags, as last described. Children (hundreds of users) are owned through their
# pool, and Cognito allows far fewer DescribeUserPool calls a second than AdminGetUser; a
# pool's id is never reused and its site tag never changes, so one describe serves them all.
_POOL_TAGS: dict[str, dict[str, str]] = {}


def _describe_pool(cognito: Any, pool_id: str) -> dict[str, Any] | None:
    try:
        pool: dict[str, Any] = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    except ClientError as exc:
        if error_code(exc) in GONE:
            _POOL_TAGS.pop(pool_id, None)
            return None
        raise
    _POOL_TAGS[pool_id] = dict(pool.get("UserPoolTags", {}))
    return pool


def _pool_tags(ctx: Context, pool_id: str) -> dict[str, str] | None:
    """The pool's tags (None when it is gone), described at most once per pool."""
    if pool_id not in _POOL_TAGS and _describe_pool(_client(ctx), pool_id) is None:
        return None
    return dict(_POOL_TAGS[pool_id])


@register
class UserPool(ResourceType):
    type = "cognito.pool"
    permissions = POOL_READ + (
        "cognito-idp:CreateUserPool", "cognito-idp:UpdateUserPool",
        "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:SetUserPoolMfaConfig",
        "cognito-idp:DeleteUserPool", "cognito-idp:TagResource",
    )
    # Fixed at creation: changing them means a new pool, and a new pool loses every user.
    replace_on = frozenset({"name", "username_attributes"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(POOL, self.type, {
            "name": pool_name(site.site.id),
            "username_attributes": ["email"],
            "mfa": MFA_MODES[site.identity.mfa],
            "software_token_mfa": True,
            "password_policy": dict(PASSWORD_POLICY),
            "deletion_protection": "ACTIVE",
            # Advanced security (threat protection) needs the Plus feature plan.
            "tier": "PLUS",
            "advanced_security": "ENFORCED",
            "admin_create_user_only": True,
            "auto_verified_attributes": ["email"],
        })]

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        cognito = _client(ctx)
        pool = _describe_pool(cognito, resource_id)
        if pool is None:
            return None
        return self._live(cognito, address, pool)

    def _live(self, cognito: Any, address: str, pool: dict[str, Any]) -> Live:
        mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool["Id"])
        policy = pool.get("Policies", {}).get("PasswordPolicy", {})
        attrs: Attrs = {
            "name": pool["Name"],
            "username_attributes": sorted(pool.get("UsernameAttributes", [])),
            "mfa": mfa.get("MfaConfiguration", "OFF"),
            "software_token_mfa": mfa.get("SoftwareTokenMfaConfiguration", {}).get(
                "Enabled", False),
            "password_policy": {key: policy.get(key) for key in PASSWORD_POLICY},
            "deletion_protection": pool.get("DeletionProtection", "INACTIVE"),
            "tier": pool.get("UserPoolTier", "ESSENTIALS"),
            "advanced_security": pool.get("UserPoolAddOns", {}).get(
                "AdvancedSecurityMode", "OFF"),
            "admin_create_user_only": pool.get("AdminCreateUserConfig", {}).get(
                "AllowAdminCreateUserOnly", False),
            "auto_verified_attributes": sorted(pool.get("AutoVerifiedAttributes", [])),
        }
        return Live(address, self.type, pool["Id"], attrs, dict(pool.get("UserPoolTags", {})),
                    {"id": pool["Id"], "arn": pool["Arn"]})

    def discover(self, ctx: Context) -> list[Live]:
        cognito = _client(ctx)
        return [self._live(cognito, POOL, pool) for pool in _owned_pools(ctx)]

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        cognito = _client(ctx)
        owned = _owned_pools(ctx)
        if owned:
            current = self._live(cognito, address, owned[0])
        else:
            # MFA off here, on in _converge: CreateUserPool insists on SMS for MFA "ON".
            pool = cognito.create_user_pool(
                PoolName=attrs["name"], UsernameAttributes=attrs["username_attributes"],
                UsernameConfiguration={"CaseSensitive": False}, UserPoolTags=dict(ctx.tags),
                MfaConfiguration="OFF", **_pool_settings(attrs))["UserPool"]
            current = self._live(cognito, address, pool)
        return self._converge(ctx, current, attrs)

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        require_owned(ctx, live.tags, f"user pool {live.id}")
        return self._converge(ctx, live, {**live.attrs, **attrs})

    def _converge(self, ctx: Context, current: Live, attrs: Attrs) -> Live:
        """Writes only the settings that differ. UpdateUserPool resets whatever it is not
        given, so when it is needed it gets every mutable setting."""
        cognito = _client(ctx)
        differs = set(self.diff(attrs, current.attrs))
        if differs & MFA_SETTINGS:
            cognito.set_user_pool_mfa_config(
                UserPoolId=current.id, MfaConfiguration=attrs["mfa"],
                SoftwareTokenMfaConfiguration={"Enabled": attrs["software_token_mfa"]})
        if differs - MFA_SETTINGS - self.replace_on:
            cognito.update_user_pool(UserPoolId=current.id, MfaConfiguration=attrs["mfa"],
                                     UserPoolTags=dict(ctx.tags), **_pool_settings(attrs))
        if not differs:
            return current
        live = self.read(ctx, current.address, current.id)
        if live is None:
            raise CloudCallFailed(f"user pool {current.id} vanished while it was being set up")
        return live

    def delete(self, ctx: Context, live: Live) -> None:
        cognito = _client(ctx)
        pool = _describe_pool(cognito, live.id)
        if pool is None:
            return
        # Checked on the pool as it is now, not as state remembers it: deletion protection
        # is only ever lifted from a pool carrying this site's tags.
        require_owned(ctx, pool.get("UserPoolTags", {}), f"user pool {live.id}")
        if pool.get("DeletionProtection") == "ACTIVE":
            current = self._live(cognito, live.address, pool)
            self._converge(ctx, current, {**current.attrs, "deletion_protection": "INACTIVE"})
        gone_is_none(GONE, cognito.delete_user_pool, UserPoolId=live.id)


def _pool_settings(attrs: Attrs) -> dict[str, Any]:
    """The settings CreateUserPool and UpdateUserPool share, from attrs."""
    return {
        "Policies": {"PasswordPolicy": dict(attrs["password_policy"])},
        "DeletionProtection": attrs["deletion_protection"],
        "UserPoolTier": attrs["tier"],
        "UserPoolAddOns": {"AdvancedSecurityMode": attrs["advanced_security"]},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": attrs["admin_create_user_only"]},
        "AutoVerifiedAttributes": attrs["auto_verified_attributes"],
    }


class PoolChild(ResourceType):
    """A resource that lives inside the site's pool and cannot be tagged: it is owned because
    the pool is, so its `Live.tags` are the pool's, and it is discovered by walking the site's
    pools. Ids are "<pool id>/<key>" (pool ids never contain a slash)."""

    kind: ClassVar[str]  # the word in the address, e.g. "group" for cognito.group[...]

    def address_of(self, key: str) -> str:
        return f"cognito.{self.kind}[{key}]"

    def discover(self, ctx: Context) -> list[Live]:
        found = []
        for pool in _owned_pools(ctx):
            for live in self.in_pool(ctx, pool["Id"]):
                live.tags = dict(pool.get("UserPoolTags", {}))
                found.append(live)
        return found

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        pool_id, key = split_id(resource_id)
        tags = _pool_tags(ctx, pool_id)
        live = None if tags is None else self.read_in_pool(ctx, address, pool_id, key)
        if live is not None and tags is not None:
            live.tags = tags
        return live

    def reread(self, ctx: Context, address: str, resource_id: str) -> Live:
        """The resource as it is after a change, with its pool's tags."""
        live = self.read(ctx, address, resource_id)
        if live is None:
            raise CloudCallFailed(f"{address} ({resource_id}) vanished while it was being set up")
        return live

    @abstractmethod
    def read_in_pool(self, ctx: Context, address: str, pool_id: str, key: str) -> Live | None:
        """The resource with this key (name, email or client id) in the pool, if any."""

    @abstractmethod
    def in_pool(self, ctx: Context, pool_id: str) -> Iterator[Live]:
        """Every resource of this kind in one pool."""


@register
class Group(PoolChild):
    type = "cognito.group"
    kind = "group"
    permissions = POOL_READ + (
        "cognito-idp:GetGroup", "cognito-idp:ListGroups", "cognito-idp:CreateGroup",
        "cognito-idp:UpdateGroup", "cognito-idp:DeleteGroup",
    )
    replace_on = frozenset({"pool_id", "name"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(self.address_of(group), self.type, {
            "pool_id": POOL_ID, "name": group,
            "description": f"{group} at {site.site.name}"})
            for group in site.identity.groups]

    def _live(self, address: str, group: dict[str, Any]) -> Live:
        pool_id = group["UserPoolId"]
        return Live(address, self.type, f"{pool_id}/{group['GroupName']}",
                    {"pool_id": pool_id, "name": group["GroupName"],
                     "description": group.get("Description", "")},
                    outputs={"name": group["GroupName"]})

    def read_in_pool(self, ctx: Context, address: str, pool_id: str, name: str) -> Live | None:
        response = gone_is_none(GONE, _client(ctx).get_group, UserPoolId=pool_id, GroupName=name)
        return None if response is None else self._live(address, response["Group"])

    def in_pool(self, ctx: Context, pool_id: str) -> Iterator[Live]:
        for page in _client(ctx).get_paginator("list_groups").paginate(UserPoolId=pool_id):
            for group in page["Groups"]:
                yield self._live(self.address_of(group["GroupName"]), group)

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        cognito = _client(ctx)
        try:
            group = cognito.create_group(UserPoolId=attrs["pool_id"], GroupName=attrs["name"],
                                         Description=attrs["description"])["Group"]
        except ClientError as exc:
            if error_code(exc) != "GroupExistsException":
                raise
            # Made by a run that died before saving state: adopt it, as wanted now.
            group = cognito.update_group(UserPoolId=attrs["pool_id"], GroupName=attrs["name"],
                                         Description=attrs["description"])["Group"]
        return self.reread(ctx, address, f"{group['UserPoolId']}/{group['GroupName']}")

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        _client(ctx).update_group(UserPoolId=live.attrs["pool_id"], GroupName=live.attrs["name"],
                                  Description=attrs["description"])
        return self.reread(ctx, live.address, live.id)

    def delete(self, ctx: Context, live: Live) -> None:
        gone_is_none(GONE, _client(ctx).delete_group, UserPoolId=live.attrs["pool_id"],
                      GroupName=live.attrs["name"])


@register
class User(PoolChild):
    """A member of staff, invited by email: Cognito sends the temporary password, so no
    password ever passes through provision."""

    type = "cognito.user"
    kind = "user"
    permissions = POOL_READ + (
        "cognito-idp:AdminGetUser", "cognito-idp:ListUsers", "cognito-idp:ListGroups",
        "cognito-idp:ListUsersInGroup", "cognito-idp:AdminListGroupsForUser",
        "cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes",
        "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup",
        "cognito-idp:AdminDisableUser", "cognito-idp:AdminDeleteUser",
    )
    replace_on = frozenset({"pool_id", "email"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(self.address_of(user.email), self.type, {
            "pool_id": POOL_ID, "email": user.email, "name": user.name,
            "groups": sorted(set(user.groups))},
            depends_on=tuple(f"cognito.group[{group}]" for group in sorted(set(user.groups))))
            for user in site.identity.users]

    def _live(self, address: str, pool_id: str, email: str, attributes: list[dict[str, str]],
              groups: list[str], enabled: bool) -> Live:
        name = next((a["Value"] for a in attributes if a["Name"] == "name"), "")
        return Live(address, self.type, f"{pool_id}/{email}",
                    {"pool_id": pool_id, "email": email, "name": name,
                     "groups": sorted(groups)},
                    outputs={"username": email, "enabled": enabled})

    def read_in_pool(self, ctx: Context, address: str, pool_id: str, email: str) -> Live | None:
        cognito = _client(ctx)
        user = gone_is_none(GONE, cognito.admin_get_user, UserPoolId=pool_id, Username=email)
        if user is None:
            return None
        return self._live(address, pool_id, email, user["UserAttributes"],
                          self._groups_of(cognito, pool_id, email), user["Enabled"])

    def _groups_of(self, cognito: Any, pool_id: str, email: str) -> list[str]:
        pages = cognito.get_paginator("admin_list_groups_for_user").paginate(
            UserPoolId=pool_id, Username=email)
        return [group["GroupName"] for page in pages for group in page["Groups"]]

    def in_pool(self, ctx: Context, pool_id: str) -> Iterator[Live]:
        # Memberships by group (few groups) rather than by user (many users).
        cognito = _client(ctx)
        groups_by_user: dict[str, list[str]] = {}
        for page in cognito.get_paginator("list_groups").paginate(UserPoolId=pool_id):
            for group in page["Groups"]:
                for members in cognito.get_paginator("list_users_in_group").paginate(
                        UserPoolId=pool_id, GroupName=group["GroupName"]):
                    for member in members["Users"]:
                        groups_by_user.setdefault(member["Username"], []).append(
                            group["GroupName"])
        for page in cognito.get_paginator("list_users").paginate(UserPoolId=pool_id):
            for user in page["Users"]:
                email = next((a["Value"] for a in user["Attributes"] if a["Name"] == "email"),
                             None)
                if email is not None:
                    yield self._live(self.address_of(email), pool_id, email, user["Attributes"],
                                     groups_by_user.get(user["Username"], []), user["Enabled"])

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        cognito = _client(ctx)
        pool_id, email = attrs["pool_id"], attrs["email"]
        try:
            cognito.admin_create_user(
                UserPoolId=pool_id, Username=email, DesiredDeliveryMediums=["EMAIL"],
                UserAttributes=[{"Name": "email", "Value": email},
                                {"Name": "email_verified", "Value": "true"},
                                {"Name": "name", "Value": attrs["name"]}])
        except ClientError as exc:
            if error_code(exc) != "UsernameExistsException":
                raise
            self._set_name(cognito, pool_id, email, attrs["name"])
        self._set_groups(cognito, pool_id, email, attrs["groups"])
        return self.reread(ctx, address, f"{pool_id}/{email}")

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        cognito = _client(ctx)
        pool_id, email = live.attrs["pool_id"], live.attrs["email"]
        if "name" in changed:
            self._set_name(cognito, pool_id, email, attrs["name"])
        if "groups" in changed:
            self._set_groups(cognito, pool_id, email, attrs["groups"])
        return self.reread(ctx, live.address, live.id)

    def _set_name(self, cognito: Any, pool_id: str, email: str, name: str) -> None:
        cognito.admin_update_user_attributes(UserPoolId=pool_id, Username=email,
                                             UserAttributes=[{"Name": "name", "Value": name}])

    def _set_groups(self, cognito: Any, pool_id: str, email: str, groups: list[str]) -> None:
        """Adds and removes memberships so the user is in exactly `groups`."""
        current = set(self._groups_of(cognito, pool_id, email))
        for group in sorted(set(groups) - current):
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email,
                                            GroupName=group)
        for group in sorted(current - set(groups)):
            cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username=email,
                                                 GroupName=group)

    def retire(self, ctx: Context, live: Live) -> bool:
        """Teardown disables every user before anything else, so no one can sign in to a
        site that is being taken apart."""
        pool_id, email = split_id(live.id)
        return gone_is_none(GONE, _client(ctx).admin_disable_user, UserPoolId=pool_id,
                             Username=email) is not None

    def delete(self, ctx: Context, live: Live) -> None:
        pool_id, email = split_id(live.id)
        gone_is_none(GONE, _client(ctx).admin_delete_user, UserPoolId=pool_id, Username=email)


@register
class AppClient(PoolChild):
    """Sign-in for one public service: authorization-code flow, back to the service's own
    hostname. Cognito generates the client secret; it never leaves AWS through provision."""

    type = "cognito.client"
    kind = "client"
    permissions = POOL_READ + (
        "cognito-idp:ListUserPoolClients", "cognito-idp:DescribeUserPoolClient",
        "cognito-idp:CreateUserPoolClient", "cognito-idp:UpdateUserPoolClient",
        "cognito-idp:DeleteUserPoolClient",
    )
    replace_on = frozenset({"pool_id", "name", "generate_secret"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(self.address_of(service.name), self.type, {
            "pool_id": POOL_ID,
            "name": service.name,
            "callback_urls": [f"https://{service.name}.{site.domain}/oauth2/idpresponse"],
            "allowed_oauth_flows": ["code"],
            "allowed_oauth_scopes": list(OAUTH_SCOPES),
            "supported_identity_providers": ["COGNITO"],
            "prevent_user_existence_errors": "ENABLED",
            "generate_secret": True,
        }) for service in site.services
            if service.exposure == "public" and service.sign_in != "none"]

    def _live(self, address: str, client: dict[str, Any]) -> Live:
        # Built field by field: the response carries ClientSecret, which must go no further.
        pool_id, client_id = client["UserPoolId"], client["ClientId"]
        return Live(address, self.type, f"{pool_id}/{client_id}", {
            "pool_id": pool_id,
            "name": client["ClientName"],
            "callback_urls": sorted(client.get("CallbackURLs", [])),
            "allowed_oauth_flows": sorted(client.get("AllowedOAuthFlows", [])),
            "allowed_oauth_scopes": sorted(client.get("AllowedOAuthScopes", [])),
            "supported_identity_providers": sorted(client.get("SupportedIdentityProviders", [])),
            "prevent_user_existence_errors": client.get("PreventUserExistenceErrors", "LEGACY"),
            "generate_secret": "ClientSecret" in client,
        }, outputs={"client_id": client_id, "pool_id": pool_id})

    def read_in_pool(self, ctx: Context, address: str, pool_id: str,
                     client_id: str) -> Live | None:
        response = gone_is_none(GONE, _client(ctx).describe_user_pool_client,
                                 UserPoolId=pool_id, ClientId=client_id)
        return None if response is None else self._live(address, response["UserPoolClient"])

    def in_pool(self, ctx: Context, pool_id: str) -> Iterator[Live]:
        for summary in self._summaries(ctx, pool_id):
            live = self.read_in_pool(ctx, self.address_of(summary["ClientName"]), pool_id,
                                     summary["ClientId"])
            if live is not None:
                yield live

    def _summaries(self, ctx: Context, pool_id: str) -> Iterator[dict[str, Any]]:
        pages = _client(ctx).get_paginator("list_user_pool_clients").paginate(
            UserPoolId=pool_id, MaxResults=60)
        for page in pages:
            yield from page["UserPoolClients"]

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        _check_code_flow(address, attrs)
        cognito = _client(ctx)
        pool_id = attrs["pool_id"]
        existing = next((s for s in self._summaries(ctx, pool_id)
                         if s["ClientName"] == attrs["name"]), None)
        if existing is None:
            client = cognito.create_user_pool_client(
                UserPoolId=pool_id, ClientName=attrs["name"],
                GenerateSecret=attrs["generate_secret"], **_client_settings(attrs),
            )["UserPoolClient"]
        else:
            client = cognito.update_user_pool_client(
                UserPoolId=pool_id, ClientId=existing["ClientId"], ClientName=attrs["name"],
                **_client_settings(attrs))["UserPoolClient"]
        return self.reread(ctx, address, f"{pool_id}/{client['ClientId']}")

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        _check_code_flow(live.address, attrs)
        pool_id, client_id = split_id(live.id)
        _client(ctx).update_user_pool_client(
            UserPoolId=pool_id, ClientId=client_id, ClientName=live.attrs["name"],
            **_client_settings(attrs))
        return self.reread(ctx, live.address, live.id)

    def delete(self, ctx: Context, live: Live) -> None:
        pool_id, client_id = split_id(live.id)
        gone_is_none(GONE, _client(ctx).delete_user_pool_client, UserPoolId=pool_id,
                      ClientId=client_id)


def _client_settings(attrs: Attrs) -> dict[str, Any]:
    """Everything CreateUserPoolClient and UpdateUserPoolClient share (the update resets
    whatever it is not given)."""
    return {
        "CallbackURLs": attrs["callback_urls"],
        "AllowedOAuthFlows": attrs["allowed_oauth_flows"],
        "AllowedOAuthScopes": attrs["allowed_oauth_scopes"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "SupportedIdentityProviders": attrs["supported_identity_providers"],
        "PreventUserExistenceErrors": attrs["prevent_user_existence_errors"],
    }


def _check_code_flow(address: str, attrs: Attrs) -> None:
    """AWS refuses a code-flow client without an https callback; the emulator does not, so
    the rule is checked here, before any call."""
    if "code" not in attrs["allowed_oauth_flows"]:
        return
    urls = attrs["callback_urls"]
    if not urls or any(not url.startswith("https://") for url in urls):
        raise CloudCallFailed(
            f"{address}: the authorization-code flow needs https callback URLs, got {urls}",
            hint="every public service signs in at https://<service>.<site domain>")
