"""Commands about the site file itself: validate, rules, schema, new."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from provision.checks import RULES, STRUCTURAL_CHECKS, Finding, Severity, validate_file
from provision.cli.app import app
from provision.cli.output import console, findings_json, print_findings, print_json
from provision.errors import ProvisionError
from provision.site.model import SiteKind
from provision.site.paths import site_files

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
# Paths and ids printed as written: no ":x:" emoji codes, no wrapping in the middle of a path.
PLAIN: dict[str, Any] = {"emoji": False, "soft_wrap": True}


@app.command()
def validate(
    sites: Annotated[list[Path], typer.Argument(help="Site files, or directories of them.")],
    as_json: JsonFlag = False,
) -> None:
    """Check site files: schema, meaning and the Internet First policy. Exit 1 on any error."""
    files = site_files(sites)
    findings: list[Finding] = []
    summary: list[dict[str, Any]] = []
    for path in files:
        result = validate_file(path)
        found = result.findings
        findings += found
        errors = sum(1 for f in found if f.is_error)
        summary.append({"file": str(path), "ok": not errors, "errors": errors,
                        "warnings": len(found) - errors, "not_checked": result.skipped,
                        "sections_with_shape_errors": result.invalid_sections})
    failed = any(f.is_error for f in findings)
    if as_json:
        print_json({"ok": not failed, "files": summary, "findings": findings_json(findings)})
    else:
        for item in summary:
            if not item["errors"] and not item["warnings"]:
                console.print(f"[bold]{escape(item['file'])}[/]: [green]ok[/]", **PLAIN)
        print_findings(findings, as_json=False)
        for item in summary:
            if item["not_checked"]:
                console.print(
                    f"[yellow]note:[/] {escape(item['file'])}: {len(item['not_checked'])} "
                    "checks did not run because of the shape errors in "
                    f"{', '.join(item['sections_with_shape_errors'])} (fix those and "
                    "validate again): "
                    f"{escape(', '.join(item['not_checked']))}", **PLAIN)
    if failed:
        raise typer.Exit(1)


@app.command()
def rules(as_json: JsonFlag = False) -> None:
    """List every check with its id, severity and what it enforces."""
    listing = [{"id": rule_id, "severity": Severity.ERROR.value, "summary": summary}
               for rule_id, summary in STRUCTURAL_CHECKS.items()]
    listing += [{"id": r.id, "severity": r.severity.value, "summary": r.summary}
                for r in RULES.values()]
    if as_json:
        print_json(listing)
        return
    for item in listing:
        console.print(escape(f"{item['id']:<20} {item['severity']:<8} {item['summary']}"),
                      **PLAIN)


@app.command()
def schema() -> None:
    """Print the site file's JSON Schema (for editors' YAML language servers)."""
    from provision.site.schema import site_json_schema

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
    from provision.site.templates import new_site_text

    text = new_site_text(kind, site_id, name)
    target = out or Path(f"{site_id}.yaml")
    if target.exists() and not force:
        raise ProvisionError(f"{target} exists", hint="choose another --out, or --force")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ProvisionError(f"cannot write {target}: {exc.strerror}",
                             hint="check that the folder exists and you may write to it"
                             ) from exc
    console.print(escape(f"wrote {target}; next: edit the values marked CHANGE, then "
                         f"`provision validate {target}`"), **PLAIN)
