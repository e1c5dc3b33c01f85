#!/usr/bin/env python3
"""WAN failover for a site gateway: stdlib only, one process, one state file.

Every `interval_seconds` it sends an ICMP echo to each health-check target out of the primary
link only (a raw socket bound to the interface with SO_BINDTODEVICE, so the probe takes the
primary's own default route whatever the main table prefers). A round in which no target
answers is a failure. After `failures` failed rounds in a row it adds a default route through
the first backup link with a metric below every link's own (`FAILOVER_METRIC`), which moves
the gateway's traffic there; when the primary answers again it removes that route, so the
links' own routes (primary lowest metric) decide again. Each transition is logged, and the
current state is written as JSON to the state file for `provision verify` and operators.

Usage: provision-failover.py CONFIG STATE_FILE     (CONFIG: the rendered failover.json)
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

FAILOVER_METRIC = 10  # below every link's metric (the renderer starts them at 100)
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = 8, 0

log = logging.getLogger("provision-failover")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def probe(interface: str, targets: list[str], timeout: float, sequence: int) -> bool:
    """True if any target answers an ICMP echo sent out of `interface` within `timeout`."""
    ident = os.getpid() & 0xFFFF
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except OSError as exc:
        log.error("cannot open an ICMP socket: %s", exc)
        return False
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, interface.encode())
        payload = b"provision-failover"
        header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, sequence & 0xFFFF)
        packet = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0,
                             _checksum(header + payload), ident, sequence & 0xFFFF) + payload
        sent = 0
        for target in targets:
            try:
                sock.sendto(packet, (target, 0))
                sent += 1
            except OSError:  # no route or no address on the link: that target failed
                continue
        if not sent:
            return False
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            reply, (source, _) = sock.recvfrom(2048)
            header_length = (reply[0] & 0x0F) * 4
            kind, _, _, reply_ident, reply_seq = struct.unpack(
                "!BBHHH", reply[header_length:header_length + 8])
            if (kind == ICMP_ECHO_REPLY and reply_ident == ident
                    and reply_seq == sequence & 0xFFFF and source in targets):
                return True
    return False


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def next_hop(link: dict[str, Any]) -> str | None:
    """The link's router: from its live default route (DHCP) or the rendered next_hop."""
    routes = json.loads(_ip("-j", "-4", "route", "show", "default", "dev", link["interface"])
                        or "[]")
    for route in routes:
        if route.get("gateway") and route.get("metric", 0) != FAILOVER_METRIC:
            return str(route["gateway"])
    return link.get("next_hop")


def use_backup(backups: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Point the failover route at the first backup with a router; the backup link used."""
    for link in backups:
        hop = next_hop(link)
        if hop:
            _ip("route", "replace", "default", "via", hop, "dev", link["interface"],
                "metric", str(FAILOVER_METRIC))
            return link
    return None


def use_primary() -> None:
    """Remove the failover route so the links' own metrics (primary lowest) decide."""
    subprocess.run(["ip", "route", "del", "default", "metric", str(FAILOVER_METRIC)],
                   capture_output=True, check=False)


def write_state(path: str, state: dict[str, Any]) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def run(config: dict[str, Any], state_path: str) -> None:
    primary, backups = config["primary"], config["backups"]
    check = config["health_check"]
    interval, threshold = float(check["interval_seconds"]), int(check["failures"])
    targets = [str(t) for t in check["targets"]]
    use_primary()  # a restart begins on the primary; the first failed rounds move it if needed
    state: dict[str, Any] = {
        "pid": os.getpid(), "active": "primary", "link": primary["name"],
        "interface": primary["interface"], "consecutive_failures": 0, "last_probe_ok": None,
        "last_probe_at": None, "since": _now(), "transitions": [],
    }
    write_state(state_path, state)
    log.info("watching %s (%s): targets %s every %ss, %s failures to fail over",
             primary["name"], primary["interface"], ", ".join(targets), interval, threshold)
    sequence = 0
    while True:
        started = time.monotonic()
        sequence += 1
        healthy = probe(primary["interface"], targets, min(1.0, interval * 0.8), sequence)
        state["last_probe_ok"], state["last_probe_at"] = healthy, _now()
        state["consecutive_failures"] = 0 if healthy else state["consecutive_failures"] + 1
        if state["active"] == "primary" and state["consecutive_failures"] >= threshold:
            backup = use_backup(backups)
            if backup is not None:
                _transition(state, "backup", backup, f"{threshold} failed health checks on "
                            f"{primary['name']} ({primary['interface']})")
        elif state["active"] == "backup" and healthy:
            use_primary()
            _transition(state, "primary", primary, f"{primary['name']} answers again")
        write_state(state_path, state)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _transition(state: dict[str, Any], active: str, link: dict[str, Any], why: str) -> None:
    log.warning("failover: traffic now on %s link %s (%s): %s", active, link["name"],
                link["interface"], why)
    state.update(active=active, link=link["name"], interface=link["interface"], since=_now())
    state["transitions"] = (state["transitions"] + [
        {"at": state["since"], "to": active, "link": link["name"], "why": why}])[-20:]


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    # Stopping the service hands traffic back to the links' own routes and removes the state.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run(config, sys.argv[2])
    finally:
        use_primary()
        # A state file outliving the daemon would claim a watch nobody keeps.
        if os.path.exists(sys.argv[2]):
            os.unlink(sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
