"""Where a site is in its life on a given day. Pure: the day is passed in, never read from the
clock, so `status`, `expire` and their tests agree on every date around opening and closing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from provision.site.model import Site


class Phase(StrEnum):
    NOT_OPEN = "not-open"
    OPEN = "open"
    CLOSING_TODAY = "closing-today"
    PAST_CLOSING = "past-closing"
    PERMANENT = "permanent"


def days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class LifetimeStatus:
    phase: Phase
    days: int  # until opening, left before closing, or past closing; 0 otherwise

    @property
    def past_closing(self) -> bool:
        """Due for teardown: `closes` is the last day open."""
        return self.phase is Phase.PAST_CLOSING

    def describe(self) -> str:
        return {Phase.NOT_OPEN: f"not yet open (opens in {days(self.days)})",
                Phase.OPEN: f"open, {days(self.days)} left",
                Phase.CLOSING_TODAY: "closing today",
                Phase.PAST_CLOSING: f"PAST CLOSING by {days(self.days)}",
                Phase.PERMANENT: "permanent"}[self.phase]

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase.value, "days": self.days, "text": self.describe()}


def lifetime_status(site: Site, today: dt.date) -> LifetimeStatus:
    """An office is permanent once open; a temporary site counts down to its closing day and
    is past closing from the day after it."""
    life = site.site.lifetime
    if today < life.opens:
        return LifetimeStatus(Phase.NOT_OPEN, (life.opens - today).days)
    if not site.is_temporary or life.closes is None:
        return LifetimeStatus(Phase.PERMANENT, 0)
    left = (life.closes - today).days
    if left > 0:
        return LifetimeStatus(Phase.OPEN, left)
    if left == 0:
        return LifetimeStatus(Phase.CLOSING_TODAY, 0)
    return LifetimeStatus(Phase.PAST_CLOSING, -left)
