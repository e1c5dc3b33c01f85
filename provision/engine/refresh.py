"""Refresh: read the live world for a site, by the ids in state and by the site's tags."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from provision.aws.resource import REGISTRY, Context, Live, ResourceType
from provision.engine.calls import cloud_call
from provision.engine.state import State
from provision.errors import ProvisionError
from provision.plan.model import Observed

READ_WORKERS = 8


def _type(name: str) -> ResourceType:
    if name not in REGISTRY:
        raise ProvisionError(f"the state holds a resource of type {name}, which this version "
                             "does not know")
    return REGISTRY[name]


def refresh(ctx: Context, state: State, wanted: dict[str, str], *, full: bool = False
            ) -> Observed:
    """Reads every resource in state by its id; then discovers by tags every type that has a
    wanted address not found yet or an unfinished intent (a killed run), or every type when
    `full` (teardown, drift). `wanted` maps the desired addresses to their types."""
    with ThreadPoolExecutor(READ_WORKERS) as pool:
        reads = {address: pool.submit(
            cloud_call, address, "read",
            lambda a=address, r=recorded: _type(r.type).read(ctx, a, r.id))
            for address, recorded in state.resources.items()}
        live: dict[str, Live] = {a: found for a, f in reads.items()
                                 if (found := f.result()) is not None}
        if full:
            types = set(REGISTRY)
        else:
            types = {t for a, t in wanted.items() if a not in live}
            types |= {i.type for i in state.pending.values()}
        discovered = {name: pool.submit(cloud_call, name, "discover",
                                        lambda n=name: _type(n).discover(ctx))
                      for name in sorted(types)}
        extras: list[Live] = []
        for name, future in discovered.items():
            for found in future.result():
                if not _type(name).owned(ctx, found):
                    continue
                known = live.get(found.address)
                if known is None:
                    live[found.address] = found
                elif known.id != found.id:
                    extras.append(found)
    return Observed(live, tuple(extras))
