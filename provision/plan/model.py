"""The Plan: a plain, JSON-serialisable value a person reviews and `apply` executes exactly.

A plan names the state it was computed from (lineage + serial) and fingerprints the site file,
so a saved plan is refused once either has moved on. Attribute values go through `redact`, so a
value whose name looks secret never reaches a plan file, a terminal or the state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from provision.aws.resource import Live, Ref

PLAN_FORMAT = 1
Mode = Literal["apply", "destroy"]

# Display and execution order: teardown's retire phase first, destructive actions last.
ACTIONS = ("retire", "create", "adopt", "update", "replace", "delete")
DESTRUCTIVE = frozenset({"replace", "delete"})

REDACTED = "<redacted>"
# Names of attributes that would hold a secret *value* (a secret's name, e.g.
# "passphrase_secret", is fine). Resource types never put such values in attrs; this catches
# a mistake before it is written anywhere.
_SECRET_NAME = re.compile(
    r"(^|_)(password|passphrase|secret_string|secret_value|secret_binary|private_key|"
    r"client_secret|token|api_key)$", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def to_json_value(value: Any, name: str = "") -> Any:
    """Refs become {"$ref": ...}; a text value under a secret-looking name is redacted."""
    if isinstance(value, Ref):
        return value.to_json()
    if isinstance(value, dict):
        return {k: to_json_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v, name) for v in value]
    if isinstance(value, str) and looks_secret(name):
        return REDACTED
    return value


def redact(attrs: dict[str, Any]) -> dict[str, Any]:
    """JSON form of a resource's attributes, safe to write anywhere."""
    result: dict[str, Any] = to_json_value(attrs)
    return result


def from_json_value(value: Any) -> Any:
    """The inverse of `to_json_value` for Refs (redacted values stay redacted)."""
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            address, _, output = str(value["$ref"]).rpartition(".")
            return Ref(address, output)
        return {k: from_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json_value(v) for v in value]
    return value


def contains_redacted(value: Any) -> bool:
    if isinstance(value, dict):
        return any(contains_redacted(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_redacted(v) for v in value)
    return bool(value == REDACTED)


@dataclass(frozen=True)
class Observed:
    """What refresh read: the live resource at each address, and `extras`, owned resources
    found by their tags at an address already taken by another id (a killed run's duplicate)."""

    live: dict[str, Live]
    extras: tuple[Live, ...] = ()


@dataclass(frozen=True)
class Change:
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after}


@dataclass(frozen=True)
class Step:
    action: str  # one of ACTIONS
    address: str
    type: str
    id: str | None  # the physical id acted on (None for create)
    changes: dict[str, Change]  # only the attributes that change (JSON form, redacted)
    attrs: dict[str, Any]  # the full desired attributes (JSON form), what apply sends
    depends_on: tuple[str, ...] = ()  # keys of steps that must finish first

    @property
    def key(self) -> str:
        return f"{self.action}:{self.address}"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "address": self.address, "type": self.type,
                "id": self.id, "changes": {k: c.to_json() for k, c in self.changes.items()},
                "attrs": self.attrs, "depends_on": list(self.depends_on)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(data["action"], data["address"], data["type"], data["id"],
                   {k: Change(c["before"], c["after"]) for k, c in data["changes"].items()},
                   data["attrs"], tuple(data["depends_on"]))


@dataclass(frozen=True)
class Fingerprint:
    """What a plan was computed from: the site file (and its users CSV) and the state."""

    site_file: str  # absolute path, so `apply PLAN` finds the site again
    site_sha256: str
    users_sha256: str | None
    state_lineage: str
    state_serial: int

    def to_json(self) -> dict[str, Any]:
        return {"site_file": self.site_file, "site_sha256": self.site_sha256,
                "users_sha256": self.users_sha256, "state_lineage": self.state_lineage,
                "state_serial": self.state_serial}


@dataclass(frozen=True)
class Plan:
    site_id: str
    mode: Mode
    fingerprint: Fingerprint
    steps: tuple[Step, ...]
    forget: tuple[str, ...] = ()  # state entries whose resources are gone and not wanted
    clear_pending: tuple[str, ...] = ()  # journalled intents of a killed run with no step left
    gateway: Any = None  # the on-site part (Ansible check mode), added by the on-site adapter
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def has_changes(self) -> bool:
        return bool(self.steps or self.forget or self.clear_pending or self.gateway)

    def counts(self) -> dict[str, int]:
        return {a: sum(1 for s in self.steps if s.action == a) for a in ACTIONS}

    def to_json(self) -> dict[str, Any]:
        return {"format": PLAN_FORMAT, "site_id": self.site_id, "mode": self.mode,
                "created_at": self.created_at, "fingerprint": self.fingerprint.to_json(),
                "summary": self.counts(), "steps": [s.to_json() for s in self.steps],
                "forget": list(self.forget), "clear_pending": list(self.clear_pending),
                "gateway": self.gateway}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a plan of format {PLAN_FORMAT}")
        return cls(data["site_id"], data["mode"], Fingerprint(**data["fingerprint"]),
                   tuple(Step.from_json(s) for s in data["steps"]), tuple(data["forget"]),
                   tuple(data["clear_pending"]), data.get("gateway"), data["created_at"])
