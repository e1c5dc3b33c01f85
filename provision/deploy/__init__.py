"""The whole site: the cloud side, then the gateway, then verify; one plan for both halves;
teardown of both. Used by `plan`, `apply`, `up` and `teardown`, on the lab or for real."""

from provision.deploy.run import Outcome, SiteRun, apply_site, open_site, plan_site, teardown_site
from provision.deploy.target import Target, choose_target

__all__ = ["Outcome", "SiteRun", "Target", "apply_site", "choose_target", "open_site",
           "plan_site", "teardown_site"]
