"""The rule registry shared by the semantic and policy layers.

A rule is a function that yields Problems (a path into the document, what is wrong, the fix);
the registry gives it an id, a severity and the sections it needs, so the runner can still run
it when other sections failed their schema check, and `provision validate --rules` can list it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from provision.checks.findings import Severity
from provision.site.model import Site
from provision.site.source import PathKey


@dataclass(frozen=True)
class Problem:
    path: PathKey
    message: str
    fix: str
    severity: Severity | None = None  # overrides the rule's default where a case is milder


SiteCheck = Callable[[Site], Iterable[Problem]]
DocumentCheck = Callable[[Any], Iterable[Problem]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    needs: frozenset[str]  # top-level sections that must have passed the schema layer
    on: Literal["site", "document"]
    check: Callable[[Any], Iterable[Problem]]


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, summary: str, *, needs: Iterable[str] = (),
         on: Literal["site", "document"] = "site") -> Callable[[SiteCheck], SiteCheck]:
    def register(check: SiteCheck) -> SiteCheck:
        if rule_id in RULES:
            raise ValueError(f"rule id {rule_id} registered twice")
        RULES[rule_id] = Rule(rule_id, severity, summary, frozenset(needs), on, check)
        return check
    return register
