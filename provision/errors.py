"""The one exception tree for user-facing errors. The CLI catches ProvisionError once and prints
its message and hint without a traceback; anything else is a bug and keeps its traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provision.checks.findings import Finding


class ProvisionError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class SiteInvalid(ProvisionError):
    """The site file has errors; `findings` holds every one of them."""

    def __init__(self, findings: list[Finding]) -> None:
        errors = [f for f in findings if f.is_error]
        super().__init__(f"the site file has {len(errors)} error(s)",
                         hint="run `provision validate` on it for the details")
        self.findings = findings


class Refused(ProvisionError):
    """A safety rule stopped the command (protect: true, a wrong confirmation, a replacement)."""


class StateError(ProvisionError):
    """The saved state cannot be read or written."""


class LockHeld(StateError):
    """Another run holds the site's lock."""


class PlanStale(ProvisionError):
    """A saved plan no longer matches the site file or the state it was made from."""


class CloudCallFailed(ProvisionError):
    """An AWS call failed; the message names the resource and the operation."""


class PlaybookFailed(ProvisionError):
    """An Ansible run failed; the message names the host and the task."""


class LabError(ProvisionError):
    """The local lab (emulator or namespaces) could not be brought up or down."""


class VerifyFailed(ProvisionError):
    """One or more verify checks failed."""


class RenderFailed(ProvisionError):
    """The gateway configuration could not be rendered (a template error names template:line)."""
