"""Network-namespace primitives shared by the lab and `verify`.

Everything goes through iproute2 (`ip -n NS ...`), except sockets: `socket_in` enters a
namespace on the calling thread only (setns affects one thread), makes the socket and comes
back, so one process can probe from many namespaces at once without a process per probe.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from provision.errors import LabError

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run one `ip` command (in `netns` when given); a failure names the command."""
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done.stdout


def run_in(netns: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a program inside `netns` (network only; the filesystem is the host's)."""
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True,
                          text=True, timeout=timeout)


def exists(netns: str) -> bool:
    return (NETNS_DIR / netns).exists()


def names() -> list[str]:
    """Every named network namespace on the machine."""
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def add(netns: str) -> None:
    ip("netns", "add", netns)
    ip("link", "set", "dev", "lo", "up", netns=netns)


def has_link(netns: str, ifname: str) -> bool:
    return subprocess.run(["ip", "-n", netns, "link", "show", "dev", ifname],
                          capture_output=True).returncode == 0


def veth(ns_a: str, name_a: str, ns_b: str, name_b: str) -> None:
    """A veth pair created directly in its two namespaces: nothing appears on the host."""
    if has_link(ns_a, name_a):
        return
    if has_link(ns_b, name_b):  # the far end of a wire made otherwise (an older lab): remake
        ip("link", "delete", "dev", name_b, netns=ns_b)
    ip("link", "add", "name", name_a, "netns", ns_a, "type", "veth", "peer", "name", name_b,
       "netns", ns_b)
    ip("link", "set", "dev", name_a, "up", netns=ns_a)
    ip("link", "set", "dev", name_b, "up", netns=ns_b)


def ipv4_addresses(netns: str, ifname: str) -> list[str]:
    """The interface's IPv4 addresses, without prefix."""
    out = ip("-4", "-o", "addr", "show", "dev", ifname, netns=netns, check=False)
    return [line.split()[3].split("/")[0] for line in out.splitlines() if " inet " in line]


def pids(netns: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split() if p.isdigit()]


def belongs(pid: int, netns: str) -> bool:
    """True while `pid` lives and runs in `netns` (guards against a reused pid)."""
    try:
        same = os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(NETNS_DIR / netns).st_ino
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return same and state != "Z"


def terminate(pid_list: Iterable[int], grace: float = 2.0) -> list[int]:
    """SIGTERM, then SIGKILL after `grace` seconds; returns the pids that would not die."""
    remaining = list(pid_list)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while remaining and time.monotonic() < deadline:
            remaining = [pid for pid in remaining if not _gone(pid)]
            time.sleep(0.02)
        if not remaining:
            break
    return remaining


def _gone(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap our own children, or they linger as zombies
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def delete(netns: str) -> None:
    """Stop every process in `netns`, then remove it."""
    stubborn = terminate(pids(netns))
    if stubborn:
        raise LabError(f"processes {stubborn} in namespace {netns} would not exit")
    ip("netns", "delete", netns, check=False)


def spawn(netns: str, argv: list[str], log: Path) -> int:
    """Start a long-running program in `netns`, detached so it outlives this process."""
    with log.open("ab") as out:
        child = subprocess.Popen(["ip", "netns", "exec", netns, *argv], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return child.pid


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def entered(netns: str) -> Iterator[None]:
    """Run the block with this thread inside `netns`; sockets made there stay there."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(NETNS_DIR / netns, os.O_RDONLY)
    except FileNotFoundError:
        os.close(own)
        raise LabError(f"network namespace {netns} does not exist",
                       hint="bring the lab up first: provision lab up SITE") from None
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def socket_in(netns: str, kind: socket.SocketKind) -> socket.socket:
    """An IPv4 socket that lives in `netns`."""
    with entered(netns):
        return socket.socket(socket.AF_INET, kind)
