"""The `provision` command. Each command module registers its commands on the one typer app;
`main` imports only the module of the command being run, so `provision validate` does not
pay for boto3, ansible-runner and the lab. `full_app()` is the app with every command."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from provision.cli.app import app, run

# Which module registers each top-level command (a test checks this against the app).
COMMAND_MODULES = {
    "validate": "site_cmds", "rules": "site_cmds", "schema": "site_cmds", "new": "site_cmds",
    "render": "render_cmds",
    "plan": "deploy_cmds", "apply": "deploy_cmds", "up": "deploy_cmds",
    "teardown": "deploy_cmds", "drift": "deploy_cmds", "force-unlock": "deploy_cmds",
    "iam-policy": "deploy_cmds",
    "status": "fleet_cmds", "expire": "fleet_cmds",
    "lab": "gateway_cmds", "verify": "gateway_cmds",
    "pack": "pack_cmds",
}


def load_commands(argv: Sequence[str] | None = None) -> None:
    """Imports the module of the command in `argv`, or every module (for --help, a typo, or
    when `argv` is None)."""
    command = next((arg for arg in argv or () if not arg.startswith("-")), None)
    wanted = ([COMMAND_MODULES[command]] if command in COMMAND_MODULES
              else dict.fromkeys(COMMAND_MODULES.values()))  # --help lists them in this order
    for module in wanted:
        importlib.import_module(f"provision.cli.{module}")


def main() -> None:
    load_commands(sys.argv[1:])
    run()


def full_app() -> typer.Typer:
    load_commands()
    return app


__all__ = ["COMMAND_MODULES", "full_app", "load_commands", "main"]
