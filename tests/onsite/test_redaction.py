"""No secret a no_log task saw may leave the adapter: not in a change, an event or an error.

The events are the shapes ansible-runner emits for a no_log task (Ansible censors `res`
itself); the adapter must not rebuild what was hidden from its other fields.
"""

from __future__ import annotations

from provision.events import Event
from provision.onsite.runner import HIDDEN, _Collector

SECRET = "correct horse battery staple"


def _event(kind: str, res: dict[str, object]) -> dict[str, object]:
    return {"event": kind, "event_data": {
        "host": "site-gw", "task": "Write the access points' configuration",
        "task_action": "ansible.builtin.copy", "res": res}}


def test_a_changed_no_log_task_is_reported_without_its_diff_or_path() -> None:
    events: list[Event] = []
    collector = _Collector(events.append)

    collector(_event("runner_on_ok", {
        "censored": "the output has been hidden due to the fact that 'no_log: true' was "
        "specified for this result", "changed": True, "_ansible_no_log": True,
        "diff": {"before": "", "after": f"sae_password={SECRET}\n"},
        "invocation": {"module_args": {"dest": "/etc/provision/hostapd-clinical.conf"}}}))

    [change] = collector.changes
    assert change.redacted and change.diffs == [] and change.path is None
    assert SECRET not in repr(change.to_json()) + repr([e.to_json() for e in events])


def test_a_failed_no_log_task_hides_its_message() -> None:
    collector = _Collector(lambda _event: None)

    collector(_event("runner_on_failed", {"censored": "hidden", "_ansible_no_log": True,
                                          "msg": f"bad passphrase {SECRET}"}))

    assert collector.failures[0].message == HIDDEN
