"""build_plan: from what the site wants, what is live and what state recorded, to a Plan.

Pure: no AWS calls, no files. The resource types are consulted only for their declared
behaviour (diff, replace_on, whether they have a retire phase).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from provision.aws.resource import REGISTRY, Desired, Live, Ref, ResourceType
from provision.errors import ProvisionError
from provision.plan.model import Change, Fingerprint, Mode, Observed, Plan, Step, redact
from provision.site.model import Site

if TYPE_CHECKING:
    from provision.engine.state import State


def refs_in(value: Any) -> Iterable[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from refs_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from refs_in(item)


def dependencies(desired: Desired) -> set[str]:
    return set(desired.depends_on) | {ref.address for ref in refs_in(desired.attrs)}


def _resource_type(type_name: str) -> ResourceType:
    if type_name not in REGISTRY:
        raise ProvisionError(f"no resource type {type_name} is registered",
                             hint="the state or the site names a type this version lacks")
    return REGISTRY[type_name]


def has_retire(rt: ResourceType) -> bool:
    return type(rt).retire is not ResourceType.retire


def topological(nodes: dict[str, set[str]]) -> list[str]:
    """Nodes ordered so that each comes after its dependencies; ties by name (stable plans)."""
    order: list[str] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            raise ProvisionError(f"dependency cycle through {node}")
        visiting.add(node)
        for dep in sorted(nodes[node]):
            visit(dep)
        visiting.discard(node)
        done.add(node)
        order.append(node)

    for node in sorted(nodes):
        visit(node)
    return order


def _resolve_for_diff(value: Any, live: dict[str, Live], unknown: set[str]) -> Any:
    """Refs replaced by the referenced resource's current output where it is known and will
    not change; otherwise the Ref stays (it differs from any live value: a change)."""
    if isinstance(value, Ref):
        source = live.get(value.address)
        if value.address in unknown or source is None or value.output not in source.outputs:
            return value
        return source.outputs[value.output]
    if isinstance(value, dict):
        return {k: _resolve_for_diff(v, live, unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_for_diff(v, live, unknown) for v in value]
    return value


def _changes(diff: dict[str, tuple[Any, Any]]) -> dict[str, Change]:
    return {name: Change(redact({name: before})[name], redact({name: after})[name])
            for name, (before, after) in sorted(diff.items())}


def _apply_steps(desired: list[Desired], observed: Observed, state: State) -> list[Step]:
    by_address = {d.address: d for d in desired}
    graph = {d.address: dependencies(d) for d in desired}
    for address, deps in graph.items():
        missing = deps - by_address.keys()
        if missing:
            raise ProvisionError(f"{address} depends on {', '.join(sorted(missing))}, which "
                                 "the site does not have")
    steps: dict[str, Step] = {}
    unknown: set[str] = set()  # addresses whose outputs are not known until apply
    for address in topological(graph):
        want = by_address[address]
        rt = _resource_type(want.type)
        live = observed.live.get(address)
        first = tuple(sorted(steps[d].key for d in graph[address] if d in steps))
        attrs = redact(want.attrs)
        if live is None:
            unknown.add(address)
            steps[address] = Step("create", address, want.type, None,
                                  _changes({k: (None, v) for k, v in want.attrs.items()}),
                                  attrs, first)
            continue
        diff = rt.diff(_resolve_for_diff(want.attrs, observed.live, unknown), live.attrs)
        recorded = state.resources.get(address)
        if diff.keys() & rt.replace_on:
            unknown.add(address)
            action = "replace"
        elif recorded is None or recorded.id != live.id:
            action = "adopt"
        elif diff:
            action = "update"
        else:
            continue
        steps[address] = Step(action, address, want.type, live.id, _changes(diff), attrs, first)
    ordered = [steps[a] for a in topological(graph) if a in steps]
    keep = [s.key for s in ordered]
    removed = [live for address, live in sorted(observed.live.items())
               if address not in by_address] + list(observed.extras)
    return ordered + _delete_steps(removed, desired, observed, after=keep)


def _delete_steps(targets: list[Live], desired: list[Desired], observed: Observed,
                  after: list[str]) -> list[Step]:
    """Deletes in reverse dependency order (a resource goes after everything that uses it);
    for resources the site no longer describes, the dependencies between their types."""
    edges = {d.address: dependencies(d) for d in desired}
    types_of = {d.address: d.type for d in desired}
    type_edges = {(types_of[a], types_of[b]) for a, deps in edges.items() for b in deps}
    labels = {_label(t, observed): t for t in targets}

    def uses(user: Live, used: Live) -> bool:
        if user.address in edges and used.address in edges:
            return used.address in edges[user.address]
        return (user.type, used.type) in type_edges

    steps = []
    for label, target in sorted(labels.items()):
        first = sorted(f"delete:{other_label}" for other_label, other in labels.items()
                       if other is not target and uses(other, target))
        steps.append(Step("delete", label, target.type, target.id,
                          _changes({k: (v, None) for k, v in target.attrs.items()}),
                          {}, tuple(after + first)))
    order = topological({s.key: set(s.depends_on) - set(after) for s in steps})
    by_key = {s.key: s for s in steps}
    return [by_key[k] for k in order]


def _label(live: Live, observed: Observed) -> str:
    """A duplicate found by tags is labelled with its id, so both copies have distinct steps."""
    main = observed.live.get(live.address)
    return live.address if main is live else f"{live.address}~{live.id}"


def build_plan(site: Site, desired: list[Desired], observed: Observed, state: State,
               mode: Mode, *, fingerprint: Fingerprint) -> Plan:
    """The steps that take the live world to the site's desired set (mode "apply"), or remove
    every resource of the site with the retire phase first (mode "destroy")."""
    if mode == "apply":
        steps = _apply_steps(desired, observed, state)
    else:
        targets = [live for _, live in sorted(observed.live.items())] + list(observed.extras)
        retire = [Step("retire", _label(t, observed), t.type, t.id, {}, {})
                  for t in targets if has_retire(_resource_type(t.type))]
        steps = retire + _delete_steps(targets, desired, observed,
                                       after=[s.key for s in retire])
    stepped = {s.address for s in steps}
    forget = tuple(sorted(a for a in state.resources
                          if a not in observed.live and a not in stepped))
    clear = tuple(sorted(a for a in state.pending if a not in stepped))
    return Plan(site.site.id, mode, fingerprint, tuple(steps), forget, clear)
