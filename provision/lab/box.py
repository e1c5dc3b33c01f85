"""A lab gateway's "box": a private view of /etc, /run, /var/lib/misc and /var/log inside a
network namespace.

A network namespace shares the host's filesystem, so a role applied "inside" one would
overwrite the host's /etc. The box is a holder process in the namespace with its own mount
namespace: /etc is an overlay whose writes land in `root/upper`, /run is a tmpfs, and the
lease and log folders are per-box. Everything run through the box (Ansible's python, dnsmasq,
the failover daemon) joins the holder's network and mount namespaces, so the host stays as it
was and `stop()` can find every process that belongs to the box.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from provision.errors import LabError

_HOLDER_SCRIPT = """set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc
mount -t tmpfs -o mode=0755 provision-box-run /run
mount --bind {misc} /var/lib/misc
mount --bind {log} /var/log
echo ready
exec sleep infinity >/dev/null 2>&1
"""


class GatewayBox:
    """A lab gateway's isolated files in network namespace `netns` (created by the caller)."""

    def __init__(self, netns: str, root: Path) -> None:
        self.netns = netns
        self.root = root.resolve()

    @property
    def pid_file(self) -> Path:
        return self.root / "holder.pid"

    @property
    def python_wrapper(self) -> Path:
        """The interpreter Ansible uses: the provision python, entered into the box."""
        return self.root / "python"

    @property
    def upper(self) -> Path:
        """Where the box's writes to /etc land."""
        return self.root / "upper"

    @property
    def running(self) -> bool:
        return self._live_pid() is not None

    @property
    def pid(self) -> int:
        pid = self._live_pid()
        if pid is None:
            raise LabError(f"the gateway box for {self.netns} is not running",
                           hint="start it first (provision lab up)")
        return pid

    def start(self) -> int:
        """Start the holder, or reuse a live one; returns its pid."""
        live = self._live_pid()
        if live is not None:
            self._write_wrapper(live)
            return live
        if not Path("/run/netns", self.netns).exists():
            raise LabError(f"network namespace {self.netns} does not exist")
        folders = {name: self.root / name for name in ("upper", "work", "misc", "log")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        script = _HOLDER_SCRIPT.format(**{k: shlex.quote(str(v)) for k, v in folders.items()})
        holder = subprocess.Popen(
            ["ip", "netns", "exec", self.netns,
             "unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, text=True)
        assert holder.stdout is not None and holder.stderr is not None
        if holder.stdout.readline().strip() != "ready":
            holder.wait()
            raise LabError(f"the gateway box for {self.netns} did not start: "
                           f"{holder.stderr.read().strip()}")
        # The holder outlives this process (lab up returns, lab down comes later): let go of it.
        holder.stdout.close()
        holder.stderr.close()
        self.pid_file.write_text(f"{holder.pid}\n")
        self._write_wrapper(holder.pid)
        return holder.pid

    def stop(self) -> None:
        """End the holder and every process in the box's mount namespace; keep `root`."""
        holder = self._live_pid()
        if holder is None:
            self.pid_file.unlink(missing_ok=True)
            return
        members = self._members(holder)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in members:
                _signal(pid, sig)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                members = [pid for pid in members if _alive(pid)]
                if not members:
                    break
                time.sleep(0.02)
            if not members:
                break
        if members:
            raise LabError(f"processes {members} in the gateway box for {self.netns} "
                           "did not exit")
        self.pid_file.unlink(missing_ok=True)

    def run(self, *argv: str, check: bool = False, input: str | None = None,
            timeout: float | None = 60) -> subprocess.CompletedProcess[str]:
        """Run a command inside the box (its network and its files)."""
        return subprocess.run(self.enter_argv(*argv), capture_output=True, text=True,
                              check=check, input=input, timeout=timeout)

    def enter_argv(self, *argv: str) -> list[str]:
        """The command line that runs `argv` inside the box, for callers that need Popen."""
        return ["nsenter", "--target", str(self.pid), "--net", "--mount", "--", *argv]

    def inventory_vars(self) -> dict[str, str]:
        """Host variables that make Ansible run its modules inside the box, and the gateway
        role start its services directly (a box has no systemd)."""
        return {"ansible_connection": "local",
                "ansible_python_interpreter": str(self.python_wrapper),
                "gateway_service_manager": "direct"}

    def _write_wrapper(self, pid: int) -> None:
        # ansible-core quotes ansible_python_interpreter as one word, so a script it is.
        # The provision python has Ansible's module dependencies (and boto3) installed.
        self.python_wrapper.write_text(
            "#!/bin/sh\n"
            f"exec nsenter --target {pid} --net --mount -- {shlex.quote(sys.executable)} \"$@\"\n")
        self.python_wrapper.chmod(0o755)

    def _live_pid(self) -> int | None:
        """The holder's pid, trusted only while that process still holds this box's /etc."""
        try:
            pid = int(self.pid_file.read_text().strip())
            mounts = Path(f"/proc/{pid}/mountinfo").read_text()
        except (OSError, ValueError):
            return None
        return pid if f"upperdir={self.upper}," in mounts and _alive(pid) else None

    @staticmethod
    def _members(holder: int) -> list[int]:
        """Every process sharing the holder's mount namespace, the holder last."""
        box_ns = os.readlink(f"/proc/{holder}/ns/mnt")
        members = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == holder:
                continue
            try:
                if os.readlink(entry / "ns" / "mnt") == box_ns:
                    members.append(int(entry.name))
            except OSError:
                continue
        return members + [holder]


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)

