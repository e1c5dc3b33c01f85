"""ACM: a DNS-validated certificate for the site domain and its wildcard, and the bounded
wait for it to be issued."""

from __future__ import annotations

from typing import Any

import pytest

import provision.aws.resources  # noqa: F401  (registers every type, route53 included)
from provision.aws.resource import REGISTRY, Context, Live
from provision.aws.resources.acm import Validation, poll
from provision.errors import CloudCallFailed, Refused
from provision.site.model import Site
from tests.aws.conftest import ActionLog, assert_converged, exercise, resolve, wanted

CERTIFICATE = REGISTRY["acm.certificate"]
VALIDATION = REGISTRY["acm.validation"]
DOMAIN = "nightingale-north.sites.example.nhs.uk"


def acm(ctx: Context) -> Any:
    return ctx.aws.client("acm")


def make(ctx: Context, site: Site) -> Live:
    return CERTIFICATE.create(ctx, "acm.certificate",
                              wanted(CERTIFICATE, site, "acm.certificate").attrs)


def arns(ctx: Context) -> list[str]:
    return [c["CertificateArn"] for c in acm(ctx).list_certificates()["CertificateSummaryList"]]


def test_the_site_wants_a_certificate_for_its_domain_and_wildcard_then_a_wait(
        site: Site) -> None:
    certificate = wanted(CERTIFICATE, site, "acm.certificate")
    assert certificate.attrs == {"domain": DOMAIN,
                                 "alternative_names": sorted([DOMAIN, f"*.{DOMAIN}"]),
                                 "validation_method": "DNS"}
    validation = wanted(VALIDATION, site, "acm.validation")
    # Waits for the certificate, and for its validation record to be written into the zone.
    assert validation.attrs["certificate_arn"].to_json() == {"$ref": "acm.certificate.arn"}
    assert validation.depends_on == ("route53.records",)
    assert CERTIFICATE.replace_on == set(certificate.attrs)


def test_create_requests_a_tagged_certificate_and_outputs_its_validation_record(
        ctx: Context, site: Site) -> None:
    desired = wanted(CERTIFICATE, site, "acm.certificate").attrs
    live = assert_converged(CERTIFICATE, desired, make(ctx, site))
    assert_converged(CERTIFICATE, desired, CERTIFICATE.read(ctx, live.address, live.id))
    record = live.outputs["validation_record"]
    assert record["type"] == "CNAME"
    assert record["name"].rstrip(".").endswith(DOMAIN)
    assert live.outputs["arn"] == live.id
    assert live.tags["provision:site"] == "nightingale-north"
    assert CERTIFICATE.owned(ctx, live)


def test_create_again_adopts_the_certificate(ctx: Context, site: Site) -> None:
    first = make(ctx, site)
    second = make(ctx, site)
    assert second.id == first.id
    assert arns(ctx) == [first.id]


def test_a_change_of_domain_is_a_replacement(ctx: Context, site: Site) -> None:
    live = make(ctx, site)
    changed = {**wanted(CERTIFICATE, site, "acm.certificate").attrs, "domain": "x." + DOMAIN}
    assert set(CERTIFICATE.diff(changed, live.attrs)) == {"domain"} <= CERTIFICATE.replace_on


def test_validation_waits_until_issued(ctx: Context, site: Site) -> None:
    certificate = make(ctx, site)
    desired = resolve(wanted(VALIDATION, site, "acm.validation").attrs, certificate)
    assert VALIDATION.read(ctx, "acm.validation", certificate.id) is None  # not issued yet
    assert VALIDATION.discover(ctx) == []
    live = assert_converged(VALIDATION, desired,
                            VALIDATION.create(ctx, "acm.validation", desired))
    assert acm(ctx).describe_certificate(
        CertificateArn=certificate.id)["Certificate"]["Status"] == "ISSUED"
    assert live.outputs["status"] == "ISSUED"
    assert VALIDATION.owned(ctx, live)
    assert [v.id for v in VALIDATION.discover(ctx)] == [certificate.id]
    VALIDATION.delete(ctx, live)  # nothing to do: the certificate goes on its own
    assert VALIDATION.read(ctx, "acm.validation", certificate.id) is not None


def test_validation_times_out_with_a_message_that_says_what_to_check(
        ctx: Context, site: Site) -> None:
    certificate = make(ctx, site)
    impatient = Validation(wait_seconds=0)
    with pytest.raises(CloudCallFailed) as raised:
        impatient.create(ctx, "acm.validation", {"certificate_arn": certificate.id})
    assert certificate.id in raised.value.message
    assert DOMAIN in raised.value.message
    assert certificate.outputs["validation_record"]["name"] in raised.value.hint
    assert "CNAME" in raised.value.hint


def test_the_wait_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_CERT_WAIT_SECONDS", "42")
    assert Validation().wait_seconds == 42
    monkeypatch.delenv("PROVISION_CERT_WAIT_SECONDS")
    assert Validation().wait_seconds == 600


def test_poll_backs_off_and_gives_up() -> None:
    calls: list[int] = []

    def never() -> None:
        calls.append(1)

    assert poll(never, wait_seconds=0.05, first_delay=0.01) is None
    assert 2 <= len(calls) <= 10
    answers = iter([None, None, "ready"])
    assert poll(lambda: next(answers), wait_seconds=5, first_delay=0.001) == "ready"


def test_untagged_look_alike_certificate_is_never_found_adopted_or_deleted(
        ctx: Context, site: Site) -> None:
    stranger = acm(ctx).request_certificate(
        DomainName=DOMAIN, SubjectAlternativeNames=[DOMAIN, f"*.{DOMAIN}"],
        ValidationMethod="DNS")["CertificateArn"]
    assert CERTIFICATE.discover(ctx) == []
    ours = make(ctx, site)
    assert ours.id != stranger
    assert [live.id for live in CERTIFICATE.discover(ctx)] == [ours.id]
    with pytest.raises(Refused):
        CERTIFICATE.delete(ctx, Live("acm.certificate", CERTIFICATE.type, stranger, {}))
    assert stranger in arns(ctx)


def test_delete_is_idempotent(ctx: Context, site: Site) -> None:
    live = make(ctx, site)
    CERTIFICATE.delete(ctx, live)
    assert CERTIFICATE.read(ctx, live.address, live.id) is None
    assert arns(ctx) == []
    CERTIFICATE.delete(ctx, live)


def test_every_call_is_among_the_declared_permissions(
        ctx: Context, site: Site, actions: ActionLog) -> None:
    certificate = make(ctx, site)
    exercise(VALIDATION, ctx, actions, "acm.validation",
             resolve(wanted(VALIDATION, site, "acm.validation").attrs, certificate), {})
    exercise(CERTIFICATE, ctx, actions, "acm.certificate",
             wanted(CERTIFICATE, site, "acm.certificate").attrs, {})
