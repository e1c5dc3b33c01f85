#!/usr/bin/python
"""Ansible module: load an nftables ruleset file, and reload it when the LIVE ruleset drifted."""

from __future__ import annotations

DOCUMENTATION = r"""
module: provision_nftables
short_description: Keep the live nftables ruleset equal to a ruleset file
description:
  - Comparing files is not enough: a ruleset changed by hand (nft delete table ...) leaves the
    file as it was. After each load this module records the file's digest and the ruleset as
    the kernel lists it (C(nft -s list ruleset), without counters); it reloads when the file or
    the live listing no longer match that record, and reports changed only then.
  - The ruleset file is expected to own the whole ruleset (it begins with C(flush ruleset)).
options:
  path: {description: The ruleset file on the gateway (state=present)., type: path}
  state: {description: present loads it; absent flushes the ruleset., type: str, choices: [present, absent], default: present}
  record: {description: Where the record of the last load is kept., type: path, default: /run/provision/nftables.json}
  file_changed: {description: The ruleset file was just replaced (in check mode it was not written, so a load is due)., type: bool, default: false}
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule


def _listing(module):
    return module.run_command(["nft", "-s", "list", "ruleset"], check_rc=True)[1]


def _record(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "record": {"type": "path", "default": "/run/provision/nftables.json"},
            # The task before replaced the file; in check mode it was not written, so the
            # file on disk is still the old one and cannot tell that a load is due.
            "file_changed": {"type": "bool", "default": False},
        },
        required_if=[("state", "present", ["path"])],
        supports_check_mode=True,
    )
    params = module.params
    live = _listing(module)

    if params["state"] == "absent":
        changed = bool(live.strip())
        if changed and not module.check_mode:
            module.run_command(["nft", "flush", "ruleset"], check_rc=True)
        if not module.check_mode and os.path.exists(params["record"]):
            os.unlink(params["record"])
        module.exit_json(changed=changed, diff={"before": live, "after": ""})

    if module.check_mode and not os.path.exists(params["path"]):
        # A plan before the first apply: the ruleset file is not on the gateway yet.
        module.exit_json(changed=True, reason="the ruleset file is not installed yet",
                         diff={"before": live, "after": "(the rendered nftables.conf)\n"})
    with open(params["path"], "rb") as handle:
        text = handle.read()
    digest = hashlib.sha256(text).hexdigest()
    record = _record(params["record"])
    if module.check_mode and params["file_changed"]:
        module.exit_json(changed=True, reason="the ruleset file changed")  # its diff is above
    if record and record["digest"] == digest and record["listing"] == live:
        module.exit_json(changed=False, reason="the live ruleset is the one last loaded")
    if record is None:
        reason = "no record of a load by provision"
    elif record["digest"] != digest:
        reason = "the ruleset file changed"
    else:
        reason = "the live ruleset was changed outside provision"
    # What the kernel will list is known only after a load; until then, show the file.
    expected = record["listing"] if record and record["digest"] == digest else text.decode()
    if module.check_mode:
        module.exit_json(changed=True, reason=reason, diff={"before": live, "after": expected})
    module.run_command(["nft", "-f", params["path"]], check_rc=True)
    loaded = _listing(module)
    os.makedirs(os.path.dirname(params["record"]), exist_ok=True)
    with open(params["record"], "w", encoding="utf-8") as handle:
        json.dump({"digest": digest, "listing": loaded}, handle)
    module.exit_json(changed=True, reason=reason, diff={"before": live, "after": loaded})


if __name__ == "__main__":
    main()
