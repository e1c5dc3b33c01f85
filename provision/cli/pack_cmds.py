"""`provision pack`: the handover pack for the people running the site on the ground."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from provision.checks import load_site
from provision.cli.app import app
from provision.cli.output import console, print_json
from provision.pack import read_verify_results, write_pack
from provision.site.paths import verify_results_file


@app.command()
def pack(
    site: Annotated[Path, typer.Argument(help="The site file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write index.html into.")],
    verify_results: Annotated[Path | None, typer.Option(
        "--verify-results", help="The verify results to include (a JSON list of {name, "
        "passed, expected, seen}); default: the ones `provision verify` last saved for the "
        "site, if any.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Write the handover pack for SITE: one self-contained HTML page (network diagram,
    Wi-Fi and where each password lives, services, contacts, dates, last verify results)."""
    loaded = load_site(site)
    saved = verify_results or verify_results_file(site, loaded.site.id)
    results, verified_at = None, None
    if verify_results is not None or saved.is_file():
        results = read_verify_results(saved)
        verified_at = dt.datetime.fromtimestamp(saved.stat().st_mtime, dt.UTC)
    page = write_pack(loaded, out, results, verified_at=verified_at)
    if as_json:
        print_json({"pack": str(page), "verify_results": str(saved) if results else None})
        return
    console.print(f"wrote the handover pack: {page}")
    if results:
        console.print(f"with the verify results saved in {saved}")
    else:
        console.print('[yellow]no verify results found: the pack says "not verified yet"[/]')
