"""`provision pack`: the handover pack for the people running the site on the ground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.checks import load_site
from provision.cli.app import app
from provision.cli.output import console, print_json
from provision.pack import read_verify_results, write_pack


@app.command()
def pack(
    site: Annotated[Path, typer.Argument(help="The site file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write index.html into.")],
    verify_results: Annotated[Path | None, typer.Option(
        "--verify-results", help="A JSON file of verify results (a list of {name, passed, "
        "expected, seen}) to include.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Write the handover pack for SITE: one self-contained HTML page (network diagram,
    Wi-Fi and where each password lives, services, contacts, dates, last verify results)."""
    results = read_verify_results(verify_results) if verify_results else None
    page = write_pack(load_site(site), out, results)
    if as_json:
        print_json({"pack": str(page), "verified": bool(results)})
        return
    console.print(f"wrote the handover pack: {page}")
    if not results:
        console.print("[yellow]no verify results included: the pack says \"not verified "
                      "yet\"[/]")
