"""The orchestration every command shares: load -> lock -> refresh -> plan -> apply -> unlock.

The CLI (`plan`, `apply`, `teardown`, `drift`, `status`) and `up` call these functions; they do
no printing themselves, reporting through events and return values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import provision.aws.resources  # noqa: F401  (registers every resource type)
from provision.aws.resource import REGISTRY, Context, Desired
from provision.aws.session import AwsSession
from provision.checks import load_site
from provision.engine.apply import apply_plan, check_allowed
from provision.engine.calls import cloud_call
from provision.engine.refresh import refresh
from provision.engine.state import Backend, LocalBackend, S3Backend, State, StateStore
from provision.errors import PlanStale, ProvisionError, Refused
from provision.events import Event, EventSink, discard
from provision.plan import Fingerprint, Mode, Observed, Plan, build_plan
from provision.site.model import Site
from provision.site.paths import work_root

# What the engine itself calls: the tag sweep, and the S3 state backend.
ENGINE_PERMISSIONS = ("tag:GetResources", "s3:GetObject", "s3:PutObject", "s3:DeleteObject")


@dataclass(frozen=True)
class StateOptions:
    """Where state lives: `state_url` (s3://bucket/prefix) for teams, else a folder
    (`state_dir`, by default `.provision/` beside the site file)."""

    state_dir: Path | None = None
    state_url: str | None = None


@dataclass
class Workspace:
    """One site, loaded and checked, with its AWS session and state backend."""

    site_path: Path
    site: Site
    aws: AwsSession
    backend: Backend
    desired: list[Desired] = field(default_factory=list)

    def context(self, resuming: frozenset[str] = frozenset()) -> Context:
        return Context.for_site(self.aws, self.site, resuming)

    def fingerprint(self, state: State) -> Fingerprint:
        users = self.site.identity.users_file
        users_path = self.site_path.parent / users if users else None
        return Fingerprint(
            str(self.site_path.resolve()),
            hashlib.sha256(self.site_path.read_bytes()).hexdigest(),
            hashlib.sha256(users_path.read_bytes()).hexdigest() if users_path else None,
            state.lineage, state.serial)


def open_workspace(site_path: Path, options: StateOptions = StateOptions(),
                   aws: AwsSession | None = None) -> Workspace:
    """Loads and checks the site (SiteInvalid on any error), picks the state backend."""
    site = load_site(site_path)
    aws = aws or AwsSession(site.cloud.region)
    backend: Backend
    if options.state_url:
        backend = S3Backend(site.site.id, aws, options.state_url)
    else:
        backend = LocalBackend(site.site.id,
                               options.state_dir or work_root(site_path))
    desired = [d for rt in REGISTRY.values() for d in rt.wanted(site)]
    return Workspace(site_path, site, aws, backend, desired)


def observe(ws: Workspace, state: State, *, full: bool = False) -> Observed:
    return refresh(ws.context(), state, {d.address: d.type for d in ws.desired}, full=full)


def make_plan(ws: Workspace, mode: Mode, state: State | None = None, *,
              full: bool = False) -> Plan:
    """Refresh, then the pure plan. Destroy plans discover every type by tags."""
    state = state or ws.backend.load()
    observed = observe(ws, state, full=full or mode == "destroy")
    return build_plan(ws.site, ws.desired, observed, state, mode,
                      fingerprint=ws.fingerprint(state))


def check_fresh(ws: Workspace, plan: Plan, state: State) -> None:
    """A saved plan is applied only to the exact site file and state it was made from."""
    now = ws.fingerprint(state)
    if plan.site_id != ws.site.site.id:
        raise PlanStale(f"the plan is for site {plan.site_id}, not {ws.site.site.id}")
    was = plan.fingerprint
    if (was.site_sha256, was.users_sha256) != (now.site_sha256, now.users_sha256):
        raise PlanStale("the site file changed since the plan was made",
                        hint="run plan again and review the new plan")
    if (was.state_lineage, was.state_serial) != (now.state_lineage, now.state_serial):
        raise PlanStale(f"the state changed since the plan was made (serial "
                        f"{was.state_serial} -> {now.state_serial})",
                        hint="another apply ran in between; run plan again")


def check_teardown_allowed(site: Site) -> None:
    if site.site.protect:
        raise Refused(f"site {site.site.id} is protected (protect: true)",
                      hint="set protect: false in the site file, then run teardown again")


Confirm = Callable[[Plan], bool]


def converge(ws: Workspace, mode: Mode, *, confirm: Confirm, sink: EventSink = discard,
             saved: Plan | None = None, allow_replace: Collection[str] = ()) -> Plan:
    """Locks the site, plans (or checks a saved plan is fresh), asks `confirm`, applies, and
    for a destroy sweeps by tags afterwards. Returns the plan that was executed (an unchanged
    plan when there was nothing to do or the operator declined: check `has_changes`)."""
    if mode == "destroy":
        check_teardown_allowed(ws.site)
    lock = ws.backend.lock("teardown" if mode == "destroy" else "apply")
    try:
        state = ws.backend.load()
        if saved is not None:
            check_fresh(ws, saved, state)
            plan = saved
        else:
            plan = make_plan(ws, mode, state)
        check_allowed(plan, allow_replace)
        if not plan.has_changes:
            sink(Event("plan.empty", "nothing to do", ws.site.site.id))
            return plan
        if not confirm(plan):
            raise Refused("not confirmed; nothing was changed")
        store = StateStore(ws.backend, state)
        resuming = frozenset(a for a, i in state.pending.items()
                             if i.action in ("create", "replace"))
        apply_plan(plan, store, ws.context(resuming), sink, allow_replace)
        if mode == "destroy":
            sweep(ws, store, sink, removed={s.id for s in plan.steps if s.id})
        store.finish(mode, len(plan.steps))
        sink(Event("apply.done", f"{len(plan.steps)} step(s) applied", ws.site.site.id,
                   {"serial": store.state.serial}))
        return plan
    finally:
        ws.backend.unlock(lock.id)


def sweep(ws: Workspace, store: StateStore, sink: EventSink, removed: set[str]) -> None:
    """After a teardown: discover every type by tags again and remove what is still there,
    then ask the tagging API for anything of the site no resource type knows (reported, not
    deleted: provision only deletes what it can identify). `removed` are the ids the teardown
    just deleted: some linger by design (secrets in their recovery window)."""
    again = build_plan(ws.site, ws.desired, observe(ws, store.state, full=True), store.state,
                       "destroy", fingerprint=ws.fingerprint(store.state))
    if again.steps:
        sink(Event("sweep.found", f"{len(again.steps)} leftover step(s)", ws.site.site.id))
        apply_plan(again, store, ws.context(), sink)
        removed |= {s.id for s in again.steps if s.id}
    for arn in leftover_arns(ws):
        if arn in removed:
            continue
        sink(Event("sweep.leftover", "still tagged for the site; remove it by hand", arn))


def leftover_arns(ws: Workspace) -> list[str]:
    tagging = ws.aws.client("resourcegroupstaggingapi")
    pages = cloud_call(ws.site.site.id, "GetResources", lambda: list(
        tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "provision:site", "Values": [ws.site.site.id]}])))
    return sorted(r["ResourceARN"] for page in pages for r in page["ResourceTagMappingList"])


def drift(ws: Workspace) -> list[dict[str, Any]]:
    """How the live site differs from state: changed attributes, resources gone, and
    resources of the site found by tags that state does not know."""
    state = ws.backend.load()
    observed = observe(ws, state, full=True)
    found: list[dict[str, Any]] = []
    for address, recorded in sorted(state.resources.items()):
        live = observed.live.get(address)
        if live is None:
            found.append({"address": address, "drift": "gone", "id": recorded.id})
            continue
        changed = REGISTRY[recorded.type].diff(recorded.attrs, live.attrs)
        if live.id != recorded.id or changed:
            found.append({"address": address, "drift": "changed", "id": live.id,
                          "changes": {k: {"state": b, "live": a}
                                      for k, (a, b) in sorted(changed.items())}})
    for address, live in sorted(observed.live.items()):
        if address not in state.resources:
            found.append({"address": address, "drift": "untracked", "id": live.id})
    found += [{"address": e.address, "drift": "duplicate", "id": e.id}
              for e in observed.extras]
    return found


def status(ws: Workspace) -> dict[str, Any]:
    """What state records (no AWS calls): resources, unfinished intents, the lock, the last
    apply or teardown."""
    state = ws.backend.load()
    holder = ws.backend.holder()
    return {"site_id": ws.site.site.id, "state": ws.backend.describe(),
            "lineage": state.lineage, "serial": state.serial,
            "resources": {a: {"type": r.type, "id": r.id}
                          for a, r in sorted(state.resources.items())},
            "pending": {a: {"action": i.action, "since": i.since}
                        for a, i in sorted(state.pending.items())},
            "lock": holder.__dict__ if holder else None,
            "last_apply": asdict(state.last_apply) if state.last_apply else None,
            "temporary": ws.site.is_temporary}


def load_plan(path: Path) -> Plan:
    try:
        return Plan.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProvisionError(f"{path} is not a saved plan: {exc}") from exc
