"""The `provision` command. Each command module registers itself on the one typer app."""

from provision.cli import (
    deploy_cmds,  # noqa: F401
    fleet_cmds,  # noqa: F401
    gateway_cmds,  # noqa: F401
    pack_cmds,  # noqa: F401
    render_cmds,  # noqa: F401
    site_cmds,  # noqa: F401  (registers commands)
)
from provision.cli.app import app, main

__all__ = ["app", "main"]
