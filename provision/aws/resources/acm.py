"""The site's TLS certificate: ACM, DNS-validated, for the site domain and every name under it.

Two resources, so a plan reads in the order things happen: `acm.certificate` requests the
certificate and publishes the validation CNAME as an output (the site zone's records write it
into DNS through a Ref), then `acm.validation` waits, within a bound, for ACM to see that
record and issue the certificate. A certificate cannot be changed, so every attribute of it
means a replacement.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

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
from provision.aws.tags import (
    TAGGING_PERMISSIONS,
    error_code,
    find_tagged,
    gone_is_none,
    require_owned,
    tag_dict,
    tag_list,
)
from provision.errors import CloudCallFailed
from provision.site.model import Site

CERTIFICATE = "acm.certificate"
VALIDATION = "acm.validation"
RECORDS = "route53.records"  # where the validation CNAME is written (see route53.py)
WAIT_ENV = "PROVISION_CERT_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 600.0
RECORD_WAIT_SECONDS = 60.0  # ACM fills in the validation record a few seconds after a request
USABLE = frozenset({"PENDING_VALIDATION", "ISSUED"})
HOPELESS = frozenset({"FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"})

T = TypeVar("T")


def poll(check: Callable[[], T | None], wait_seconds: float, first_delay: float = 0.5,
         max_delay: float = 15.0) -> T | None:
    """Calls `check` until it returns a value or `wait_seconds` have passed (then None),
    sleeping a little longer each time so a long wait costs few calls."""
    deadline = time.monotonic() + wait_seconds
    delay = first_delay
    while True:
        result = check()
        if result is not None:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_delay)


def _client(ctx: Context) -> Any:
    return ctx.aws.client("acm")


def _describe(ctx: Context, arn: str) -> dict[str, Any] | None:
    described = gone_is_none({"ResourceNotFoundException", "ValidationException"},
                             _client(ctx).describe_certificate, CertificateArn=arn)
    return None if described is None else dict(described["Certificate"])


def validation_record(certificate: dict[str, Any]) -> dict[str, str] | None:
    """The CNAME ACM wants to see. The domain and its wildcard share one record."""
    for option in certificate.get("DomainValidationOptions", []):
        record = option.get("ResourceRecord")
        if record:
            return {"name": record["Name"], "type": record["Type"], "value": record["Value"]}
    return None


@register
class Certificate(ResourceType):
    """Outputs `arn`, `status` and `validation_record` ({name, type, value})."""

    type = CERTIFICATE
    permissions = TAGGING_PERMISSIONS + (
        "acm:RequestCertificate", "acm:DescribeCertificate", "acm:ListTagsForCertificate",
        "acm:AddTagsToCertificate", "acm:DeleteCertificate",
    )
    replace_on = frozenset({"domain", "alternative_names", "validation_method"})

    def wanted(self, site: Site) -> list[Desired]:
        return [Desired(CERTIFICATE, self.type, {
            "domain": site.domain,
            "alternative_names": sorted([site.domain, f"*.{site.domain}"]),
            "validation_method": "DNS",
        })]

    def _live(self, ctx: Context, address: str, certificate: dict[str, Any],
              tags: dict[str, str] | None = None) -> Live:
        arn = certificate["CertificateArn"]
        if tags is None:
            tags = tag_dict(_client(ctx).list_tags_for_certificate(
                CertificateArn=arn).get("Tags", []))
        options = certificate.get("DomainValidationOptions", [{}])
        outputs: dict[str, Any] = {"arn": arn, "status": certificate["Status"]}
        record = validation_record(certificate)
        if record is not None:
            outputs["validation_record"] = record
        return Live(address, self.type, arn, {
            "domain": certificate["DomainName"],
            "alternative_names": sorted(certificate.get("SubjectAlternativeNames", [])),
            "validation_method": options[0].get("ValidationMethod", ""),
        }, tags, outputs)

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        certificate = _describe(ctx, resource_id)
        return None if certificate is None else self._live(ctx, address, certificate)

    def discover(self, ctx: Context) -> list[Live]:
        found = []
        for arn, tags in find_tagged(ctx, "acm", "certificate/").items():
            certificate = _describe(ctx, arn)
            if certificate is not None:
                found.append(self._live(ctx, CERTIFICATE, certificate, tags))
        return found

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        # A run that died after the request left a tagged certificate (RequestCertificate
        # tags it in the same call): adopt it unless it can no longer be issued.
        adoptable = [live for live in self.discover(ctx)
                     if not self.diff(attrs, live.attrs) and live.outputs["status"] in USABLE]
        if adoptable:
            arn = adoptable[0].id
        else:
            arn = _client(ctx).request_certificate(
                DomainName=attrs["domain"], ValidationMethod=attrs["validation_method"],
                SubjectAlternativeNames=attrs["alternative_names"], Tags=tag_list(ctx.tags),
            )["CertificateArn"]

        def with_record() -> Live | None:
            live = self.read(ctx, address, arn)
            return live if live is None or "validation_record" in live.outputs else None

        live = poll(with_record, RECORD_WAIT_SECONDS)
        if live is None:
            raise CloudCallFailed(
                f"certificate {arn} for {attrs['domain']} has no DNS validation record after "
                f"{RECORD_WAIT_SECONDS:.0f}s",
                hint="check the certificate in the ACM console; re-running apply adopts it")
        return live

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        """Nothing of a certificate changes in place: every attribute is in replace_on."""
        return live

    def delete(self, ctx: Context, live: Live) -> None:
        current = self.read(ctx, live.address, live.id)
        if current is None:
            return
        require_owned(ctx, current.tags, f"certificate {live.id}")
        try:
            _client(ctx).delete_certificate(CertificateArn=live.id)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                return
            if code == "ResourceInUseException":
                raise CloudCallFailed(
                    f"certificate {live.id} is still in use and cannot be deleted",
                    hint="detach it from the load balancer or distribution using it "
                    "(see InUseBy in the ACM console), then run teardown again") from exc
            raise


@register
class Validation(ResourceType):
    """Waiting for ISSUED, as a step of its own: it exists once the certificate is issued, and
    carries the certificate's tags. The bound is PROVISION_CERT_WAIT_SECONDS (default 600)."""

    type = VALIDATION
    permissions = TAGGING_PERMISSIONS + ("acm:DescribeCertificate",
                                         "acm:ListTagsForCertificate")
    replace_on = frozenset({"certificate_arn"})

    def __init__(self, wait_seconds: float | None = None) -> None:
        self.wait_seconds = (wait_seconds if wait_seconds is not None
                             else float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_SECONDS)))

    def wanted(self, site: Site) -> list[Desired]:
        # After the validation record is in the zone, when the zone is managed here.
        after = (RECORDS,) if RECORDS in REGISTRY else ()
        return [Desired(VALIDATION, self.type, {"certificate_arn": Ref(CERTIFICATE, "arn")},
                        depends_on=after)]

    def _of(self, address: str, certificate: Live | None) -> Live | None:
        if certificate is None or certificate.outputs["status"] != "ISSUED":
            return None
        return Live(address, self.type, certificate.id, {"certificate_arn": certificate.id},
                    dict(certificate.tags),
                    {"certificate_arn": certificate.id, "status": "ISSUED"})

    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        return self._of(address, REGISTRY[CERTIFICATE].read(ctx, CERTIFICATE, resource_id))

    def discover(self, ctx: Context) -> list[Live]:
        found = (self._of(VALIDATION, c) for c in REGISTRY[CERTIFICATE].discover(ctx))
        return [live for live in found if live is not None]

    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        arn = attrs["certificate_arn"]
        last: dict[str, Any] = {}

        def settled() -> str | None:
            certificate = _describe(ctx, arn)
            if certificate is None:
                raise CloudCallFailed(f"certificate {arn} disappeared while waiting for it")
            last.update(certificate)
            status: str = certificate["Status"]
            return status if status == "ISSUED" or status in HOPELESS else None

        status = poll(settled, self.wait_seconds, first_delay=1.0)
        record = validation_record(last) or {}
        check = (f"check that {record.get('name', 'the validation record')} is a CNAME to "
                 f"{record.get('value', 'the value ACM shows')} in the site zone, and that "
                 "the zone is delegated from its parent")
        domain = last.get("DomainName", "?")
        if status is None:
            raise CloudCallFailed(
                f"certificate {arn} for {domain} was not issued within "
                f"{self.wait_seconds:.0f}s (status {last.get('Status', 'unknown')})",
                hint=f"{check}; then run apply again (it waits again, without a new request), "
                f"or allow longer with {WAIT_ENV}")
        live = self.read(ctx, address, arn) if status == "ISSUED" else None
        if live is None:
            raise CloudCallFailed(f"certificate {arn} for {domain} cannot be issued "
                                  f"(status {status})",
                                  hint=f"{check}; a failed certificate must be replaced")
        return live

    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        """Never called (its one attribute is in replace_on); waiting again is harmless."""
        return self.create(ctx, live.address, attrs)

    def delete(self, ctx: Context, live: Live) -> None:
        """Nothing to remove: the certificate goes with acm.certificate."""
