"""The ansible-runner adapter: every Ansible run of provision goes through here."""

from provision.onsite.runner import (
    FileDiff,
    GatewayPlan,
    PlaybookResult,
    TaskChange,
    gateway_plan,
    run_for_site,
    run_playbook,
)

__all__ = ["FileDiff", "GatewayPlan", "PlaybookResult", "TaskChange", "gateway_plan",
           "run_for_site", "run_playbook"]
