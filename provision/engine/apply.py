"""Apply: execute exactly a plan, in dependency order, independent steps concurrently.

Before each AWS call the intent is journalled in state; after it the result is recorded. A run
killed anywhere therefore leaves either a recorded resource or an intent, and the next refresh
finds what the intent created by its tags (resource types' `create` adopt their own leftovers).
The ownership guard lives here, once: nothing is updated, retired or deleted unless the live
resource, read again just before, belongs to the site.
"""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from provision.aws.resource import REGISTRY, Attrs, Context, Live, Ref, ResourceType
from provision.engine.calls import cloud_call
from provision.engine.state import StateStore
from provision.errors import ProvisionError, Refused
from provision.events import Event, EventSink
from provision.plan.model import Plan, Step, contains_redacted, from_json_value

APPLY_WORKERS = 4


def check_allowed(plan: Plan, allow_replace: Collection[str]) -> None:
    """Refuses, before anything runs, a replacement not explicitly allowed and any step whose
    attributes were redacted (a secret value must never travel through a plan)."""
    for step in plan.steps:
        if step.action == "replace" and step.address not in allow_replace:
            changed = ", ".join(sorted(step.changes))
            raise Refused(f"{step.address} would be replaced (deleted and created again) "
                          f"because {changed} cannot change in place",
                          hint=f"replacing it loses what it holds; if that is intended, "
                          f"re-run with --allow-replace {step.address}")
        if contains_redacted(step.attrs):
            raise Refused(f"{step.address} has a secret-looking attribute in the plan",
                          hint="a resource type put a secret value in its attributes: a bug")


def _resolve(value: Any, store: StateStore) -> Any:
    if isinstance(value, Ref):
        return store.output(value.address, value.output)
    if isinstance(value, dict):
        return {k: _resolve(v, store) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, store) for v in value]
    return value


class _Runner:
    def __init__(self, store: StateStore, ctx: Context, sink: EventSink) -> None:
        self.store = store
        self.ctx = ctx
        self.sink = sink

    def _owned_live(self, step: Step, rt: ResourceType) -> Live | None:
        assert step.id is not None
        address = step.address.split("~", 1)[0]
        live = cloud_call(step.address, "read",
                          lambda: rt.read(self.ctx, address, step.id or ""))
        if live is not None and not rt.owned(self.ctx, live):
            raise Refused(f"{step.address} ({live.id}) does not carry the tags of site "
                          f"{self.ctx.site_id}; provision will not {step.action} it",
                          hint="something else owns it now; take it out of the site file or "
                          "remove it by hand")
        return live

    def run_step(self, step: Step) -> None:
        rt = REGISTRY[step.type]
        attrs: Attrs = _resolve(from_json_value(step.attrs), self.store)
        changed = frozenset(step.changes)
        name = step.address

        if step.action == "create":
            self.store.journal(name, "create", step.type, None)
            self.store.record(name, cloud_call(name, "create",
                                               lambda: rt.create(self.ctx, name, attrs)))
            return
        live = self._owned_live(step, rt)
        if step.action == "retire":
            if live is not None:
                self.store.journal(name, "retire", step.type, live.id)
                cloud_call(name, "retire", lambda: rt.retire(self.ctx, live))
                self.store.settle(name)
            return
        if step.action == "delete":
            if live is not None:
                self.store.journal(name, "delete", step.type, live.id)
                cloud_call(name, "delete", lambda: rt.delete(self.ctx, live))
            self.store.remove(name)
            return
        if step.action == "replace":  # the old one may have gone with what it hung on
            self.store.journal(name, "replace", step.type, step.id)
            if live is not None:
                cloud_call(name, "delete", lambda: rt.delete(self.ctx, live))
            self.store.record(name, cloud_call(name, "create",
                                               lambda: rt.create(self.ctx, name, attrs)))
            return
        if live is None:
            raise ProvisionError(f"{name} ({step.id}) is gone since the plan was made",
                                 hint="run plan again")
        self.store.journal(name, step.action, step.type, live.id)
        if changed:  # update, or adopt with differences
            result = cloud_call(name, "update",
                                lambda: rt.update(self.ctx, live, attrs, changed))
        else:
            result = live
        self.store.record(name, result)

    def timed(self, step: Step) -> None:
        self.sink(Event("step.start", step.action, step.address))
        try:
            self.run_step(step)
        except ProvisionError as exc:
            self.sink(Event("step.failed", exc.message, step.address,
                            {"action": step.action}))
            raise
        self.sink(Event("step.done", step.action, step.address, {"action": step.action}))


def apply_plan(plan: Plan, store: StateStore, ctx: Context, sink: EventSink,
               allow_replace: Collection[str] = (), workers: int = APPLY_WORKERS) -> None:
    """Executes every step once its dependencies are done; on the first failure no new step
    starts, the running ones finish (and are recorded), then the error is raised."""
    check_allowed(plan, allow_replace)
    store.forget(plan.forget, plan.clear_pending)
    waiting = {s.key: s for s in plan.steps}
    done: set[str] = set()
    failure: BaseException | None = None
    runner = _Runner(store, ctx, sink)
    with ThreadPoolExecutor(workers) as pool:
        running: dict[Future[None], str] = {}
        while waiting or running:
            if failure is None:
                for key, step in list(waiting.items()):
                    if all(d in done or (d not in waiting and d not in running.values())
                           for d in step.depends_on):  # a key not in the plan is no wait
                        running[pool.submit(runner.timed, step)] = key
                        del waiting[key]
            elif not running:
                break
            if not running:
                raise ProvisionError("the plan's dependencies cannot be satisfied")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                key = running.pop(future)
                error = future.exception()
                if error is None:
                    done.add(key)
                elif failure is None:
                    failure = error
    if failure is not None:
        raise failure
