"""Temporary sites past their closing day, and their teardown one by one: each site keeps its
own confirmation and its own protection, and one site's failure never stops the others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from provision.deploy import teardown_site
from provision.engine.workflow import check_teardown_allowed
from provision.errors import ProvisionError, Refused, SiteInvalid
from provision.events import EventSink, discard
from provision.fleet.lifetime import LifetimeStatus, lifetime_status
from provision.fleet.survey import OpenRun, SiteFile, first_error
from provision.plan import Plan
from provision.site.model import Site

# Shows a site's teardown plan and says whether to go on (the operator typed the plan's site
# id, or --yes with the --confirm ids already checked).
Ask = Callable[[Plan], bool]


class Result(StrEnum):
    TORN_DOWN = "torn-down"
    NOTHING_LEFT = "nothing-left"  # the teardown found nothing of the site
    SKIPPED = "skipped"  # not confirmed
    REFUSED = "refused"  # protected, or a safety rule stopped it
    FAILED = "failed"


@dataclass
class DueSite:
    file: Path
    site: Site
    lifetime: LifetimeStatus
    result: Result | None = None  # set by a teardown
    message: str = ""
    steps: int = 0

    @property
    def site_id(self) -> str:
        return self.site.site.id

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.file), "site_id": self.site_id,
                "closes": str(self.site.site.lifetime.closes),
                "days_past": self.lifetime.days, "protect": self.site.site.protect,
                "result": self.result.value if self.result else None,
                "message": self.message, "steps": self.steps}


def due_sites(entries: Collection[SiteFile], today: dt.date) -> list[DueSite]:
    """The sites whose closing day is before `today`, oldest closure first."""
    due: list[DueSite] = []
    for entry in entries:
        if entry.site is None:
            continue
        status = lifetime_status(entry.site, today)
        if status.past_closing:
            due.append(DueSite(entry.file, entry.site, status))
    return sorted(due, key=lambda d: (-d.lifetime.days, d.site_id))


def tear_down(due: DueSite, open_run: OpenRun, ask: Ask, *,
              confirmed: Collection[str] | None, sink: EventSink = discard) -> None:
    """Tears one due site down, recording the result on it. `confirmed`: with --yes, the ids
    given by --confirm (any other site is skipped); None: `ask` decides after the plan."""
    declined = False

    def confirm(plan: Plan) -> bool:
        nonlocal declined
        if plan.site_id != due.site_id:  # the file changed since it was listed
            raise Refused(f"{due.file} now names site {plan.site_id}, not {due.site_id}",
                          hint="run expire again")
        declined = not ask(plan)
        return not declined

    try:
        check_teardown_allowed(due.site)
    except Refused as exc:
        due.result, due.message = Result.REFUSED, exc.message
        return
    if confirmed is not None and due.site_id not in confirmed:
        due.result = Result.SKIPPED
        due.message = f"not confirmed: add --confirm {due.site_id} to tear it down"
        return
    try:
        outcome = teardown_site(open_run(due.file), confirm=confirm, sink=sink)
    except Refused as exc:
        due.result = Result.SKIPPED if declined else Result.REFUSED
        due.message = "not confirmed; nothing was changed" if declined else exc.message
        return
    except SiteInvalid as exc:
        due.result, due.message = Result.FAILED, first_error(exc.findings)
        return
    except ProvisionError as exc:
        due.result, due.message = Result.FAILED, exc.message
        return
    due.steps = len(outcome.plan.steps)
    if outcome.applied:
        due.result, due.message = Result.TORN_DOWN, f"{due.steps} step(s) applied"
    else:
        due.result, due.message = Result.NOTHING_LEFT, "nothing of the site was left"

