"""The lab's AWS: a moto server on loopback, started once and kept running between commands.

Its pid and port are recorded in a folder, so `up`, `plan` and `verify` in later processes
find the same emulator, and `lab down` stops it. The code that talks to it is the production
boto3 code, pointed at it through `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from provision.errors import LabError

STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
# Dummy credentials: the emulator accepts any, and they keep boto3 from reaching for real ones.
LAB_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _end_group(pid: int) -> None:
    """SIGTERM the emulator's process group, wait for it, SIGKILL what is left: `lab down`
    returns only once the emulator is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reaps it when this process started it
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


class Emulator:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.record = folder / "emulator.json"

    def _recorded(self) -> tuple[int, str] | None:
        try:
            data = json.loads(self.record.read_text())
            return int(data["pid"]), str(data["endpoint"])
        except (OSError, ValueError, KeyError):
            return None

    @property
    def endpoint(self) -> str | None:
        """The running emulator's URL, or None if it is not running."""
        recorded = self._recorded()
        if recorded and _answers(recorded[1]):
            return recorded[1]
        return None

    def ensure_running(self) -> str:
        """Starts the emulator unless it already answers; returns its URL."""
        running = self.endpoint
        if running:
            return running
        self.folder.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        env = {**os.environ, "MOTO_ACM_VALIDATION_WAIT": os.environ.get(
            "MOTO_ACM_VALIDATION_WAIT", "1")}
        log = (self.folder / "emulator.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)  # outlives this command, until `lab down`
        self.record.write_text(json.dumps({"pid": process.pid, "endpoint": endpoint}))
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if _answers(endpoint):
                return endpoint
            if process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise LabError("the AWS emulator did not start",
                       hint=f"see {self.folder / 'emulator.log'}")

    def stop(self) -> None:
        recorded = self._recorded()
        if recorded:
            _end_group(recorded[0])
        self.record.unlink(missing_ok=True)
