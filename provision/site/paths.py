"""Where a site's local working files live: `.provision/<site-id>/` beside the site file
(state, the lab, the last verify results, the handover pack), so a site folder carries its
own history and nothing is written elsewhere."""

from __future__ import annotations

from pathlib import Path

WORK_DIR_NAME = ".provision"


def work_root(site_file: Path) -> Path:
    return site_file.resolve().parent / WORK_DIR_NAME


def work_dir(site_file: Path, site_id: str) -> Path:
    return work_root(site_file) / site_id


def verify_results_file(site_file: Path, site_id: str) -> Path:
    """The last verify results: kept beside state, so they outlive the lab and the handover
    pack can show them."""
    return work_dir(site_file, site_id) / "verify.json"
