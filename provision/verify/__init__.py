"""`provision verify`: checks a site against its file with real traffic in the lab."""

from provision.verify.run import KINDS, CheckResult, VerifyReport, failover_deadline, verify_lab

__all__ = ["KINDS", "CheckResult", "VerifyReport", "failover_deadline", "verify_lab"]
