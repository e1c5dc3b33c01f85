"""Commands for the on-site gateway rehearsed locally: `lab up|down|status` and `verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.checks import load_site
from provision.cli.app import app
from provision.cli.output import EventPrinter, console, print_json, print_verify
from provision.events import discard
from provision.lab.lab import Lab, require_root
from provision.lab.topology import default_lab_dir
from provision.site.paths import verify_results_file
from provision.verify import KINDS, verify_lab

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
SiteArg = Annotated[Path, typer.Argument(help="The site file.")]
LabDir = Annotated[Path | None, typer.Option(
    "--lab-dir", help="The lab's folder (default: .provision/<site-id>/lab/ beside the site "
    "file).")]

lab_app = typer.Typer(help="The local lab: the site's gateway in network namespaces, with an "
                      "ISP per WAN link, an internet and a client per segment.",
                      no_args_is_help=True)
app.add_typer(lab_app, name="lab")


def _lab(site_file: Path, lab_dir: Path | None) -> Lab:
    require_root()
    site = load_site(site_file)
    return Lab(site, lab_dir or default_lab_dir(site_file, site))


@lab_app.command("up")
def lab_up(site: SiteArg, lab_dir: LabDir = None, as_json: JsonFlag = False) -> None:
    """Build the lab for SITE and apply the gateway playbook to it. Safe to run again."""
    lab = _lab(site, lab_dir)
    info = lab.up(EventPrinter(as_json=as_json))
    if as_json:
        print_json(info.to_json())
        return
    console.print(f"lab up in {info.up_seconds}s ({len(info.namespaces)} namespaces, "
                  f"playbook {info.playbook_seconds}s); next: provision verify {site}")


@lab_app.command("down")
def lab_down(site: SiteArg, lab_dir: LabDir = None, as_json: JsonFlag = False) -> None:
    """Remove the lab for SITE: its processes, namespaces and folder."""
    lab = _lab(site, lab_dir)
    lab.down(EventPrinter(as_json=as_json) if not as_json else discard)
    if as_json:
        print_json({"down": str(lab.lab_dir)})
        return
    console.print(f"lab {lab.plan.prefix} removed")


@lab_app.command("status")
def lab_status(site: SiteArg, lab_dir: LabDir = None, as_json: JsonFlag = False) -> None:
    """Show whether the lab's namespaces and processes are there. Exit 1 when not up."""
    status = _lab(site, lab_dir).status()
    if as_json:
        print_json(status.to_json())
    else:
        for name, present in {**status.namespaces, **status.processes}.items():
            console.print(f"{'[green]ok[/]' if present else '[red]missing[/]':>16} {name}")
        console.print(f"gateway box {'running' if status.box_running else 'stopped'}; "
                      f"cut links: {', '.join(status.cut_links) or 'none'}")
    if not status.up:
        raise typer.Exit(1)


@app.command()
def verify(
    site: SiteArg,
    lab_dir: LabDir = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help=f"Run only these kinds of check: {', '.join(KINDS)}.")] = None,
    results: Annotated[Path | None, typer.Option(
        "--results", help="Where to save the results for the handover pack (default: "
        ".provision/<site-id>/verify.json beside the site file).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check SITE in its lab with real traffic: DHCP, DNS, reach rules, NAT, an inbound scan,
    management access and failover, each derived from the site file. Exit 1 if any fails."""
    lab = _lab(site, lab_dir)
    report = verify_lab(lab, discard if as_json else EventPrinter(as_json=False), kinds=only,
                        results_file=results or verify_results_file(site, lab.site.site.id))
    if as_json:
        print_json(report.to_json())
    else:
        print_verify(report)
    if not report.passed:
        raise typer.Exit(1)

