"""Cloud benchmark: the field hospital against a moto server this script starts itself.

Prints resources, AWS API calls by operation and wall time for apply-from-empty, a no-op
plan and teardown, then checks the no-op plan against its baseline: no write calls, and at
most about one read per resource (READS_PER_RESOURCE allows for types that read several
settings, e.g. a bucket's encryption, versioning, policy and lifecycle). Exit 1 if it fails.

    python bench/cloud_bench.py [--site sites/examples/field-hospital.yaml]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from provision.aws.session import AwsSession
from provision.engine.workflow import StateOptions, converge, make_plan, open_workspace
from provision.plan import Plan

REPO = Path(__file__).resolve().parent.parent
READS_PER_RESOURCE = 2.5  # the baseline: "about one read per resource", with slack for S3
READ_PREFIXES = ("Get", "List", "Describe", "Head")


@contextmanager
def moto_server() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MOTO_ACM_VALIDATION_WAIT": "1"}
    process = subprocess.Popen([shutil.which("moto_server") or "moto_server", "-H",
                                "127.0.0.1", "-p", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


class CallCounter:
    """Counts every AWS API call made through a session ('before-call' hook)."""

    def __init__(self, aws: AwsSession) -> None:
        self.calls: Counter[str] = Counter()
        aws.events.register("before-call", self._count)

    def _count(self, model: Any, **_kwargs: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def is_read(call: str) -> bool:
    operation = call.split(":", 1)[1]
    return operation.removeprefix("Admin").startswith(READ_PREFIXES)  # AdminGetUser reads


def measure(label: str, counter: CallCounter, work: Callable[[], Any]) -> dict[str, Any]:
    counter.take()
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    calls = counter.take()
    return {"label": label, "seconds": seconds, "calls": calls, "result": result}


def print_phase(phase: dict[str, Any]) -> None:
    calls: Counter[str] = phase["calls"]
    reads = sum(n for c, n in calls.items() if is_read(c))
    print(f"\n== {phase['label']}: {phase['seconds']:.2f} s, {sum(calls.values())} calls "
          f"({reads} reads, {sum(calls.values()) - reads} writes)")
    for call, count in sorted(calls.items(), key=lambda item: (-item[1], item[0])):
        print(f"   {count:4d}  {call}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path,
                        default=REPO / "sites" / "examples" / "field-hospital.yaml")
    args = parser.parse_args()
    for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "eu-west-2"}.items():
        os.environ.setdefault(key, value)
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / args.site.name
        shutil.copy(args.site, site)
        aws = AwsSession("eu-west-2", endpoint_url=endpoint)
        counter = CallCounter(aws)  # before any client exists: hooks reach later clients
        options = StateOptions(Path(folder) / "state")

        def run(mode: str) -> Plan:
            return converge(open_workspace(site, options, aws), mode,  # type: ignore[arg-type]
                            confirm=lambda _plan: True)

        applied = measure("apply from empty", counter, lambda: run("apply"))
        resources = len(open_workspace(site, options, aws).backend.load().resources)
        noop = measure("no-op plan", counter,
                       lambda: make_plan(open_workspace(site, options, aws), "apply"))
        # The same plan with every type discovered by tags (what teardown and drift do): the
        # baseline a state-driven refresh is measured against, in this run.
        full = measure("no-op plan, full discovery (baseline)", counter,
                       lambda: make_plan(open_workspace(site, options, aws), "apply",
                                         full=True))
        torn = measure("teardown", counter, lambda: run("destroy"))

    print(f"site {args.site.name}: {resources} resources, "
          f"{len(applied['result'].steps)} apply steps, {len(torn['result'].steps)} "
          "teardown steps")
    for phase in (applied, noop, full, torn):
        print_phase(phase)
    noop_calls: Counter[str] = noop["calls"]
    writes = {c: n for c, n in noop_calls.items() if not is_read(c)}
    reads = sum(noop_calls.values()) - sum(writes.values())
    per_resource = reads / max(resources, 1)
    print(f"\nbaseline (no-op plan): no writes -> {sum(writes.values())} "
          f"{'ok' if not writes else 'FAIL ' + str(writes)}; reads per resource "
          f"<= {READS_PER_RESOURCE} -> {per_resource:.2f} "
          f"{'ok' if per_resource <= READS_PER_RESOURCE else 'FAIL'}; "
          f"plan has changes -> {noop['result'].has_changes} "
          f"{'FAIL' if noop['result'].has_changes else 'ok'}")
    baseline_calls = sum(full["calls"].values())
    print(f"state-driven refresh against full discovery: {sum(noop_calls.values())} calls vs "
          f"{baseline_calls} ({sum(noop_calls.values()) / max(baseline_calls, 1):.0%}), "
          f"{noop['seconds']:.2f} s vs {full['seconds']:.2f} s")
    ok = not writes and per_resource <= READS_PER_RESOURCE and not noop["result"].has_changes
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
