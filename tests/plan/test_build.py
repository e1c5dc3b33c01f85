"""build_plan is pure: these tests give it values and read the Plan back, no AWS at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import provision.aws.resources  # noqa: F401  (registers every type)
from provision.aws.resource import REGISTRY, Desired, Live
from provision.checks import load_site
from provision.engine.apply import check_allowed
from provision.engine.state import ResourceState, State
from provision.errors import Refused
from provision.plan import Fingerprint, Observed, Plan, build_plan
from provision.plan.model import REDACTED, Step, redact
from provision.site.model import Site

SITE = Path(__file__).resolve().parents[2] / "sites" / "examples" / "field-hospital.yaml"
PRINT = Fingerprint("/x/site.yaml", "a" * 64, None, "", 0)


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE)


@pytest.fixture(scope="module")
def desired(site: Site) -> list[Desired]:
    return [d for rt in REGISTRY.values() for d in rt.wanted(site)]


def live_from(want: Desired, resource_id: str, **changed: object) -> Live:
    """What refresh would read for a resource that matches `want` (Refs aside)."""
    attrs = {k: v for k, v in want.attrs.items()}
    attrs.update(changed)
    return Live(want.address, want.type, resource_id, attrs,
                {"provision:site": "nightingale-north"},
                {"zone_id": "Z1", "name_servers": ["ns1."], "name": "x", "arn": "arn:x",
                 "id": "pool-1"})


def test_from_empty_everything_is_created_in_dependency_order(site: Site,
                                                              desired: list[Desired]) -> None:
    plan = build_plan(site, desired, Observed({}), State("nightingale-north"), "apply",
                      fingerprint=PRINT)
    assert {s.address for s in plan.steps} == {d.address for d in desired}
    assert {s.action for s in plan.steps} == {"create"}
    records = next(s for s in plan.steps if s.address == "route53.records")
    assert "create:route53.zone" in records.depends_on
    position = {s.key: i for i, s in enumerate(plan.steps)}
    for step in plan.steps:
        assert all(position[d] < position[step.key] for d in step.depends_on)
    assert records.attrs["zone_id"] == {"$ref": "route53.zone.zone_id"}


def test_plan_survives_json(site: Site, desired: list[Desired]) -> None:
    plan = build_plan(site, desired, Observed({}), State("nightingale-north"), "apply",
                      fingerprint=PRINT)
    text = json.dumps(plan.to_json())
    assert Plan.from_json(json.loads(text)) == plan
    assert json.loads(text)["gateway"] is None


def test_matching_live_world_means_nothing_to_do_and_a_difference_is_an_update(
        site: Site) -> None:
    bucket = REGISTRY["s3.bucket"].wanted(site)
    live = live_from(bucket[0], "provision-nightingale-north-data")
    state = State("nightingale-north", "L", 4, {"s3.bucket": ResourceState.of(live)})
    same = build_plan(site, bucket, Observed({"s3.bucket": live}), state, "apply",
                      fingerprint=PRINT)
    assert not same.has_changes
    drifted = live_from(bucket[0], live.id, versioning="Suspended")
    plan = build_plan(site, bucket, Observed({"s3.bucket": drifted}), state, "apply",
                      fingerprint=PRINT)
    assert [(s.action, s.address) for s in plan.steps] == [("update", "s3.bucket")]
    change = plan.steps[0].changes["versioning"]
    assert (change.before, change.after) == ("Suspended", "Enabled")
    assert list(plan.steps[0].changes) == ["versioning"]


def test_a_replace_on_attribute_is_a_replacement_and_apply_refuses_it(site: Site) -> None:
    bucket = REGISTRY["s3.bucket"].wanted(site)
    live = live_from(bucket[0], "old-name", name="old-name")
    state = State("nightingale-north", "L", 1, {"s3.bucket": ResourceState.of(live)})
    plan = build_plan(site, bucket, Observed({"s3.bucket": live}), state, "apply",
                      fingerprint=PRINT)
    assert [s.action for s in plan.steps] == ["replace"]
    with pytest.raises(Refused, match="replaced"):
        check_allowed(plan, ())
    check_allowed(plan, ("s3.bucket",))


def test_found_by_tags_but_not_in_state_is_adopted_and_gone_from_state_is_forgotten(
        site: Site) -> None:
    bucket = REGISTRY["s3.bucket"].wanted(site)
    live = live_from(bucket[0], "provision-nightingale-north-data")
    gone = ResourceState("route53.zone", "Z9", {}, {}, {})
    state = State("nightingale-north", "L", 1, {"old.thing": gone})
    plan = build_plan(site, bucket, Observed({"s3.bucket": live}), state, "apply",
                      fingerprint=PRINT)
    assert [(s.action, s.changes) for s in plan.steps] == [("adopt", {})]
    assert plan.forget == ("old.thing",)
    assert plan.has_changes


def test_destroy_retires_first_then_deletes_users_of_a_resource_before_it(
        site: Site, desired: list[Desired]) -> None:
    lives = {d.address: live_from(d, f"id-{d.address}") for d in desired}
    extra = live_from(REGISTRY["route53.zone"].wanted(site)[0], "Z-duplicate")
    state = State("nightingale-north", "L", 9,
                  {a: ResourceState.of(v) for a, v in lives.items()})
    plan = build_plan(site, desired, Observed(lives, (extra,)), state, "destroy",
                      fingerprint=PRINT)
    actions = [s.action for s in plan.steps]
    first_delete = actions.index("delete")
    assert set(actions[:first_delete]) == {"retire"}
    assert "retire:s3.bucket" in {s.key for s in plan.steps}
    order = [s.address for s in plan.steps if s.action == "delete"]
    assert order.index("route53.records") < order.index("route53.zone")
    assert "route53.zone~Z-duplicate" in order
    assert len(order) == len(desired) + 1


def test_secret_looking_values_are_redacted_and_refused() -> None:
    attrs = {"passphrase_secret": "provision/x/wifi", "client_secret": "s3cr3t",
             "generate_secret": True, "nested": {"password": "hunter2"}}
    assert redact(attrs) == {"passphrase_secret": "provision/x/wifi",
                             "client_secret": REDACTED, "generate_secret": True,
                             "nested": {"password": REDACTED}}
    plan = Plan("s", "apply", PRINT, (Step("create", "x.y", "s3.bucket", None, {},
                                           redact(attrs)),))
    with pytest.raises(Refused, match="secret"):
        check_allowed(plan, ())
