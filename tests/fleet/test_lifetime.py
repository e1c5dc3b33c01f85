"""Where a site is in its life on a given day: every boundary around opening and closing."""

from __future__ import annotations

import datetime as dt

import pytest

from provision.checks import load_site
from provision.fleet import LifetimeStatus, Phase, lifetime_status
from provision.site.model import Lifetime, Site, SiteKind
from tests.conftest import EXAMPLES

OPENS = dt.date(2026, 12, 1)
CLOSES = dt.date(2027, 3, 31)


@pytest.fixture(scope="module")
def field_hospital() -> Site:
    site = load_site(EXAMPLES / "field-hospital.yaml")
    assert (site.site.lifetime.opens, site.site.lifetime.closes) == (OPENS, CLOSES)
    return site


def with_site(site: Site, **update: object) -> Site:
    return site.model_copy(update={"site": site.site.model_copy(update=update)})


@pytest.mark.parametrize(("today", "expected", "text"), [
    (dt.date(2026, 11, 1), LifetimeStatus(Phase.NOT_OPEN, 30), "not yet open (opens in 30 days)"),
    (dt.date(2026, 11, 30), LifetimeStatus(Phase.NOT_OPEN, 1), "not yet open (opens in 1 day)"),
    (OPENS, LifetimeStatus(Phase.OPEN, 120), "open, 120 days left"),
    (dt.date(2027, 3, 30), LifetimeStatus(Phase.OPEN, 1), "open, 1 day left"),
    (CLOSES, LifetimeStatus(Phase.CLOSING_TODAY, 0), "closing today"),
    (dt.date(2027, 4, 1), LifetimeStatus(Phase.PAST_CLOSING, 1), "PAST CLOSING by 1 day"),
    (dt.date(2028, 3, 31), LifetimeStatus(Phase.PAST_CLOSING, 366),
     "PAST CLOSING by 366 days"),
])
def test_temporary_site_around_its_dates(field_hospital: Site, today: dt.date,
                                         expected: LifetimeStatus, text: str) -> None:
    status = lifetime_status(field_hospital, today)
    assert status == expected
    assert status.describe() == text
    assert status.past_closing is (expected.phase is Phase.PAST_CLOSING)
    assert status.to_json() == {"phase": expected.phase.value, "days": expected.days,
                                "text": text}


def test_an_office_is_permanent_once_open(field_hospital: Site) -> None:
    office = with_site(field_hospital, kind=SiteKind.OFFICE,
                       lifetime=Lifetime(opens=OPENS, closes=None))
    assert lifetime_status(office, dt.date(2026, 11, 29)) == LifetimeStatus(Phase.NOT_OPEN, 2)
    for today in (OPENS, CLOSES, dt.date(2040, 1, 1)):
        status = lifetime_status(office, today)
        assert (status.phase, status.past_closing, status.describe()) == (
            Phase.PERMANENT, False, "permanent")


def test_an_office_with_a_closing_date_is_still_not_due(field_hospital: Site) -> None:
    """Only temporary kinds expire: an office's date is informational, never a teardown."""
    office = with_site(field_hospital, kind=SiteKind.OFFICE)
    assert lifetime_status(office, dt.date(2030, 1, 1)).phase is Phase.PERMANENT
