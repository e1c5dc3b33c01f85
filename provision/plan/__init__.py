"""The Plan value and build_plan: pure, no I/O."""

from provision.plan.build import build_plan
from provision.plan.model import (
    ACTIONS,
    DESTRUCTIVE,
    Change,
    Fingerprint,
    Mode,
    Observed,
    Plan,
    Step,
    redact,
)

__all__ = ["ACTIONS", "DESTRUCTIVE", "Change", "Fingerprint", "Mode", "Observed", "Plan",
           "Step", "build_plan", "redact"]
