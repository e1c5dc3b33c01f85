"""Shared pieces for the resource-type tests: the reference site, a context with the site's
ownership tags, and the small amount of engine behaviour a type's test needs (Ref
resolution), kept here so every type is exercised the same way."""

from __future__ import annotations

import dataclasses
import json
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
