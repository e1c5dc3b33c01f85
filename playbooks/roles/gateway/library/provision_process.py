#!/usr/bin/python
"""Ansible module: keep a long-running process up without systemd (the lab's direct path)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: provision_process
short_description: Start, stop or restart a foreground daemon without a service manager
description:
  - The lab gateway has no systemd (PID 1 is something else), so the gateway role starts its
    daemons itself. The process runs in its own session with its output in a log file; its pid
    and command line are recorded under I(run_dir). A process counts as running while the
    recorded pid is alive with the recorded command line, so a changed command line restarts it.
options:
  name: {description: Service name; names the pid record and the log file., required: true, type: str}
  argv: {description: The command line (foreground). Required unless I(state=stopped)., type: list, elements: str}
  env: {description: Extra environment variables., type: dict, default: {}}
  state: {description: Wanted state., type: str, choices: [started, stopped, restarted], default: started}
  run_dir: {description: Where pid records live., type: path, default: /run/provision}
  log_dir: {description: Where the process's output goes., type: path, default: /var/log/provision}
"""

import json
import os
import signal
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode() for part in handle.read().split(b"\0")[:-1]]
    except OSError:
        return None


def _running(record_path):
    """The recorded process if it is still the one we started, else None."""
    try:
        with open(record_path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    if _alive(record["pid"]) and _cmdline(record["pid"]) == record["argv"]:
        return record
    return None


def _stop(record):
    pid = record["pid"]
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)  # the process leads its own session: its children go too
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if not _alive(pid):
            return


def _start(module, name, argv, env, record_path, log_dir):
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, f"{name}.log")
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        process = subprocess.Popen(argv, stdin=devnull, stdout=log, stderr=log,
                                   env={**os.environ, **env}, start_new_session=True,
                                   close_fds=True)
    time.sleep(0.3)  # a daemon that cannot start (bad config, port taken) exits at once
    if process.poll() is not None:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            tail = log.read()[-2000:]
        module.fail_json(msg=f"{name} exited at once with status {process.returncode}",
                         log_tail=tail)
    with open(record_path, "w", encoding="utf-8") as handle:
        json.dump({"pid": process.pid, "argv": argv, "env": env}, handle)
    return process.pid


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "argv": {"type": "list", "elements": "str"},
            "env": {"type": "dict", "default": {}},
            "state": {"type": "str", "default": "started",
                      "choices": ["started", "stopped", "restarted"]},
            "run_dir": {"type": "path", "default": "/run/provision"},
            "log_dir": {"type": "path", "default": "/var/log/provision"},
        },
        required_if=[("state", "started", ["argv"]), ("state", "restarted", ["argv"])],
        supports_check_mode=True,
    )
    params = module.params
    name, state = params["name"], params["state"]
    argv = params["argv"]
    env = {key: str(value) for key, value in params["env"].items()}
    os.makedirs(params["run_dir"], exist_ok=True)
    record_path = os.path.join(params["run_dir"], f"{name}.json")
    record = _running(record_path)
    wanted = {"argv": argv, "env": env}
    current = {"argv": record["argv"], "env": record.get("env", {})} if record else None

    if state == "stopped":
        changed = record is not None
        if changed and not module.check_mode:
            _stop(record)
        if not module.check_mode and os.path.exists(record_path):
            os.unlink(record_path)
        module.exit_json(changed=changed, name=name)

    changed = state == "restarted" or current != wanted
    result = {"changed": changed, "name": name,
              "diff": {"before": json.dumps(current, indent=1) + "\n" if current else "(stopped)\n",
                       "after": json.dumps(wanted, indent=1) + "\n"}}
    if changed and not module.check_mode:
        if record is not None:
            _stop(record)
        result["pid"] = _start(module, name, argv, env, record_path, params["log_dir"])
    elif record is not None:
        result["pid"] = record["pid"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
