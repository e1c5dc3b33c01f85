"""Shared pieces for the resource-type tests: the reference site, a context with the site's
ownership tags, and the small amount of engine behaviour a type's test needs (Ref
resolution), kept here so every type is exercised the same way."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from provision.aws.resource import Attrs, Context, Desired, Live, Ref, ResourceType
from provision.aws.session import AwsSession
from provision.checks import load_site
from provision.site.model import Site

FIELD_HOSPITAL = Path(__file__).resolve().parents[2] / "sites/examples/field-hospital.yaml"
SITE_ID = "nightingale-north"
TAGS = {"provision:site": SITE_ID, "provision:managed-by": "provision",
        "provision:expires": "2027-03-31"}


@pytest.fixture(scope="session")
def site() -> Site:
    return load_site(FIELD_HOSPITAL)


@pytest.fixture
def ctx(aws: AwsSession) -> Context:
    return Context(aws=aws, site_id=SITE_ID, tags=TAGS)


@pytest.fixture
def other_ctx(aws: AwsSession) -> Context:
    """Another site in the same account, for proving one site never touches another's."""
    return Context(aws=aws, site_id="other-site",
                   tags={"provision:site": "other-site", "provision:managed-by": "provision"})


def wanted(rt: ResourceType, site: Site, address: str) -> Desired:
    return next(d for d in rt.wanted(site) if d.address == address)


def resolve(attrs: Attrs, *lives: Live) -> Attrs:
    """Replaces Refs with the outputs of already created resources, as apply does."""
    outputs = {f"{live.address}.{key}": value for live in lives
               for key, value in live.outputs.items()}

    def value_of(value: Any) -> Any:
        if isinstance(value, Ref):
            return outputs[f"{value.address}.{value.output}"]
        if isinstance(value, list):
            return [value_of(item) for item in value]
        return value

    return {key: value_of(value) for key, value in attrs.items()}


def serialized(live: Live) -> str:
    """Everything a Live could carry into state, a plan or a log."""
    return json.dumps(dataclasses.asdict(live), default=str)


def assert_converged(rt: ResourceType, attrs: Attrs, live: Live | None) -> Live:
    assert live is not None
    assert rt.diff(attrs, live.attrs) == {}
    return live


# IAM's names for the services and for the few operations whose action is spelt differently.
IAM_SERVICE = {"cognito-identity-provider": "cognito-idp", "cloudwatch-logs": "logs",
               "resource-groups-tagging-api": "tag", "secrets-manager": "secretsmanager"}
IAM_ACTION = {"s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
              "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
              "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
              "s3:ListObjectsV2": "s3:ListBucket"}


class ActionLog:
    """Records the IAM action of every AWS call while `recording`. botocore copies a session's
    event hooks into each client when the client is made, so this is registered before the
    test makes any client (it is a fixture), not around the calls it watches."""

    def __init__(self, aws: AwsSession) -> None:
        self.seen: set[str] | None = None
        aws.events.register("before-call.*.*", self._record)

    def _record(self, event_name: str, **_: Any) -> None:
        if self.seen is not None:
            _, service, operation = event_name.split(".", 2)
            action = f"{IAM_SERVICE.get(service, service)}:{operation}"
            self.seen.add(IAM_ACTION.get(action, action))

    @contextmanager
    def recording(self) -> Iterator[set[str]]:
        self.seen = set()
        try:
            yield self.seen
        finally:
            self.seen = None


@pytest.fixture
def actions(aws: AwsSession) -> ActionLog:
    return ActionLog(aws)


def exercise(rt: ResourceType, ctx: Context, actions: ActionLog, address: str, attrs: Attrs,
             changed: Attrs) -> set[str]:
    """Runs a type through its whole life (create twice, read, discover, update, retire,
    delete twice) and returns the IAM actions it used, which must all be declared."""
    with actions.recording() as seen:
        live = rt.create(ctx, address, attrs)
        live = rt.create(ctx, address, attrs)
        rt.read(ctx, address, live.id)
        rt.discover(ctx)
        live = rt.update(ctx, live, {**attrs, **changed}, frozenset(changed))
        rt.retire(ctx, live)
        rt.delete(ctx, live)
        rt.delete(ctx, live)
    assert seen, "no call was recorded"
    assert seen - set(rt.permissions) == set(), f"{rt.type} calls undeclared actions"
    return seen
