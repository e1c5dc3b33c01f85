"""Commands over many sites: `status` (one site's state, or a folder's table of lifetimes,
last applies and drift) and `expire` (temporary sites past closing, and their teardown). The
work is done by `provision.fleet`; this module parses options, asks, and prints."""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from provision.cli.app import app
from provision.cli.deploy_cmds import (
    JsonFlag,
    LabFlag,
    Only,
    StateDir,
    StateUrl,
    Yes,
    print_plan,
)
from provision.cli.output import EventPrinter, console, print_json
from provision.deploy import SiteRun, open_site
from provision.engine.state import LastApply
from provision.engine.workflow import StateOptions, status
from provision.errors import ProvisionError, Refused
from provision.events import EventSink, discard
from provision.fleet import (
    Ask,
    DueSite,
    OpenRun,
    Result,
    SiteFile,
    SiteReport,
    due_sites,
    lifetime_status,
    read_sites,
    survey,
    tear_down,
)
from provision.plan import Plan
from provision.site.paths import site_files

SitesArg = Annotated[list[Path], typer.Argument(
    help="Site files, or folders searched for them (the tool's .provision folders skipped).")]
Today = Annotated[dt.datetime | None, typer.Option(
    "--today", formats=["%Y-%m-%d"], help="Judge lifetimes as on this day (YYYY-MM-DD), to "
    "plan ahead; default: today.")]


def _opener(lab: bool | None, state_dir: Path | None, state_url: str | None,
            only: str | None = None, sink: EventSink = discard) -> OpenRun:
    options = StateOptions(state_dir, state_url)

    def open_run(path: Path) -> SiteRun:
        return open_site(path, lab=lab, state=options, only=only, sink=sink)
    return open_run


def _day(today: dt.datetime | None) -> dt.date:
    return today.date() if today else dt.date.today()


def _last_apply(last: LastApply | None) -> str:
    if last is None:
        return "never"
    when = last.when.replace("T", " ")[:16]
    return f"{when} {'teardown' if last.mode == 'destroy' else last.mode}"


# ---------------------------------------------------------------------------------- status


def _one_site(site: Path, open_run: OpenRun, day: dt.date, as_json: bool) -> None:
    """What state records for one site: resources, unfinished intents, the lock; and where
    the site is in its life and when it was last applied."""
    run = open_run(site)
    report = status(run.workspace)
    lifetime = lifetime_status(run.site, day)
    last = LastApply(**report["last_apply"]) if report["last_apply"] else None
    if as_json:
        print_json({**report, "lifetime": lifetime.to_json()})
        return
    console.print(f"[bold]{escape(report['site_id'])}[/] state {escape(report['state'])} "
                  f"(serial {report['serial']})")
    for address, item in report["resources"].items():
        console.print(f"  {escape(address):<50} {escape(item['id'])}")
    for address, item in report["pending"].items():
        console.print(f"  [yellow]unfinished {escape(item['action'])} of "
                      f"{escape(address)} since {escape(item['since'])}[/]")
    if report["lock"]:
        lock = report["lock"]
        console.print(f"  [yellow]locked by {escape(lock['who'])} (pid {lock['pid']}) since "
                      f"{escape(lock['since'])}, lock id {escape(lock['id'])}[/]")
    if not report["resources"]:
        console.print("  [dim]no resources recorded[/]")
    console.print(f"  lifetime: {escape(lifetime.describe())}; last apply: "
                  f"{escape(_last_apply(last))}{f' by {escape(last.who)}' if last else ''}")


def _drift_cell(report: SiteReport) -> str:
    if report.drift is None:
        return ""
    colour = {"differences": "yellow", "unknown": "red"}.get(report.drift.status)
    text = escape(report.drift.describe())
    return f"[{colour}]{text}[/]" if colour else text


def _row(report: SiteReport) -> list[str]:
    """The table row: what could not be known is left blank, the problem column says why."""
    if report.site is None:
        return [escape(str(report.file)), "[red]invalid[/]"] + [""] * 8
    info = report.site.site
    lifetime = escape(report.lifetime.describe()) if report.lifetime else ""
    if report.lifetime and report.lifetime.past_closing:
        lifetime = f"[red]{lifetime}[/]"
    read = report.resources is not None  # the state was read
    lock = f"[yellow]held by {escape(report.lock.who)}[/]" if report.lock else "no"
    return [escape(info.id), info.kind.value, str(info.lifetime.opens),
            str(info.lifetime.closes or "-"), lifetime, "yes" if info.protect else "no",
            escape(_last_apply(report.last_apply)) if read else "",
            str(report.resources) if read else "", lock if read else "",
            _drift_cell(report)]


KEEP_WHOLE = frozenset({"site", "opens", "closes"})


def _print_table(reports: list[SiteReport], day: dt.date, with_drift: bool) -> None:
    table = Table(title=f"{len(reports)} site(s) on {day}", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    columns = ["site", "kind", "opens", "closes", "lifetime", "protect", "last apply",
               "resources", "lock", "drift"]
    problems = any(r.error for r in reports)
    for name in columns[:len(columns) if with_drift else -1]:
        table.add_column(name, overflow="fold", no_wrap=name in KEEP_WHOLE)
    if problems:
        table.add_column("problem", overflow="fold")
    for report in reports:
        row = _row(report)[:len(columns) if with_drift else -1]
        if problems:
            row.append(f"[red]{escape(report.error)}[/]" if report.error else "")
        table.add_row(*row)
    # One line per site even when piped or on a narrow terminal: wrapped cells are unreadable.
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    narrow = console.width
    console.width = max(narrow, natural)
    try:
        console.print(table)
    finally:
        console.width = narrow
    past = sum(1 for r in reports if r.lifetime and r.lifetime.past_closing)
    drifted = sum(1 for r in reports if r.drift and r.drift.status == "differences")
    failed = sum(1 for r in reports if r.failed)
    console.print(f"{past} past closing, " + (f"{drifted} with drift, " if with_drift else "")
                  + f"{failed} that could not be read")


@app.command("status")
def status_cmd(sites: SitesArg, lab: LabFlag = None,
               no_drift: Annotated[bool, typer.Option(
                   "--no-drift", help="Do not compare the live cloud with state (no AWS "
                   "calls beyond the state backend).")] = False,
               today: Today = None, as_json: JsonFlag = False,
               state_dir: StateDir = None, state: StateUrl = None) -> None:
    """For one site file: what state records (resources, unfinished intents, the lock). For
    folders or several files: a table of every site (lifetime, protection, last apply,
    resources, lock, drift); --json gives a list of objects with the same fields.

    Exit codes for several sites:
    0 all well;
    2 a site has drift or is past its closing date (a pipeline can act);
    1 a site could not be read (invalid file, unreadable state, drift unknown): its row
    says why and the others still show.
    """
    open_run = _opener(lab, state_dir, state)
    day = _day(today)
    if len(sites) == 1 and sites[0].is_file():
        _one_site(sites[0], open_run, day, as_json)
        return
    reports = survey(site_files(sites), day, open_run, with_drift=not no_drift)
    if as_json:
        print_json([r.to_json() for r in reports])
    else:
        _print_table(reports, day, not no_drift)
    if any(r.failed for r in reports):
        raise typer.Exit(1)
    if any(r.needs_action for r in reports):
        raise typer.Exit(2)


# ---------------------------------------------------------------------------------- expire


def _ask(yes: bool, as_json: bool) -> Ask:
    def ask(plan: Plan) -> bool:
        if not as_json:
            print_plan(plan)
        if yes:  # the --confirm ids were checked before the site was opened
            return True
        typed: str = typer.prompt(f"Type the site id ({plan.site_id}) to tear it down, or "
                                  "press Enter to skip it", default="", show_default=False)
        return typed.strip() == plan.site_id
    return ask


def _describe_due(due: DueSite) -> str:
    protected = ", [bold]protected[/]" if due.site.site.protect else ""
    return (f"[bold]{escape(due.site_id)}[/] closed {due.site.site.lifetime.closes}, "
            f"[red]{escape(due.lifetime.describe())}[/]{protected} "
            f"[dim]({escape(str(due.file))})[/]")


RESULT_COLOURS = {Result.TORN_DOWN: "green", Result.NOTHING_LEFT: "green",
                  Result.SKIPPED: "yellow", Result.REFUSED: "red", Result.FAILED: "red"}


def _print_result(due: DueSite) -> None:
    if due.result is not None:
        console.print(f"  [{RESULT_COLOURS[due.result]}]{due.result.value}[/] "
                      f"[bold]{escape(due.site_id)}[/]: {escape(due.message)}")


@app.command()
def expire(sites: SitesArg,
           teardown: Annotated[bool, typer.Option(
               "--teardown", help="Tear down each site past closing (each confirmed on "
               "its own).")] = False,
           yes: Yes = False,
           confirm_ids: Annotated[list[str] | None, typer.Option(
               "--confirm", metavar="SITE_ID", help="With --yes: a site id to tear down, "
               "typed out (repeatable). Due sites not named are skipped.")] = None,
           today: Today = None, lab: LabFlag = None, only: Only = None,
           as_json: JsonFlag = False, state_dir: StateDir = None,
           state: StateUrl = None) -> None:
    """List temporary sites past their closing date (closes before today), with how long
    past and whether protected; with --teardown, tear each one down. Interactively the
    operator types each site's id; with --yes only the sites named by --confirm are torn
    down. Protected sites (protect: true) are refused. One site's failure does not stop the
    others.

    Exit codes:
    0 no site is (left) due;
    2 sites are due (listed, or skipped as not confirmed);
    1 a teardown failed or was refused, or a site file could not be read.
    """
    day = _day(today)
    entries = read_sites(site_files(sites))
    unreadable = [e for e in entries if e.error]
    due = due_sites(entries, day)
    named = set(confirm_ids or ())
    if teardown and due:
        if named and not yes:
            raise ProvisionError("--confirm goes with --yes",
                                 hint="without --yes, each site's id is asked for")
        if not yes and (as_json or not sys.stdin.isatty()):
            raise Refused("no terminal to ask for confirmation",
                          hint="pass --yes and --confirm SITE_ID for each site to tear down")
        sink = discard if as_json else EventPrinter(as_json=False)
        open_run = _opener(lab, state_dir, state, only, sink)
        for item in due:
            if not as_json:
                console.print(f"\n[bold]Teardown of {escape(item.site_id)}[/] "
                              f"({escape(item.lifetime.describe())})")
            tear_down(item, open_run, _ask(yes, as_json), confirmed=named if yes else None,
                      sink=sink)
            if not as_json:
                _print_result(item)
    strays = sorted(named - {d.site_id for d in due})
    counts = Counter(d.result.value for d in due if d.result)
    if as_json:
        print_json({"today": str(day), "due": [d.to_json() for d in due],
                    "unreadable": [{"file": str(e.file), "error": e.error}
                                   for e in unreadable],
                    "confirmed_but_not_due": strays, "summary": dict(counts)})
    else:
        _print_expiry(day, due, unreadable, strays, counts)
    if unreadable or counts[Result.REFUSED] or counts[Result.FAILED]:
        raise typer.Exit(1)
    if any(d.result in (None, Result.SKIPPED) for d in due):
        raise typer.Exit(2)


def _print_expiry(day: dt.date, due: list[DueSite], unreadable: list[SiteFile],
                  strays: list[str], counts: Counter[str]) -> None:
    console.print(f"\n[bold]{len(due)} site(s) past closing on {day}[/]" + (":" if due else ""))
    for item in due:
        console.print(f"  {_describe_due(item)}")
        _print_result(item)
    for entry in unreadable:
        console.print(f"  [red]cannot tell[/] {escape(str(entry.file))}: "
                      f"{escape(entry.error or '')}")
    for site_id in strays:
        console.print(f"  [yellow]--confirm {escape(site_id)}[/]: no such site is past closing; "
             "nothing was done to it")
    if counts:
        console.print("summary: " + ", ".join(f"{n} {result}"
                                              for result, n in sorted(counts.items())))
