"""Secrets Manager: generated on create, never shown, never regenerated, deleted with a
recovery window."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from provision.aws.resource import REGISTRY, Context, Live
from provision.aws.resources.secrets import RECOVERY_WINDOW_DAYS, generate
from provision.errors import Refused
from provision.site.model import Site
from tests.aws.conftest import ActionLog, assert_converged, exercise, serialized, wanted

SECRET = REGISTRY["secrets.secret"]
CLINICAL = "secrets.secret[wifi/clinical]"
CLINICAL_NAME = "provision/nightingale-north/wifi/clinical"


def secretsmanager(ctx: Context) -> Any:
    return ctx.aws.client("secretsmanager")


def value_of(ctx: Context, secret_id: str) -> str:
    return str(secretsmanager(ctx).get_secret_value(SecretId=secret_id)["SecretString"])


def make(ctx: Context, site: Site, address: str = CLINICAL) -> Live:
    return SECRET.create(ctx, address, wanted(SECRET, site, address).attrs)


def test_the_field_hospital_wants_a_passphrase_per_protected_ssid_and_the_admin_credential(
        site: Site) -> None:
    assert {d.address: d.attrs["name"] for d in SECRET.wanted(site)} == {
        CLINICAL: CLINICAL_NAME,  # the guest network is open: no passphrase
        "secrets.secret[gateway-admin]": "provision/nightingale-north/gateway-admin",
    }
    assert "generator" in SECRET.write_only


def test_generated_values_are_long_and_different_each_time() -> None:
    passphrases = {generate("passphrase") for _ in range(20)}
    assert len(passphrases) == 20
    assert all(8 <= len(p) <= 63 for p in passphrases)  # what WPA accepts
    assert all(not set(p) & set("01lIO") for p in passphrases)
    assert len(generate("password")) >= 32
    with pytest.raises(ValueError):
        generate("pin")


def test_create_stores_a_generated_value_that_never_appears_in_what_provision_keeps(
        ctx: Context, site: Site) -> None:
    lives = [make(ctx, site, d.address) for d in SECRET.wanted(site)]
    for live in lives:
        assert_converged(SECRET, wanted(SECRET, site, live.address).attrs, live)
        value = value_of(ctx, live.id)
        assert len(value) >= 20
        for seen in (live, SECRET.read(ctx, live.address, live.id), *SECRET.discover(ctx)):
            assert seen is not None
            assert value not in serialized(seen)
        assert live.tags["provision:site"] == "nightingale-north"
    assert value_of(ctx, lives[0].id) != value_of(ctx, lives[1].id)


def test_no_value_reaches_a_log_even_with_botocore_debugging_on(
        ctx: Context, site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    live = make(ctx, site, "secrets.secret[gateway-admin]")
    SECRET.read(ctx, live.address, live.id)
    value = value_of(ctx, live.id)  # the response body of this call is logged at DEBUG too
    assert any(r.name == "botocore.endpoint" for r in caplog.records)  # debugging is on
    assert not [r.name for r in caplog.records if value in r.getMessage()]


def test_create_again_adopts_the_secret_and_keeps_its_value(ctx: Context, site: Site) -> None:
    first = make(ctx, site)
    value = value_of(ctx, first.id)
    second = make(ctx, site)
    assert second.id == first.id
    assert value_of(ctx, second.id) == value
    assert len(secretsmanager(ctx).list_secrets()["SecretList"]) == 1


def test_update_changes_the_description_and_never_the_value(ctx: Context, site: Site) -> None:
    live = make(ctx, site)
    value = value_of(ctx, live.id)
    changed = {**wanted(SECRET, site, CLINICAL).attrs, "description": "Clinical Wi-Fi"}
    assert set(SECRET.diff(changed, live.attrs)) == {"description"}
    updated = assert_converged(SECRET, changed,
                               SECRET.update(ctx, live, changed, frozenset({"description"})))
    assert updated.attrs["name"] == CLINICAL_NAME
    assert value_of(ctx, live.id) == value
    versions = secretsmanager(ctx).list_secret_version_ids(SecretId=live.id)["Versions"]
    assert len(versions) == 1


def test_an_untagged_secret_of_the_same_name_is_never_found_adopted_or_deleted(
        ctx: Context, other_ctx: Context, site: Site) -> None:
    stranger = secretsmanager(ctx).create_secret(Name=CLINICAL_NAME, SecretString="theirs")
    secretsmanager(ctx).create_secret(
        Name="provision/nightingale-north/gateway-admin", SecretString="other site's",
        Tags=[{"Key": k, "Value": v} for k, v in other_ctx.tags.items()])
    assert SECRET.discover(ctx) == []
    with pytest.raises(Refused):
        make(ctx, site)
    with pytest.raises(Refused):
        make(ctx, site, "secrets.secret[gateway-admin]")
    with pytest.raises(Refused):
        SECRET.delete(ctx, Live(CLINICAL, SECRET.type, stranger["ARN"], {}))
    assert value_of(ctx, stranger["ARN"]) == "theirs"
    assert "DeletedDate" not in secretsmanager(ctx).describe_secret(SecretId=stranger["ARN"])


def test_discover_finds_the_sites_secrets_by_their_purpose(ctx: Context, site: Site) -> None:
    for d in SECRET.wanted(site):
        make(ctx, site, d.address)
    found = {live.address: live for live in SECRET.discover(ctx)}
    assert set(found) == {d.address for d in SECRET.wanted(site)}


def test_delete_schedules_deletion_with_a_recovery_window_and_create_restores_it(
        ctx: Context, site: Site) -> None:
    live = make(ctx, site)
    value = value_of(ctx, live.id)
    SECRET.delete(ctx, live)
    described = secretsmanager(ctx).describe_secret(SecretId=live.id)
    assert "DeletedDate" in described  # scheduled, not forced: still recoverable
    assert SECRET.read(ctx, CLINICAL, live.id) is None
    assert SECRET.discover(ctx) == []
    SECRET.delete(ctx, live)
    assert 7 <= RECOVERY_WINDOW_DAYS <= 30

    restored = make(ctx, site)
    assert restored.id == live.id
    assert value_of(ctx, live.id) == value


def test_every_call_is_among_the_declared_permissions(
        ctx: Context, site: Site, actions: ActionLog) -> None:
    exercise(SECRET, ctx, actions, CLINICAL, wanted(SECRET, site, CLINICAL).attrs,
             {"description": "Clinical Wi-Fi"})
    # Again, from the deletion just scheduled: create restores the secret.
    assert "secretsmanager:RestoreSecret" in exercise(
        SECRET, ctx, actions, CLINICAL, wanted(SECRET, site, CLINICAL).attrs, {})
