"""Progress events: the engine and the Ansible adapter emit them, the CLI renders them.

Like ansible-runner's event stream, an event is a small JSON-ready record; whoever runs the
work passes an `EventSink` (any callable), so the same engine serves a terminal, `--json`
and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    kind: str  # e.g. "step.start", "step.done", "step.failed", "task.changed", "check.result"
    message: str
    subject: str = ""  # the resource address, task name or check name it concerns
    data: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


EventSink = Callable[[Event], None]


def discard(_event: Event) -> None:
    """A sink for callers that do not want progress."""
