"""Where a site's local working files live: `.provision/<site-id>/` beside the site file
(state, the lab, the last verify results, the handover pack), so a site folder carries its
own history and nothing is written elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

WORK_DIR_NAME = ".provision"
SITE_SUFFIXES = (".yaml", ".yml")


def site_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, with each directory replaced by the site files beneath it, less the
    tool's own working folders (a directory without any stays, so that it is reported rather
    than silently skipped)."""
    files: list[Path] = []
    for path in paths:
        beneath = sorted(p for p in path.rglob("*") if p.suffix in SITE_SUFFIXES
                         and p.is_file() and WORK_DIR_NAME not in p.relative_to(path).parts
                         ) if path.is_dir() else []
        files += beneath or [path]
    return files


def work_root(site_file: Path) -> Path:
    return site_file.resolve().parent / WORK_DIR_NAME


def work_dir(site_file: Path, site_id: str) -> Path:
    return work_root(site_file) / site_id


def verify_results_file(site_file: Path, site_id: str) -> Path:
    """The last verify results: kept beside state, so they outlive the lab and the handover
    pack can show them."""
    return work_dir(site_file, site_id) / "verify.json"
