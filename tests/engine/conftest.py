"""Fixtures for engine tests: copies of the field hospital written into tmp_path, and the
engine's own entry points pointed at the emulator."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from provision.aws.session import AwsSession
from provision.engine.workflow import StateOptions, Workspace, converge, open_workspace
from provision.events import Event
from provision.plan import Plan

REPO = Path(__file__).resolve().parents[2]
FIELD_HOSPITAL = REPO / "sites" / "examples" / "field-hospital.yaml"
SITE_ID = "nightingale-north"
ZONE_NAME = "nightingale-north.sites.example.nhs.uk."
BUCKET = "provision-nightingale-north-data"
# The installed command, as an operator runs it.
PROVISION = shutil.which("provision") or str(Path(sys.executable).parent / "provision")


def write_site(folder: Path, *, replace: dict[str, str] | None = None,
               name: str = "site.yaml") -> Path:
    """A copy of the field hospital with text replaced (each old text must occur)."""
    text = FIELD_HOSPITAL.read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def other_site(folder: Path, site_id: str) -> Path:
    return write_site(folder, replace={"id: nightingale-north": f"id: {site_id}"})


def yes(_plan: Plan) -> bool:
    return True


class Recorder:
    """An EventSink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self, kind: str) -> list[str]:
        return [e.subject for e in self.events if e.kind == kind]


def apply_site(path: Path, aws: AwsSession, mode: str = "apply", **kwargs: Any) -> Plan:
    ws = open_workspace(path, StateOptions(), aws=aws)
    return converge(ws, mode, confirm=yes, **kwargs)  # type: ignore[arg-type]


def workspace(path: Path, aws: AwsSession) -> Workspace:
    return open_workspace(path, StateOptions(), aws=aws)


def zone_ids(aws: AwsSession, name: str = ZONE_NAME) -> list[str]:
    zones = aws.client("route53").list_hosted_zones()["HostedZones"]
    return [z["Id"] for z in zones if z["Name"] == name]


def bucket_names(aws: AwsSession) -> list[str]:
    return sorted(b["Name"] for b in aws.client("s3").list_buckets()["Buckets"])


def resource_counts(aws: AwsSession) -> dict[str, int]:
    """How many of each kind of thing exist: duplicates show up here."""
    pools = aws.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    secrets = aws.client("secretsmanager").list_secrets()["SecretList"]
    return {"zones": len(zone_ids(aws)), "buckets": bucket_names(aws).count(BUCKET),
            "pools": len(pools), "secrets": len(secrets)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def moto_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server in its own process, for code that runs in a subprocess."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-2"}.items():
        monkeypatch.setenv(key, value)
    port = free_port()
    env = {**os.environ, "MOTO_ACM_VALIDATION_WAIT": "1"}
    process = subprocess.Popen(
        [shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield endpoint
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


def cli_env(endpoint: str) -> dict[str, str]:
    return {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-2"}


# The engine's CLI tests act "for real" (the emulator stands in for AWS) on the cloud half only:
# the gateway half has its own tests on the lab.
FOR_REAL = {"plan": ["--no-lab", "--only", "cloud"], "apply": ["--no-lab", "--only", "cloud"],
            "teardown": ["--no-lab", "--only", "cloud"], "status": ["--no-lab"],
            "drift": ["--no-lab"], "force-unlock": ["--no-lab"]}


def run_cli(args: list[str], endpoint: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    args = [*args, *FOR_REAL.get(args[0], [])] if args else args
    return subprocess.run([PROVISION, *args],
                          env=cli_env(endpoint), capture_output=True, text=True, timeout=300,
                          **kwargs)


def json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{") and line.endswith("}"):
            found.append(json.loads(line))
    return found


RunCli = Callable[..., subprocess.CompletedProcess[str]]
