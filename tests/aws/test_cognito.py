"""Cognito: the site's pool, groups, invited users and app clients, against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from provision.aws.resource import REGISTRY, Context, Live
from provision.aws.resources.cognito import PASSWORD_POLICY, AppClient, Group, User, UserPool
from provision.errors import CloudCallFailed, Refused
from provision.site.model import Site
from tests.aws.conftest import ActionLog, assert_converged, exercise, resolve, serialized, wanted

POOL_TYPE = REGISTRY["cognito.pool"]
GROUP_TYPE = REGISTRY["cognito.group"]
USER_TYPE = REGISTRY["cognito.user"]
CLIENT_TYPE = REGISTRY["cognito.client"]
CLINICIAN = "cognito.user[a.clinician@example.nhs.uk]"


def cognito(ctx: Context) -> Any:
    return ctx.aws.client("cognito-idp")


def make_pool(ctx: Context, site: Site) -> Live:
    return POOL_TYPE.create(ctx, "cognito.pool", wanted(POOL_TYPE, site, "cognito.pool").attrs)


def make_groups(ctx: Context, site: Site, pool: Live) -> list[Live]:
    return [GROUP_TYPE.create(ctx, d.address, resolve(d.attrs, pool))
            for d in GROUP_TYPE.wanted(site)]


def pool_count(ctx: Context, name: str) -> int:
    return sum(p["Name"] == name for p in cognito(ctx).list_user_pools(MaxResults=60)["UserPools"])


def test_the_field_hospital_wants_a_pool_its_groups_users_and_one_client(site: Site) -> None:
    addresses = {d.address for rt in (POOL_TYPE, GROUP_TYPE, USER_TYPE, CLIENT_TYPE)
                 for d in rt.wanted(site)}
    assert addresses == {
        "cognito.pool",
        "cognito.group[clinicians]", "cognito.group[nurses]", "cognito.group[admin]",
        "cognito.group[it-support]",
        CLINICIAN, "cognito.user[b.nurse@example.nhs.uk]",
        "cognito.user[c.admin@example.nhs.uk]",
        "cognito.client[bed-board]",  # ehr is a SaaS service: no sign-in through the site
    }
    assert isinstance(POOL_TYPE, UserPool) and isinstance(CLIENT_TYPE, AppClient)
    admin = wanted(USER_TYPE, site, "cognito.user[c.admin@example.nhs.uk]")
    assert admin.depends_on == ("cognito.group[admin]", "cognito.group[it-support]")


def test_pool_is_created_as_policy_requires_and_reads_back_the_same(
        ctx: Context, site: Site) -> None:
    desired = wanted(POOL_TYPE, site, "cognito.pool").attrs
    live = assert_converged(POOL_TYPE, desired, make_pool(ctx, site))
    assert_converged(POOL_TYPE, desired, POOL_TYPE.read(ctx, "cognito.pool", live.id))

    # What AWS holds, straight from the API (the emulator does not enforce it, so check it).
    pool = cognito(ctx).describe_user_pool(UserPoolId=live.id)["UserPool"]
    assert pool["Policies"]["PasswordPolicy"] == PASSWORD_POLICY
    assert PASSWORD_POLICY["MinimumLength"] >= 12
    assert pool["DeletionProtection"] == "ACTIVE"
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UserPoolTags"]["provision:site"] == "nightingale-north"
    mfa = cognito(ctx).get_user_pool_mfa_config(UserPoolId=live.id)
    assert mfa["MfaConfiguration"] == "ON"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert live.outputs == {"id": live.id, "arn": pool["Arn"]}
    assert POOL_TYPE.replace_on >= {"name", "username_attributes"}


def test_creating_the_pool_again_adopts_it(ctx: Context, site: Site) -> None:
    first = make_pool(ctx, site)
    second = make_pool(ctx, site)
    assert second.id == first.id
    assert pool_count(ctx, "provision-nightingale-north") == 1


def test_update_changes_only_what_changed_and_keeps_mfa_on(ctx: Context, site: Site) -> None:
    desired = wanted(POOL_TYPE, site, "cognito.pool").attrs
    live = make_pool(ctx, site)
    changed = {**desired, "password_policy": {**PASSWORD_POLICY, "MinimumLength": 15}}
    assert set(POOL_TYPE.diff(changed, live.attrs)) == {"password_policy"}
    updated = POOL_TYPE.update(ctx, live, changed, frozenset({"password_policy"}))
    assert updated.attrs["password_policy"]["MinimumLength"] == 15
    # UpdateUserPool resets what it is not given: every other mutable setting must survive.
    # (Not username_attributes: the emulator's UpdateUserPool forgets them, AWS cannot.)
    untouched = set(live.attrs) - {"password_policy", "username_attributes"}
    assert {k: updated.attrs[k] for k in untouched} == {k: live.attrs[k] for k in untouched}
    assert updated.tags == live.tags


def test_untagged_look_alike_pool_is_never_found_adopted_changed_or_deleted(
        ctx: Context, other_ctx: Context, site: Site) -> None:
    look_alike = cognito(ctx).create_user_pool(
        PoolName="provision-nightingale-north", DeletionProtection="ACTIVE")["UserPool"]
    other_sites = cognito(ctx).create_user_pool(
        PoolName="provision-nightingale-north", UserPoolTags=dict(other_ctx.tags))["UserPool"]
    assert POOL_TYPE.discover(ctx) == []

    ours = make_pool(ctx, site)
    assert ours.id not in (look_alike["Id"], other_sites["Id"])
    assert [live.id for live in POOL_TYPE.discover(ctx)] == [ours.id]

    stranger = Live("cognito.pool", "cognito.pool", look_alike["Id"], {})
    with pytest.raises(Refused):
        POOL_TYPE.update(ctx, stranger, wanted(POOL_TYPE, site, "cognito.pool").attrs,
                         frozenset({"password_policy"}))
    with pytest.raises(Refused):
        POOL_TYPE.delete(ctx, stranger)
    still = cognito(ctx).describe_user_pool(UserPoolId=look_alike["Id"])["UserPool"]
    assert still["DeletionProtection"] == "ACTIVE"


def test_delete_lifts_deletion_protection_and_is_idempotent(ctx: Context, site: Site) -> None:
    live = make_pool(ctx, site)
    POOL_TYPE.delete(ctx, live)
    assert POOL_TYPE.read(ctx, "cognito.pool", live.id) is None
    POOL_TYPE.delete(ctx, live)


def test_groups_create_adopt_update_discover_delete(ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    desired = resolve(wanted(GROUP_TYPE, site, "cognito.group[nurses]").attrs, pool)
    live = assert_converged(GROUP_TYPE, desired,
                            GROUP_TYPE.create(ctx, "cognito.group[nurses]", desired))
    again = GROUP_TYPE.create(ctx, "cognito.group[nurses]", desired)
    assert again.id == live.id
    assert [g["GroupName"] for g in cognito(ctx).list_groups(UserPoolId=pool.id)["Groups"]] == [
        "nurses"]

    changed = {**desired, "description": "Ward nurses"}
    assert set(GROUP_TYPE.diff(changed, live.attrs)) == {"description"}
    updated = GROUP_TYPE.update(ctx, live, changed, frozenset({"description"}))
    assert_converged(GROUP_TYPE, changed, GROUP_TYPE.read(ctx, updated.address, updated.id))

    assert [g.address for g in GROUP_TYPE.discover(ctx)] == ["cognito.group[nurses]"]
    # Groups cannot be tagged: they are owned through the pool, whose tags they carry.
    assert live.tags == pool.tags and GROUP_TYPE.owned(ctx, live)
    assert all(GROUP_TYPE.owned(ctx, g) for g in GROUP_TYPE.discover(ctx))
    GROUP_TYPE.delete(ctx, live)
    assert GROUP_TYPE.read(ctx, live.address, live.id) is None
    GROUP_TYPE.delete(ctx, live)


def test_children_of_an_untagged_look_alike_pool_are_neither_found_nor_owned(
        ctx: Context, site: Site) -> None:
    pool_id = cognito(ctx).create_user_pool(PoolName="provision-nightingale-north",
                                            UsernameAttributes=["email"])["UserPool"]["Id"]
    cognito(ctx).create_group(UserPoolId=pool_id, GroupName="nurses")
    cognito(ctx).admin_create_user(UserPoolId=pool_id, Username="b.nurse@example.nhs.uk",
                                   UserAttributes=[{"Name": "email",
                                                    "Value": "b.nurse@example.nhs.uk"}])
    assert GROUP_TYPE.discover(ctx) == [] and USER_TYPE.discover(ctx) == []
    # Read by id (as from a stale state file), they are seen but not owned: the engine
    # refuses to update, retire or delete them.
    group = GROUP_TYPE.read(ctx, "cognito.group[nurses]", f"{pool_id}/nurses")
    user = USER_TYPE.read(ctx, "cognito.user[b.nurse@example.nhs.uk]",
                          f"{pool_id}/b.nurse@example.nhs.uk")
    assert group is not None and not GROUP_TYPE.owned(ctx, group)
    assert user is not None and not USER_TYPE.owned(ctx, user)
    assert isinstance(GROUP_TYPE, Group)


def test_users_are_invited_without_a_password_and_put_in_their_groups(
        ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    make_groups(ctx, site, pool)
    desired = resolve(wanted(USER_TYPE, site, "cognito.user[c.admin@example.nhs.uk]").attrs,
                      pool)
    live = assert_converged(USER_TYPE, desired,
                            USER_TYPE.create(ctx, "cognito.user[c.admin@example.nhs.uk]",
                                             desired))
    assert live.attrs["groups"] == ["admin", "it-support"]
    user = cognito(ctx).admin_get_user(UserPoolId=pool.id, Username="c.admin@example.nhs.uk")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["email"] == "c.admin@example.nhs.uk"
    assert attributes["email_verified"] == "true"
    assert attributes["name"] == "C Admin"
    # Invited: Cognito holds a temporary password it mailed; provision never set one.
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert isinstance(USER_TYPE, User)


def test_creating_a_user_again_adopts_and_converges_it(ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    make_groups(ctx, site, pool)
    desired = resolve(wanted(USER_TYPE, site, CLINICIAN).attrs, pool)
    first = USER_TYPE.create(ctx, CLINICIAN, desired)
    # A run that died half way: the user exists but is in no group, under an old name.
    cognito(ctx).admin_remove_user_from_group(UserPoolId=pool.id,
                                              Username="a.clinician@example.nhs.uk",
                                              GroupName="clinicians")
    second = assert_converged(USER_TYPE, desired, USER_TYPE.create(ctx, CLINICIAN, desired))
    assert second.id == first.id
    assert len(cognito(ctx).list_users(UserPoolId=pool.id)["Users"]) == 1


def test_user_update_adds_and_removes_memberships(ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    make_groups(ctx, site, pool)
    desired = resolve(wanted(USER_TYPE, site, CLINICIAN).attrs, pool)
    live = USER_TYPE.create(ctx, CLINICIAN, desired)
    changed = {**desired, "groups": ["admin", "nurses"]}
    assert set(USER_TYPE.diff(changed, live.attrs)) == {"groups"}
    updated = assert_converged(USER_TYPE, changed,
                               USER_TYPE.update(ctx, live, changed, frozenset({"groups"})))
    assert updated.attrs["name"] == "A Clinician"
    renamed = {**changed, "name": "Dr A Clinician"}
    assert_converged(USER_TYPE, renamed,
                     USER_TYPE.update(ctx, updated, renamed, frozenset({"name"})))


def test_users_are_discovered_with_their_groups(ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    make_groups(ctx, site, pool)
    for d in USER_TYPE.wanted(site):
        USER_TYPE.create(ctx, d.address, resolve(d.attrs, pool))
    found = {live.address: live for live in USER_TYPE.discover(ctx)}
    assert set(found) == {d.address for d in USER_TYPE.wanted(site)}
    for d in USER_TYPE.wanted(site):
        assert USER_TYPE.diff(resolve(d.attrs, pool), found[d.address].attrs) == {}


def test_retire_disables_and_delete_removes_a_user_idempotently(
        ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    make_groups(ctx, site, pool)
    live = USER_TYPE.create(ctx, CLINICIAN, resolve(wanted(USER_TYPE, site, CLINICIAN).attrs,
                                                    pool))
    assert USER_TYPE.retire(ctx, live) is True
    assert cognito(ctx).admin_get_user(UserPoolId=pool.id,
                                       Username="a.clinician@example.nhs.uk")["Enabled"] is False
    assert USER_TYPE.retire(ctx, live) is True
    USER_TYPE.delete(ctx, live)
    assert USER_TYPE.read(ctx, CLINICIAN, live.id) is None
    USER_TYPE.delete(ctx, live)
    assert USER_TYPE.retire(ctx, live) is False


def test_app_client_uses_the_code_flow_on_the_service_hostname_and_hides_its_secret(
        ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    desired = resolve(wanted(CLIENT_TYPE, site, "cognito.client[bed-board]").attrs, pool)
    assert desired["callback_urls"] == [
        "https://bed-board.nightingale-north.sites.example.nhs.uk/oauth2/idpresponse"]
    live = assert_converged(CLIENT_TYPE, desired,
                            CLIENT_TYPE.create(ctx, "cognito.client[bed-board]", desired))
    assert_converged(CLIENT_TYPE, desired, CLIENT_TYPE.read(ctx, live.address, live.id))
    client = cognito(ctx).describe_user_pool_client(
        UserPoolId=pool.id, ClientId=live.outputs["client_id"])["UserPoolClient"]
    assert client["AllowedOAuthFlows"] == ["code"]
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid"]
    secret = client["ClientSecret"]
    for seen in (live, *CLIENT_TYPE.discover(ctx)):
        assert secret not in serialized(seen)


def test_app_client_create_again_adopts_and_update_changes_callbacks(
        ctx: Context, site: Site) -> None:
    pool = make_pool(ctx, site)
    desired = resolve(wanted(CLIENT_TYPE, site, "cognito.client[bed-board]").attrs, pool)
    first = CLIENT_TYPE.create(ctx, "cognito.client[bed-board]", desired)
    second = CLIENT_TYPE.create(ctx, "cognito.client[bed-board]", desired)
    assert second.id == first.id
    assert len(cognito(ctx).list_user_pool_clients(UserPoolId=pool.id,
                                                   MaxResults=60)["UserPoolClients"]) == 1
    changed = {**desired, "callback_urls": ["https://beds.example.nhs.uk/oauth2/idpresponse"]}
    assert set(CLIENT_TYPE.diff(changed, first.attrs)) == {"callback_urls"}
    updated = CLIENT_TYPE.update(ctx, first, changed, frozenset({"callback_urls"}))
    assert_converged(CLIENT_TYPE, changed, CLIENT_TYPE.read(ctx, updated.address, updated.id))
    CLIENT_TYPE.delete(ctx, updated)
    assert CLIENT_TYPE.read(ctx, updated.address, updated.id) is None
    CLIENT_TYPE.delete(ctx, updated)


@pytest.mark.parametrize("callbacks", [[], ["http://bed-board.example.nhs.uk/cb"]])
def test_a_code_flow_client_without_an_https_callback_is_refused(
        ctx: Context, site: Site, callbacks: list[str]) -> None:
    pool = make_pool(ctx, site)
    desired = resolve(wanted(CLIENT_TYPE, site, "cognito.client[bed-board]").attrs, pool)
    with pytest.raises(CloudCallFailed, match="callback"):
        CLIENT_TYPE.create(ctx, "cognito.client[bed-board]",
                           {**desired, "callback_urls": callbacks})
    assert cognito(ctx).list_user_pool_clients(UserPoolId=pool.id,
                                               MaxResults=60)["UserPoolClients"] == []


def test_every_call_is_among_the_declared_permissions(
        ctx: Context, site: Site, actions: ActionLog) -> None:
    pool = make_pool(ctx, site)
    make_groups(ctx, site, pool)
    exercise(USER_TYPE, ctx, actions, CLINICIAN,
             resolve(wanted(USER_TYPE, site, CLINICIAN).attrs, pool),
             {"groups": ["nurses"], "name": "Dr A Clinician"})
    exercise(GROUP_TYPE, ctx, actions, "cognito.group[admin]",
             resolve(wanted(GROUP_TYPE, site, "cognito.group[admin]").attrs, pool),
             {"description": "Admins"})
    exercise(CLIENT_TYPE, ctx, actions, "cognito.client[bed-board]",
             resolve(wanted(CLIENT_TYPE, site, "cognito.client[bed-board]").attrs, pool),
             {"callback_urls": ["https://beds.example.nhs.uk/oauth2/idpresponse"]})
    exercise(POOL_TYPE, ctx, actions, "cognito.pool", wanted(POOL_TYPE, site, "cognito.pool").attrs,
             {"password_policy": {**PASSWORD_POLICY, "MinimumLength": 14}, "mfa": "OPTIONAL"})
