"""Commands about the site file itself: validate, schema, new."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from provision.checks import RULES, validate_file
from provision.cli.app import app
from provision.cli.output import console, print_findings, print_json
from provision.errors import ProvisionError
from provision.site.model import SiteKind
from provision.site.schema import site_json_schema
from provision.site.templates import new_site_text

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]


@app.command()
def validate(
    sites: Annotated[list[Path], typer.Argument(help="Site files to check.")],
    as_json: JsonFlag = False,
) -> None:
    """Check site files: schema, meaning and the Internet First policy. Exit 1 on any error."""
    findings = []
    for path in sites:
        if not path.is_file():
            raise ProvisionError(f"{path} is not a file", hint="check the path")
        findings += validate_file(path).findings
    print_findings(findings, as_json=as_json)
    if any(f.is_error for f in findings):
        raise typer.Exit(1)


@app.command()
def rules(as_json: JsonFlag = False) -> None:
    """List every check with its id, severity and what it enforces."""
    listing = [{"id": r.id, "severity": r.severity.value, "summary": r.summary}
               for r in RULES.values()]
    if as_json:
        print_json(listing)
        return
    for item in listing:
        console.print(f"{item['id']:<15} {item['severity']:<8} {item['summary']}")


@app.command()
def schema() -> None:
    """Print the site file's JSON Schema (for editors' YAML language servers)."""
    print(json.dumps(site_json_schema(), indent=2))


@app.command()
def new(
    kind: Annotated[SiteKind, typer.Option(help="What sort of site.")],
    site_id: Annotated[str, typer.Option("--id", help="The site id: a DNS label.")],
    name: Annotated[str | None, typer.Option(help="The site's name.")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write (default: ID.yaml).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented site file for KIND that validates as written."""
    target = out or Path(f"{site_id}.yaml")
    if target.exists() and not force:
        raise ProvisionError(f"{target} exists", hint="choose another --out, or --force")
    target.write_text(new_site_text(kind, site_id, name), encoding="utf-8")
    result = validate_file(target)
    if not result.ok:
        print_findings(result.findings, as_json=False)
        raise typer.Exit(1)
    console.print(f"wrote {target}; next: `provision validate {target}`")
