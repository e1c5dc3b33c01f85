"""The typer application and the one place user-facing errors are caught."""

from __future__ import annotations

import sys

import typer

from provision.errors import ProvisionError, SiteInvalid

app = typer.Typer(
    name="provision",
    help="Stand up a health or care site from one YAML file: validate, plan, apply, verify, "
    "teardown.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Keeps `provision` a group of commands even when `main` has loaded just one of them
    (typer runs a lone command as the whole program)."""


def run() -> None:
    """Runs the app with the commands registered so far; `provision.cli.main` registers the
    one being run first."""
    from provision.cli import output  # here, to keep `--help` light

    try:
        app()
    except SiteInvalid as exc:
        output.print_findings(exc.findings, as_json="--json" in sys.argv)
        sys.exit(exc.exit_code)
    except ProvisionError as exc:
        output.print_error(exc, as_json="--json" in sys.argv)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        output.print_error(ProvisionError("interrupted", hint="re-run the same command to "
                                          "resume; state was saved after every step"),
                           as_json="--json" in sys.argv)
        sys.exit(130)
