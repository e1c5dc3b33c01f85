"""One site on its target: plan both halves, apply cloud then gateway then verify, tear down.

The cloud half is `provision.engine.workflow`; the gateway half is a playbook through
`provision.onsite`; the two meet in one Plan (its `gateway` part holds the check-mode
changes) so a person reviews, and a saved plan covers, everything that will happen.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.checks import load_site
from provision.deploy.target import Target, choose_target
from provision.engine.apply import check_allowed
from provision.engine.workflow import (
    StateOptions,
    Workspace,
    check_teardown_allowed,
    converge,
    make_plan,
    open_workspace,
)
from provision.errors import ProvisionError, Refused
from provision.events import Event, EventSink, discard
from provision.lab.emulator import LAB_CREDENTIALS
from provision.lab.lab import Lab, require_root
from provision.lab.topology import default_lab_dir
from provision.onsite import PlaybookResult, run_for_site
from provision.plan import Mode, Plan
from provision.site.model import Site
from provision.site.paths import verify_results_file, work_dir
from provision.verify import VerifyReport, verify_lab

PLAYBOOK = {"apply": "site.yml", "destroy": "wipe.yml"}
PARTS = frozenset({"cloud", "gateway"})
Confirm = Callable[[Plan], bool]


@dataclass
class SiteRun:
    """A site, checked, with its target, its cloud workspace and (on the lab) its lab."""

    site_path: Path
    target: Target
    workspace: Workspace
    lab: Lab | None
    parts: frozenset[str] = PARTS  # `--only cloud` before the kit is on site, for example

    @property
    def site(self) -> Site:
        return self.workspace.site

    def cloud_values(self) -> dict[str, Any]:
        """What the gateway playbook needs from the cloud side: the region of the secret
        store its lookups read the Wi-Fi passphrases and admin credential from."""
        return {"aws_region": self.site.cloud.region}

    def gateway(self, playbook: str, *, check: bool, sink: EventSink) -> PlaybookResult:
        if self.lab is not None:
            return self.lab.converge(sink, playbook=playbook, check=check,
                                     extra_vars=self.cloud_values())
        return run_for_site(self.site, work_dir(self.site_path, self.site.site.id) / "gateway",
                            playbook, check=check, extra_vars=self.cloud_values(), sink=sink)

    def gateway_reachable(self) -> bool:
        """A lab gateway exists only once its box runs; a real one is assumed there."""
        return self.lab is None or self.lab.box.running


def open_site(site_path: Path, *, lab: bool | None = None,
              state: StateOptions | None = None, only: str | None = None,
              sink: EventSink = discard) -> SiteRun:
    """Loads and checks the site, decides where to act (and says so), and on the lab starts
    the AWS emulator and points this process (and the playbooks it runs) at it."""
    if only is not None and only not in PARTS:
        raise ProvisionError(f"--only takes one of {', '.join(sorted(PARTS))}, not {only!r}")
    parts = frozenset({only}) if only else PARTS
    site = load_site(site_path)
    target = choose_target(site, lab)
    sink(Event("target", f"acting on {target.describe(site)}", site.site.id,
               {"lab": target.lab, "reason": target.reason}))
    state = state or StateOptions()
    if not target.lab:
        return SiteRun(site_path, target, open_workspace(site_path, state), None, parts)
    require_root()
    the_lab = Lab(site, default_lab_dir(site_path, site))
    endpoint = the_lab.emulator.ensure_running()
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, **LAB_CREDENTIALS})
    if state == StateOptions():  # the lab's cloud state lives and dies with its emulator
        state = StateOptions(state_dir=the_lab.lab_dir / "state")
    return SiteRun(site_path, target, open_workspace(site_path, state), the_lab, parts)


def plan_site(run: SiteRun, mode: Mode = "apply", sink: EventSink = discard) -> Plan:
    """The cloud plan with the gateway's check-mode changes as its `gateway` part. On the lab
    the lab's hardware is built first, so the check runs against a real (empty) gateway."""
    cloud = make_plan(run.workspace, mode)  # also the fingerprint a saved plan is checked by
    if "cloud" not in run.parts:
        cloud = dataclasses.replace(cloud, steps=(), forget=(), clear_pending=())
    if "gateway" not in run.parts:
        return cloud
    if run.lab is not None and mode == "apply":
        run.lab.build(sink)
    if not run.gateway_reachable():
        return cloud
    checked = run.gateway(PLAYBOOK[mode], check=True, sink=_steps_only(sink))
    if not checked.changes:
        return cloud
    return dataclasses.replace(cloud, gateway={
        "playbook": PLAYBOOK[mode], "changes": [c.to_json() for c in checked.changes]})


def _steps_only(sink: EventSink) -> EventSink:
    """A check run's per-task events would repeat the plan that shows them."""
    def forward(event: Event) -> None:
        if not event.kind.startswith("task."):
            sink(event)
    return forward


@dataclass
class Outcome:
    plan: Plan
    applied: bool
    verify: VerifyReport | None = None


def _apply_cloud(run: SiteRun, plan: Plan, sink: EventSink,
                 allow_replace: Collection[str]) -> None:
    if plan.steps or plan.forget or plan.clear_pending:
        converge(run.workspace, plan.mode, confirm=lambda _plan: True, sink=sink, saved=plan,
                 allow_replace=allow_replace)


def verify_site(run: SiteRun, sink: EventSink) -> VerifyReport | None:
    """Real traffic needs the lab; on a real site the same checks run from its clients."""
    if run.lab is None:
        sink(Event("verify.skipped", "verify with real traffic runs on the lab only; rehearse "
                   "with --lab before the kit ships", run.site.site.id))
        return None
    return verify_lab(run.lab, sink, results_file=verify_results_file(
        run.site_path, run.site.site.id))


def apply_site(run: SiteRun, *, confirm: Confirm, sink: EventSink = discard,
               saved: Plan | None = None, allow_replace: Collection[str] = (),
               always_verify: bool = False) -> Outcome:
    """Cloud first (the gateway reads its secrets from the cloud's store), then the gateway
    playbook, then verify. A saved plan is applied only if the site file and the state are
    what it was made from (checked under the lock)."""
    plan = saved or plan_site(run, "apply", sink)
    check_allowed(plan, allow_replace)
    if not plan.has_changes:
        sink(Event("plan.empty", "nothing to do", run.site.site.id))
        if not (always_verify and "gateway" in run.parts):
            return Outcome(plan, False)
        if run.lab is not None and not run.lab.info().ready:  # built, never finished
            run.lab.up(sink, extra_vars=run.cloud_values())
        return Outcome(plan, False, verify_site(run, sink))
    if not confirm(plan):
        raise Refused("not confirmed; nothing was changed")
    _apply_cloud(run, plan, sink, allow_replace)
    if "gateway" not in run.parts:
        return Outcome(plan, True)
    if run.lab is not None:
        run.lab.up(sink, extra_vars=run.cloud_values())
    elif plan.gateway:
        run.gateway("site.yml", check=False, sink=sink)
    return Outcome(plan, True, verify_site(run, sink))


def teardown_site(run: SiteRun, *, confirm: Confirm, sink: EventSink = discard) -> Outcome:
    """The cloud teardown (users disabled and data archived first, then deletion and a tag
    sweep), then the gateway wiped back to blank."""
    check_teardown_allowed(run.site)
    plan = plan_site(run, "destroy", sink)
    if not plan.has_changes:
        sink(Event("plan.empty", "nothing of the site is left", run.site.site.id))
        return Outcome(plan, False)
    if not confirm(plan):
        raise Refused("not confirmed; nothing was changed")
    _apply_cloud(run, plan, sink, ())
    if plan.gateway:
        run.gateway("wipe.yml", check=False, sink=sink)
    return Outcome(plan, True)
