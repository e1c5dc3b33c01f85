"""Real packets from inside the lab's namespaces: TCP and UDP probes that read back the source
address the far end saw, a small DNS client, a DHCP client (busybox udhcpc), a port scan and
listeners. Sockets are made in the right namespace by `provision.lab.netns.socket_in`, so
hundreds of probes run from one process, in parallel threads, with short timeouts."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import random
import select
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from provision.lab import echo, netns

PROBE_TIMEOUT = 1.0
SCAN_BATCH = 2048

_DHCP_SCRIPT = """#!/bin/sh
# udhcpc calls this with the lease in its environment; it configures the client's interface
# and prints the lease for provision verify.
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set dev "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    printf 'lease.ip=%s\\nlease.mask=%s\\nlease.router=%s\\nlease.dns=%s\\n' \\
      "$ip" "$mask" "$router" "$dns" ;;
esac
"""


@dataclass(frozen=True)
class Answer:
    """What a probe saw: whether the far end answered, and the address it said it saw."""

    open: bool
    seen_source: str | None = None
    error: str = ""

    def describe(self) -> str:
        if self.open:
            return f"answered (saw us as {self.seen_source})" if self.seen_source else "answered"
        return f"no answer ({self.error})" if self.error else "no answer"


def tcp(ns: str, host: str, port: int, timeout: float = PROBE_TIMEOUT) -> Answer:
    """Connect from `ns`; on success ask (HTTP/1.0) for the address the server saw."""
    sock = netns.socket_in(ns, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
    except OSError as exc:
        sock.close()
        return Answer(False, error=_reason(exc))
    try:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    except OSError:
        pass  # connected is what counts as open; the body is a bonus
    finally:
        sock.close()
    body = reply.partition(b"\r\n\r\n")[2].decode(errors="replace").strip()
    return Answer(True, seen_source=body or None)


def udp(ns: str, host: str, port: int, payload: bytes = b"probe",
        timeout: float = PROBE_TIMEOUT) -> Answer:
    sock = netns.socket_in(ns, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(payload, (host, port))
        data, _ = sock.recvfrom(2048)
    except OSError as exc:
        return Answer(False, error=_reason(exc))
    finally:
        sock.close()
    return Answer(True, seen_source=data.decode(errors="replace").strip() or None)


def _reason(exc: OSError) -> str:
    return "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc)).lower()


# -- DNS ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DnsReply:
    rcode: int
    addresses: tuple[str, ...]

    def describe(self) -> str:
        if self.addresses:
            return ", ".join(self.addresses)
        return {0: "no address", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}.get(
            self.rcode, f"rcode {self.rcode}")


def dns_query_packet(name: str, ident: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\0" + \
        struct.pack("!HH", 1, 1)


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length >= 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def parse_dns_reply(data: bytes, ident: int) -> DnsReply | None:
    """The A records of a reply to query `ident`; None for anything else."""
    if len(data) < 12:
        return None
    got, flags, questions, answers, _, _ = struct.unpack("!HHHHHH", data[:12])
    if got != ident or not flags & 0x8000:
        return None
    offset = 12
    for _ in range(questions):
        offset = _skip_name(data, offset) + 4
    found = []
    for _ in range(answers):
        offset = _skip_name(data, offset)
        rtype, _, _, length = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            found.append(str(ipaddress.IPv4Address(data[offset:offset + 4])))
        offset += length
    return DnsReply(flags & 0x000F, tuple(found))


def dns(ns: str, server: str, name: str, timeout: float = PROBE_TIMEOUT) -> DnsReply | None:
    """An A query for `name` sent from `ns` to `server`; None when nothing answered."""
    ident = random.randrange(1, 0xFFFF)
    sock = netns.socket_in(ns, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(dns_query_packet(name, ident), (server, 53))
        while True:
            data, _ = sock.recvfrom(4096)
            reply = parse_dns_reply(data, ident)
            if reply is not None:
                return reply
    except OSError:
        return None
    finally:
        sock.close()


# -- DHCP -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lease:
    address: str
    prefix_length: int
    routers: tuple[str, ...]
    dns_servers: tuple[str, ...]

    @property
    def router(self) -> str | None:
        return self.routers[0] if self.routers else None


def dhcp_script(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "udhcpc.sh"
    script.write_text(_DHCP_SCRIPT)
    script.chmod(0o755)
    return script


def dhcp(ns: str, interface: str, script: Path, tries: int) -> Lease | str:
    """A lease taken by busybox udhcpc in `ns` (and configured there), or why not."""
    try:
        done = netns.run_in(ns, "busybox", "udhcpc", "-i", interface, "-f", "-q", "-n",
                            "-t", str(tries), "-T", "1", "-s", str(script),
                            timeout=tries + 10)
    except subprocess.TimeoutExpired:
        return "udhcpc did not finish"
    fields = dict(line[6:].split("=", 1) for line in done.stdout.splitlines()
                  if line.startswith("lease.") and "=" in line)
    if fields.get("ip"):
        return Lease(fields["ip"], int(fields.get("mask") or 32),
                     tuple(fields.get("router", "").split()), tuple(fields.get("dns", "").split()))
    lines = done.stderr.strip().splitlines()
    return "no lease offered" + (f" ({lines[-1]})" if lines else "")


# -- scan -----------------------------------------------------------------------------------

def scan_tcp(ns: str, targets: Iterable[tuple[str, int]],
             timeout: float = PROBE_TIMEOUT) -> list[tuple[str, int]]:
    """Non-blocking connects from `ns` to every (address, port); returns those that opened."""
    pending = list(targets)
    opened: list[tuple[str, int]] = []
    while pending:
        batch, pending = pending[:SCAN_BATCH], pending[SCAN_BATCH:]
        socks: dict[int, tuple[socket.socket, tuple[str, int]]] = {}
        with netns.entered(ns):
            for target in batch:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex(target)
                socks[sock.fileno()] = (sock, target)
        poller = select.poll()
        for fd in socks:
            poller.register(fd, select.POLLOUT)
        waiting = set(socks)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for fd, _ in poller.poll(50):
                sock, target = socks[fd]
                poller.unregister(fd)
                waiting.discard(fd)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    opened.append(target)
        for sock, _ in socks.values():
            sock.close()
    return opened


# -- listeners ------------------------------------------------------------------------------

@contextlib.contextmanager
def listeners(wanted: Iterable[tuple[str, str, int]]) -> Iterator[list[tuple[str, str, int]]]:
    """Echo listeners for (namespace, proto, port), served by one thread while the block runs.
    A port already in use is left to whatever holds it (e.g. sshd, the lab's web server);
    yields the ones this call opened."""
    sockets: list[socket.socket] = []
    opened: list[tuple[str, str, int]] = []
    for ns, proto, port in dict.fromkeys(wanted):
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        sock = netns.socket_in(ns, kind)
        try:
            sockets.append(echo.bind(sock, port))
            opened.append((ns, proto, port))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
    stop = threading.Event()
    server = threading.Thread(target=echo.serve, args=(sockets, stop), daemon=True)
    server.start()
    try:
        yield opened
    finally:
        stop.set()
        server.join(timeout=5)
