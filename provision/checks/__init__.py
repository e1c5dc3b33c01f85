"""The only way a site enters the tool: read, then checked in layers (schema, semantics,
policy), every problem collected before anything is reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.checks import policy, semantic  # noqa: F401  (registers the rules)
from provision.checks.findings import Finding, Severity
from provision.checks.rules import RULES, Problem, Rule
from provision.checks.schema import SCHEMA_RULES, check_schema
from provision.errors import SiteInvalid
from provision.site.loader import LOADER_RULES, read_yaml
from provision.site.model import Identity, Site
from provision.site.source import SourceMap
from provision.site.users_csv import USERS_FILE_RULES, read_users

__all__ = ["RULES", "STRUCTURAL_CHECKS", "Finding", "Severity", "Validation", "load_site",
           "validate_file"]

# Checks that are not Rules (they run before a Site exists): id -> what they enforce.
# Every one of them reports errors.
STRUCTURAL_CHECKS = {**LOADER_RULES, **SCHEMA_RULES, **USERS_FILE_RULES}


@dataclass
class Validation:
    file: Path
    site: Site | None  # None when any section failed its schema check
    findings: list[Finding] = field(default_factory=list)
    # Rules that could not run because a section they read has shape errors: said out loud,
    # so a user knows another pass may find more once those are fixed.
    skipped: list[str] = field(default_factory=list)
    invalid_sections: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def _with_csv_users(identity: Identity, site_file: Path, source: SourceMap
                    ) -> tuple[Identity, list[Finding]]:
    """Appends the users of `users_file` (relative to the site file) to the inline ones."""
    if identity.users_file is None:
        return identity, []
    extra, findings = read_users(site_file.parent / identity.users_file, source,
                                 ("identity", "users"), first_index=len(identity.users))
    return identity.model_copy(update={"users": [*identity.users, *extra]}), findings


def _run_rule(rule: Rule, target: Any, source: SourceMap) -> list[Finding]:
    problems: list[Problem] = list(rule.check(target))
    return [Finding(rule.id, p.severity or rule.severity, source.at(*p.path), p.message, p.fix)
            for p in problems]


def validate_file(path: Path) -> Validation:
    """Every finding for one site file; never raises for anything wrong with the file."""
    document = read_yaml(path)
    if document.findings:
        return Validation(path, None, document.findings)
    findings: list[Finding] = []
    schema = check_schema(document.data, document.source)
    findings += schema.findings
    sections = schema.sections
    if "identity" in sections:
        sections["identity"], csv_findings = _with_csv_users(sections["identity"], path,
                                                             document.source)
        findings += csv_findings
    partial = Site.model_construct(**sections)
    partial._source = document.source
    skipped: list[str] = []
    for rule in RULES.values():
        if rule.on == "document":
            findings += _run_rule(rule, document.data, document.source)
        elif not rule.needs & schema.invalid:
            findings += _run_rule(rule, partial, document.source)
        else:
            skipped.append(rule.id)
    site = partial if not schema.invalid else None
    findings.sort(key=Finding.sort_key)
    return Validation(path, site, findings, skipped, sorted(schema.invalid))


def load_site(path: Path) -> Site:
    """The site, ready for planning; raises SiteInvalid (with every finding) on any error."""
    result = validate_file(path)
    if result.site is None or not result.ok:
        raise SiteInvalid(result.findings)
    return result.site
