"""Every site of a folder at once: each file read on its own, so one broken file or one
unreachable state becomes that site's row and never hides the others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provision.checks import Finding, validate_file
from provision.deploy import SiteRun
from provision.engine.state import LastApply, LockInfo
from provision.engine.workflow import drift
from provision.errors import ProvisionError, SiteInvalid
from provision.fleet.lifetime import LifetimeStatus, lifetime_status
from provision.site.model import Site

OpenRun = Callable[[Path], SiteRun]


def first_error(findings: list[Finding]) -> str:
    errors = [f for f in findings if f.is_error] or findings
    return (f"does not validate: {errors[0].location}: {errors[0].message}" if errors
            else "does not validate")


@dataclass
class SiteFile:
    """A site file as read: the site, or why it could not be read."""

    file: Path
    site: Site | None
    error: str | None = None


def read_sites(files: Iterable[Path]) -> list[SiteFile]:
    found: list[SiteFile] = []
    for path in files:
        result = validate_file(path)
        if result.site is None or not result.ok:
            found.append(SiteFile(path, None, first_error(result.findings)))
        else:
            found.append(SiteFile(path, result.site))
    return found


@dataclass(frozen=True)
class Drift:
    """Live against state: "none", "differences" (`count` of them) or "unknown" (`why`)."""

    status: str
    count: int = 0
    why: str | None = None

    @classmethod
    def of(cls, run: SiteRun) -> Drift:
        try:
            found = drift(run.workspace)
        except ProvisionError as exc:
            return cls("unknown", why=exc.message)
        return cls("differences", len(found)) if found else cls("none")

    def describe(self) -> str:
        if self.status == "differences":
            return f"{self.count} difference{'' if self.count == 1 else 's'}"
        return f"unknown ({self.why})" if self.status == "unknown" else "none"


@dataclass
class SiteReport:
    """One row of `provision status` over a folder."""

    file: Path
    site: Site | None = None
    lifetime: LifetimeStatus | None = None
    last_apply: LastApply | None = None
    resources: int | None = None
    lock: LockInfo | None = None
    drift: Drift | None = None  # None when not asked for (or the state could not be read)
    error: str | None = None

    @property
    def needs_action(self) -> bool:
        """Past closing, or the cloud no longer matches state: a pipeline can act on it."""
        return bool((self.lifetime and self.lifetime.past_closing)
                    or (self.drift and self.drift.status == "differences"))

    @property
    def failed(self) -> bool:
        return self.error is not None or bool(self.drift and self.drift.status == "unknown")

    def to_json(self) -> dict[str, Any]:
        info = self.site.site if self.site else None
        return {
            "file": str(self.file),
            "site_id": info.id if info else None,
            "kind": info.kind.value if info else None,
            "opens": info.lifetime.opens.isoformat() if info else None,
            "closes": info.lifetime.closes.isoformat() if info and info.lifetime.closes
            else None,
            "lifetime": self.lifetime.to_json() if self.lifetime else None,
            "protect": info.protect if info else None,
            "last_apply": asdict(self.last_apply) if self.last_apply else None,
            "resources": self.resources,
            "lock": asdict(self.lock) if self.lock else None,
            "drift": asdict(self.drift) if self.drift else None,
            "error": self.error,
        }


def site_report(entry: SiteFile, today: dt.date, open_run: OpenRun, *,
                with_drift: bool) -> SiteReport:
    """The row for one site file: what its file says, what its state records, and (when
    asked) whether the live cloud still matches that state."""
    report = SiteReport(entry.file, entry.site, error=entry.error)
    if entry.site is None:
        return report
    report.lifetime = lifetime_status(entry.site, today)
    try:
        run = open_run(entry.file)
        state = run.workspace.backend.load()
        report.lock = run.workspace.backend.holder()
    except SiteInvalid as exc:  # changed since it was read
        report.error = first_error(exc.findings)
        return report
    except ProvisionError as exc:
        report.error = exc.message
        return report
    report.last_apply = state.last_apply
    report.resources = len(state.resources)
    if with_drift:
        report.drift = Drift.of(run)
    return report


def survey(files: Iterable[Path], today: dt.date, open_run: OpenRun, *,
           with_drift: bool = True) -> list[SiteReport]:
    return [site_report(entry, today, open_run, with_drift=with_drift)
            for entry in read_sites(files)]
