"""Fleet work over a folder of site files: where each site is in its life, what its state
records, whether it drifted (`provision status`), and the teardown of temporary sites past
their closing day (`provision expire`)."""

from provision.fleet.expire import Ask, DueSite, Result, due_sites, tear_down
from provision.fleet.lifetime import LifetimeStatus, Phase, lifetime_status
from provision.fleet.survey import (
    Drift,
    OpenRun,
    SiteFile,
    SiteReport,
    read_sites,
    survey,
)

__all__ = ["Ask", "Drift", "DueSite", "LifetimeStatus", "OpenRun", "Phase", "Result",
           "SiteFile", "SiteReport", "due_sites", "lifetime_status",
           "read_sites", "survey", "tear_down"]
