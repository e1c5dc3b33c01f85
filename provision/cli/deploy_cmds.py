"""Commands for the whole site: plan, apply, up, teardown, drift, force-unlock,
iam-policy. The work is done by `provision.deploy` (both halves) and `provision.engine`
(the cloud); this module only parses options, asks the operator, and prints."""

from __future__ import annotations

import difflib
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from provision.aws.archive import archive_bucket_name
from provision.aws.resource import REGISTRY
from provision.cli.app import app
from provision.cli.output import EventPrinter, console, print_json, print_verify
from provision.deploy import Outcome, SiteRun, apply_site, open_site, plan_site, teardown_site
from provision.engine.workflow import (
    ENGINE_PERMISSIONS,
    Confirm,
    StateOptions,
    drift,
    load_plan,
)
from provision.errors import Refused, VerifyFailed
from provision.events import EventSink, discard
from provision.pack import write_pack
from provision.plan import ACTIONS, DESTRUCTIVE, Plan, Step
from provision.site.paths import work_dir

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
SiteArg = Annotated[Path, typer.Argument(help="The site file.")]
StateDir = Annotated[Path | None, typer.Option(
    "--state-dir", help="Folder for local state (default: .provision/ beside the site file).")]
StateUrl = Annotated[str | None, typer.Option(
    "--state", help="Shared state: s3://bucket/prefix (locks by conditional write).")]
Yes = Annotated[bool, typer.Option("--yes", help="Do not ask (for pipelines).")]
LabFlag = Annotated[bool | None, typer.Option(
    "--lab/--no-lab", help="Act on the local lab (AWS emulator and a namespace gateway), or "
    "for real. Default: the lab unless AWS credentials are configured and gateway.host names "
    "a real gateway, in which case say which.")]
Only = Annotated[str | None, typer.Option(
    "--only", help="Just one half: cloud (e.g. before the kit is on site) or gateway.")]

SIGNS = {"retire": "~", "create": "+", "adopt": "=", "update": "~", "replace": "-/+",
         "delete": "-"}
COLOURS = {"retire": "yellow", "create": "green", "adopt": "cyan", "update": "yellow",
           "replace": "bold red", "delete": "bold red"}
VERBS = {"retire": "to retire", "create": "to create", "adopt": "to adopt (found by tags)",
         "update": "to update", "replace": "to REPLACE", "delete": "to DELETE"}


def _say(text: str) -> None:
    """Ids and ARNs hold `:name:` sequences that rich would turn into emoji."""
    console.print(text, emoji=False, soft_wrap=True)


def _open(site: Path, lab: bool | None, state_dir: Path | None, state_url: str | None,
          sink: EventSink, only: str | None = None) -> SiteRun:
    return open_site(site, lab=lab, state=StateOptions(state_dir, state_url), only=only,
                     sink=sink)


def _value(value: Any) -> str:
    return escape(json.dumps(value, default=str))


def _print_step(step: Step, full: bool) -> None:
    colour = COLOURS[step.action]
    ident = f" [dim]({escape(step.id)})[/]" if step.id else ""
    _say(f"  [{colour}]{SIGNS[step.action]:>3} {escape(step.address)}[/]{ident}")
    if full and step.attrs:
        for name, value in step.attrs.items():
            marker = "*" if name in step.changes else " "
            _say(f"        {marker} {escape(name)} = {_value(value)}")
        return
    if step.action in ("create", "delete"):  # every attribute changes: --full shows them
        return
    for name, change in step.changes.items():
        _say(f"        {escape(name)}: {_value(change.before)} -> "
                      f"{_value(change.after)}")


def _print_gateway(plan: Plan, full: bool) -> None:
    """The on-site part: the tasks a check-mode run says would change, with file diffs."""
    if not plan.gateway:
        return
    changes = plan.gateway["changes"]
    _say(f"\n[yellow]gateway ({escape(plan.gateway['playbook'])}, from a check-mode run): "
         f"{len(changes)} task(s) would change:[/]")
    for change in changes:
        where = f" [dim]{escape(change['path'])}[/]" if change.get("path") else ""
        _say(f"  [yellow]  ~ {escape(change['task'])}[/]{where}")
        if change.get("redacted"):
            _say("        [dim](details hidden: the task handles a secret)[/]")
        for diff in change.get("diffs", []) if full else []:
            for line in difflib.unified_diff(diff["before"].splitlines(),
                                             diff["after"].splitlines(), diff["path"],
                                             diff["path"], lineterm=""):
                _say(f"        {escape(line)}")


def print_plan(plan: Plan, *, full: bool = False) -> None:
    """Summary first; then the steps grouped by action, replacements and deletions last."""
    counts = {a: n for a, n in plan.counts().items() if n}
    title = "Teardown plan" if plan.mode == "destroy" else "Plan"
    if not plan.has_changes:
        _say(f"[green]{title} for {escape(plan.site_id)}: nothing to do.[/]")
        return
    summary = ", ".join(f"[{COLOURS[a]}]{n} {VERBS[a]}[/]" for a, n in counts.items())
    if plan.gateway:
        summary += (", " if summary else "") + (
            f"[yellow]{len(plan.gateway['changes'])} gateway task(s) to change[/]")
    _say(f"[bold]{title} for {escape(plan.site_id)}:[/] {summary or 'state only'}")
    order = [a for a in ACTIONS if a not in DESTRUCTIVE] + [a for a in ACTIONS
                                                            if a in DESTRUCTIVE]
    grouped: dict[str, list[Step]] = defaultdict(list)
    for step in plan.steps:
        grouped[step.action].append(step)
    for action in order:
        if grouped[action]:
            _say(f"\n[{COLOURS[action]}]{VERBS[action]}:[/]")
            for step in grouped[action]:
                _print_step(step, full)
    _print_gateway(plan, full)
    for address in plan.forget:
        _say(f"  [dim]state: forget {escape(address)} (gone from the cloud)[/]")
    for address in plan.clear_pending:
        _say(f"  [dim]state: clear the unfinished intent for {escape(address)}[/]")
    if counts.get("replace") or counts.get("delete"):
        _say("\n[bold red]Replacements and deletions lose what those resources "
                      "hold. Read them before you go on.[/]")


def _can_ask() -> bool:
    return sys.stdin.isatty()


def show_plan(plan: Plan, as_json: bool) -> None:
    """The plan an operator is about to confirm, for people or as one JSON document."""
    if as_json:
        print_json({"plan": plan.to_json()})
    else:
        print_plan(plan)


def _confirm_apply(yes: bool, as_json: bool) -> Confirm:
    def confirm(plan: Plan) -> bool:
        show_plan(plan, as_json)
        if yes:
            return True
        if not _can_ask():
            raise Refused("no terminal to ask for confirmation", hint="pass --yes")
        return typer.confirm("Apply this plan?", default=False)
    return confirm


@app.command()
def plan(site: SiteArg,
         out: Annotated[Path | None, typer.Option("--out", help="Save the plan here, "
                                                  "for `provision apply PLAN`.")] = None,
         full: Annotated[bool, typer.Option("--full", help="Show every attribute and the "
                                            "gateway's file diffs.")] = False,
         lab: LabFlag = None, only: Only = None, as_json: JsonFlag = False,
         state_dir: StateDir = None, state: StateUrl = None) -> None:
    """Show what apply would change, cloud and gateway (changes nothing). Exit 0: nothing to
    do, 2: changes."""
    sink = _progress(as_json)
    result = plan_site(_open(site, lab, state_dir, state, sink, only), "apply", sink)
    if out is not None:
        out.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    if as_json:
        print_json(result.to_json())
    else:
        print_plan(result, full=full)
        if out is not None:
            _say(f"[dim]saved to {escape(str(out))}; apply it with "
                 f"`provision apply {escape(str(out))}`[/]")
    if result.has_changes:
        raise typer.Exit(2)


def _is_plan_file(path: Path) -> bool:
    return path.suffix.lower() not in (".yaml", ".yml")


def _progress(as_json: bool) -> EventSink:
    return EventPrinter(as_json=as_json)


def _report(outcome: Outcome, as_json: bool) -> None:
    """The verify results, then exit 1 if any check failed."""
    report = outcome.verify
    if report is None:
        return
    if as_json:
        print_json({"verify": report.to_json()})
    else:
        print_verify(report)
    if not report.passed:
        raise VerifyFailed(f"{len(report.failed)} of {len(report.results)} verify checks "
                           "failed", hint="the failed checks say what was expected and seen")


@app.command()
def apply(target: Annotated[Path, typer.Argument(help="A site file, or a plan saved by "
                                                 "`provision plan --out`.")],
          yes: Yes = False,
          allow_replace: Annotated[list[str] | None, typer.Option(
              "--allow-replace", help="Allow replacing this address (repeatable).")] = None,
          lab: LabFlag = None, only: Only = None, as_json: JsonFlag = False,
          state_dir: StateDir = None, state: StateUrl = None) -> None:
    """Apply a site (computes a plan, shows it, asks) or exactly a saved plan: the cloud,
    then the gateway playbook, then verify."""
    saved = load_plan(target) if _is_plan_file(target) else None
    site = Path(saved.fingerprint.site_file) if saved else target
    sink = _progress(as_json)
    run = _open(site, lab, state_dir, state, sink, only)
    if saved is not None and saved.mode == "destroy":
        outcome = teardown_site(run, confirm=lambda _plan: True, sink=sink)
    else:
        # A saved plan was reviewed when it was made: applying it is the confirmation.
        outcome = apply_site(run, confirm=_confirm_apply(yes or saved is not None, as_json),
                             sink=sink, saved=saved, allow_replace=allow_replace or ())
    if not outcome.applied and not as_json:
        _say("[green]Nothing to do.[/]")
    _report(outcome, as_json)


@app.command()
def up(site: SiteArg, yes: Yes = False, lab: LabFlag = None, as_json: JsonFlag = False,
       pack_dir: Annotated[Path | None, typer.Option(
           "--pack-dir", help="Where to write the handover pack (default: "
           ".provision/<site-id>/pack/ beside the site file).")] = None) -> None:
    """The whole job: validate, plan, apply (cloud, then gateway), verify, handover pack.
    On the lab nothing outside this machine is touched, so it does not ask."""
    sink = _progress(as_json)
    run = open_site(site, lab=lab, sink=sink)
    outcome = apply_site(run, confirm=_confirm_apply(yes or run.target.lab, as_json),
                         sink=sink, always_verify=True)
    out = pack_dir or work_dir(site, run.site.site.id) / "pack"
    page = write_pack(run.site, out, outcome.verify.results if outcome.verify else None)
    if as_json:
        print_json({"pack": str(page)})
    try:
        _report(outcome, as_json)
    finally:
        if not as_json:
            _say(f"\n[bold]Handover pack:[/] {escape(str(page))}")


@app.command()
def teardown(site: SiteArg, yes: Yes = False,
             confirm_id: Annotated[str | None, typer.Option(
                 "--confirm", help="The site id, typed out (needed with --yes).")] = None,
             lab: LabFlag = None, only: Only = None, as_json: JsonFlag = False,
             state_dir: StateDir = None, state: StateUrl = None) -> None:
    """Remove the site: cloud users disabled and data archived first, then deletion in
    reverse dependency order and a sweep by tags; then the gateway wiped."""
    sink = _progress(as_json)
    run = _open(site, lab, state_dir, state, sink, only)
    site_id = run.site.site.id

    def confirm(plan: Plan) -> bool:
        show_plan(plan, as_json)
        if yes:
            if confirm_id != site_id:
                raise Refused("--yes needs --confirm with the site id",
                              hint=f"--yes --confirm {site_id}")
            return True
        if not _can_ask():
            raise Refused("no terminal to ask for confirmation",
                          hint=f"pass --yes --confirm {site_id}")
        typed = typer.prompt(f"Type the site id ({site_id}) to tear it down")
        if typed.strip() != site_id:
            raise Refused("the site id typed does not match; nothing was changed")
        return True

    done = teardown_site(run, confirm=confirm, sink=sink)
    if as_json:
        return
    if not done.applied:
        _say("[green]Nothing of the site is left.[/]")
        return
    _say(f"[green]{escape(site_id)} is torn down.[/] Its data and logs are archived in "
         f"{escape(archive_bucket_name(site_id))}, kept for "
         f"{run.workspace.context().retain_data_days} days.")


@app.command("drift")
def drift_cmd(site: SiteArg, lab: LabFlag = None, as_json: JsonFlag = False,
              state_dir: StateDir = None, state: StateUrl = None) -> None:
    """Compare the live cloud with state. Exit 0: no drift, 2: drift found."""
    found = drift(_open(site, lab, state_dir, state, discard).workspace)
    if as_json:
        print_json({"drift": found})
    elif not found:
        _say("[green]No drift: the cloud matches state.[/]")
    else:
        for item in found:
            _say(f"  [yellow]{escape(item['drift'])}[/] {escape(item['address'])} "
                 f"[dim]({escape(item['id'])})[/]")
            for name, change in item.get("changes", {}).items():
                _say(f"        {escape(name)}: state {_value(change['state'])}, "
                     f"live {_value(change['live'])}")
    if found:
        raise typer.Exit(2)


@app.command("force-unlock")
def force_unlock(site: SiteArg, lock_id: Annotated[str, typer.Argument(
                     help="The lock id, as the refusal or `provision status` shows it.")],
                 lab: LabFlag = None, state_dir: StateDir = None, state: StateUrl = None
                 ) -> None:
    """Release a lock left by a run that died. Only the lock with this id is removed."""
    holder = _open(site, lab, state_dir, state, discard).workspace.backend.force_unlock(lock_id)
    _say(f"released the lock held by {escape(holder.describe())}")


def iam_policy_document() -> dict[str, Any]:
    """The least-privilege policy: every action a resource type or the engine declares,
    one statement per service."""
    actions = set(ENGINE_PERMISSIONS)
    for rt in REGISTRY.values():
        actions.update(rt.permissions)
    by_service: dict[str, list[str]] = defaultdict(list)
    for action in sorted(actions):
        by_service[action.split(":", 1)[0]].append(action)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "".join(p.capitalize() for p in service.replace("-", " ").split()),
         "Effect": "Allow", "Action": listed, "Resource": "*"}
        for service, listed in sorted(by_service.items())]}


@app.command("iam-policy")
def iam_policy() -> None:
    """Print the IAM policy the tool needs, built from every resource type's declarations."""
    print_json(iam_policy_document())
