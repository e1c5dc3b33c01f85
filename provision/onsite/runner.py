"""The one way provision runs Ansible: ansible-runner over the repo's playbooks/.

A run takes the rendered inventory folder (OUT/inventory from `provision render`; the rendered
configuration beside it, OUT/gateway, reaches the role as `provision_rendered_dir`), streams
task events to an EventSink, and returns counts and the changed tasks with their file diffs.
In check mode (`--check --diff`) the changed tasks are the on-site part of a plan.

Secrets: tasks marked no_log come back from Ansible censored; their diffs and messages are
replaced here too, so nothing a no_log task saw reaches an event, a result or an error.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

from provision.errors import PlaybookFailed
from provision.events import Event, EventSink, discard
from provision.render import render_site
from provision.site.model import Site

PLAYBOOKS_DIR = Path(__file__).resolve().parents[2] / "playbooks"
HIDDEN = "(hidden: the task is no_log)"
_TASK_EVENTS = {
    "runner_on_ok": "task.ok",
    "runner_on_failed": "task.failed",
    "runner_on_unreachable": "task.failed",
    "runner_on_skipped": "task.skipped",
}


@dataclass(frozen=True)
class FileDiff:
    path: str
    before: str
    after: str


@dataclass(frozen=True)
class TaskChange:
    """A task that changed (or, in check mode, would change) something on a host."""

    host: str
    task: str
    action: str
    path: str | None = None
    diffs: list[FileDiff] = field(default_factory=list)
    redacted: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlaybookResult:
    playbook: str
    check: bool
    ok: dict[str, int]
    changed: dict[str, int]
    changes: list[TaskChange]
    seconds: float  # for progress and reports; never asserted

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GatewayPlan:
    """The on-site part of a plan: what a run would change, file diffs, secrets redacted."""

    changes: list[TaskChange]

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_json(self) -> list[dict[str, Any]]:
        return [change.to_json() for change in self.changes]


@dataclass
class _Failure:
    host: str
    task: str
    message: str


def _is_hidden(res: dict[str, Any]) -> bool:
    return bool(res.get("_ansible_no_log")) or "censored" in res


def _path_of(res: dict[str, Any]) -> str | None:
    args = (res.get("invocation") or {}).get("module_args") or {}
    for value in (res.get("dest"), args.get("dest"), res.get("path"), args.get("path"),
                  args.get("name")):
        if isinstance(value, str) and value:
            return value
    return None


def _diffs(res: dict[str, Any]) -> list[FileDiff]:
    """Ansible's diffs of one result (a dict or a list of them) and of its loop items."""
    found: list[FileDiff] = []
    raw = res.get("diff") or []
    for diff in raw if isinstance(raw, list) else [raw]:
        if not isinstance(diff, dict):
            continue
        before, after = diff.get("before", ""), diff.get("after", "")
        if before == after:
            continue
        # The file on the gateway: copy's after_header names the controller-side source.
        path = _path_of(res) or diff.get("before_header") or diff.get("after_header") or ""
        found.append(FileDiff(str(path), _text(before), _text(after)))
    for item in res.get("results") or []:
        if isinstance(item, dict) and item.get("changed"):
            found += _diffs(item)
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else yaml.safe_dump(value, sort_keys=True)


def _message(res: dict[str, Any]) -> str:
    if _is_hidden(res):
        return HIDDEN
    message = str(res.get("msg") or res.get("stderr") or res.get("reason") or "").strip()
    failed_items = [i for i in res.get("results") or [] if isinstance(i, dict) and i.get("failed")]
    if not message and failed_items:
        message = _message(failed_items[0])
    return message or "no message"


class _Collector:
    """Turns ansible-runner events into provision Events, changes, counts and failures."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.changes: list[TaskChange] = []
        self.failures: list[_Failure] = []
        self.stats: dict[str, dict[str, int]] = {}

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        task = str(data.get("task") or "")
        if kind == "playbook_on_task_start":
            self.sink(Event("task.start", task, subject=task,
                            data={"action": data.get("task_action", "")}))
        elif kind == "playbook_on_stats":
            self.stats = {key: dict(data.get(key) or {}) for key in ("ok", "changed")}
        elif kind in _TASK_EVENTS:
            self._task_result(kind, data, task)
        return True

    def _task_result(self, kind: str, data: dict[str, Any], task: str) -> None:
        host, action = str(data.get("host") or ""), str(data.get("task_action") or "")
        res: dict[str, Any] = data.get("res") or {}
        hidden = _is_hidden(res)
        info: dict[str, Any] = {"host": host, "action": action}
        event_kind = _TASK_EVENTS[kind]
        if event_kind == "task.failed":
            if data.get("ignore_errors"):
                event_kind = "task.ok"
            else:
                message = _message(res)
                self.failures.append(_Failure(host, task, message))
                info["message"] = message
        elif event_kind == "task.ok" and res.get("changed"):
            event_kind = "task.changed"
            change = TaskChange(host=host, task=task, action=action,
                                path=None if hidden else _path_of(res),
                                diffs=[] if hidden else _diffs(res), redacted=hidden)
            self.changes.append(change)
            info["path"] = change.path
        detail = info.get("message") or info.get("path")
        self.sink(Event(event_kind, f"on {host}" + (f": {detail}" if detail else ""),
                        subject=task, data=info))


@contextmanager
def _private_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="provision-ansible-") as made:
        yield Path(made)


def _extra_inventory(inventory: Path, host_vars: dict[str, Any], folder: Path) -> Path:
    """An inventory file beside the rendered one (which stays untouched) that adds `host_vars`
    to every host that has rendered host variables."""
    hosts = sorted(p.stem for p in (inventory / "host_vars").glob("*.yml"))
    path = folder / "provision-extra-inventory.yml"
    path.write_text(yaml.safe_dump(
        {"all": {"hosts": {host: dict(host_vars) for host in hosts}}}, sort_keys=True))
    return path


def _path_with_our_tools() -> str:
    """PATH with this interpreter's scripts first: `.venv/bin/provision` is run without the
    virtual environment activated, and ansible-runner looks ansible-playbook up on PATH."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def run_playbook(playbook: str, inventory: Path, *, check: bool = False,
                 extra_vars: dict[str, Any] | None = None,
                 host_vars: dict[str, Any] | None = None, sink: EventSink = discard,
                 private_dir: Path | None = None, limit: str | None = None) -> PlaybookResult:
    """Run playbooks/<playbook> against the rendered inventory folder (OUT/inventory).

    `host_vars` are added to the rendered hosts (e.g. `GatewayBox.inventory_vars()` for a lab
    gateway). Raises PlaybookFailed naming the host, the task and the module's message.
    """
    inventory = inventory.resolve()
    if not (inventory / "hosts.yml").is_file():
        raise PlaybookFailed(f"no rendered inventory at {inventory}",
                             hint="run `provision render` for the site first")
    if not (PLAYBOOKS_DIR / playbook).is_file():
        raise PlaybookFailed(f"no playbook {playbook} in {PLAYBOOKS_DIR}")
    variables = {"provision_rendered_dir": str(inventory.parent), **(extra_vars or {})}
    collector = _Collector(sink)
    started = time.monotonic()
    with _private_dir(private_dir) as folder:
        sources = [str(inventory)]
        if host_vars:
            sources.append(str(_extra_inventory(inventory, host_vars, folder)))
        sink(Event("step.start", f"ansible-playbook {playbook}" + (" (check)" if check else ""),
                   subject=playbook))
        run = ansible_runner.run(
            private_data_dir=str(folder), project_dir=str(PLAYBOOKS_DIR), playbook=playbook,
            inventory=sources, extravars=variables, limit=limit,
            cmdline="--check --diff" if check else "--diff",
            envvars={"ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                     "ANSIBLE_PIPELINING": "1", "PATH": _path_with_our_tools()},
            event_handler=collector, quiet=True, suppress_env_files=True)
        output = "" if run.rc == 0 else run.stdout.read()
    if collector.failures:
        first = collector.failures[0]
        raise PlaybookFailed(f"{playbook} failed on {first.host} at task '{first.task}': "
                             f"{first.message}", hint="fix the cause and run again; tasks "
                             "that completed are not repeated needlessly")
    if run.rc != 0:
        raise PlaybookFailed(f"{playbook} failed ({run.status}, rc {run.rc}): "
                             f"{output.strip()[-1500:]}")
    seconds = round(time.monotonic() - started, 2)
    sink(Event("step.done", f"ansible-playbook {playbook}: {len(collector.changes)} changed",
               subject=playbook, data={"seconds": seconds}))
    return PlaybookResult(playbook=playbook, check=check, ok=collector.stats.get("ok", {}),
                          changed=collector.stats.get("changed", {}),
                          changes=collector.changes, seconds=seconds)


def gateway_plan(inventory: Path, *, playbook: str = "site.yml",
                 extra_vars: dict[str, Any] | None = None,
                 host_vars: dict[str, Any] | None = None, sink: EventSink = discard,
                 private_dir: Path | None = None, limit: str | None = None) -> GatewayPlan:
    """What running `playbook` would change on the gateway now, from a check-mode run."""
    result = run_playbook(playbook, inventory, check=True, extra_vars=extra_vars,
                          host_vars=host_vars, sink=sink, private_dir=private_dir, limit=limit)
    return GatewayPlan(result.changes)


def run_for_site(site: Site, folder: Path, playbook: str, *, check: bool = False,
                 host_vars: dict[str, Any] | None = None,
                 extra_vars: dict[str, Any] | None = None,
                 sink: EventSink = discard) -> PlaybookResult:
    """Render the site into `folder`/rendered and run a playbook against that inventory, with
    Ansible's working files in `folder`/ansible: the one path the lab and real gateways share.
    """
    rendered = folder / "rendered"
    render_site(site, rendered)
    return run_playbook(playbook, rendered / "inventory", check=check, extra_vars=extra_vars,
                        host_vars=host_vars, sink=sink, private_dir=folder / "ansible")
