"""`provision` imports only the module of the command being run: the map it uses must name
every command, and the module that really registers it."""

from __future__ import annotations

import subprocess
import sys

from provision.cli import COMMAND_MODULES, full_app


def registered() -> dict[str, str]:
    """Top-level command name -> the provision.cli module whose function registered it."""
    found = {}
    app = full_app()
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        found[name] = command.callback.__module__.rsplit(".", 1)[-1]
    for group in app.registered_groups:
        assert group.name is not None and group.typer_instance is not None
        callbacks = [c.callback for c in group.typer_instance.registered_commands]
        found[group.name] = next(c.__module__ for c in callbacks if c).rsplit(".", 1)[-1]
    return found


def test_the_map_names_every_command_and_its_module() -> None:
    assert registered() == COMMAND_MODULES


def test_validate_does_not_load_the_cloud_or_ansible() -> None:
    probe = ("import sys; from provision.cli import load_commands; "
             "load_commands(['validate']); "
             "print(sorted(m for m in ('boto3', 'ansible_runner', 'provision.lab.lab') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert loaded.stdout.strip() == "[]"


def test_every_command_runs_when_only_its_module_is_loaded() -> None:
    """A module that registers one command must not turn `provision` into that command."""
    for command in COMMAND_MODULES:
        shown = subprocess.run([sys.executable, "-c", "from provision.cli import main; main()",
                                command, "--help"], capture_output=True, text=True)
        assert shown.returncode == 0, (command, shown.stdout + shown.stderr)
        assert f" {command} " in shown.stdout.splitlines()[1], (command, shown.stdout)
