"""`provision verify`: the site file's promises checked with real traffic in the lab.

Checks run in three phases: every segment's client takes a DHCP lease (the addresses the
other checks need; one after another, see DHCP_TRIES), then every other check in parallel
from a thread pool with short timeouts, then failover on its own, because it takes the
primary link away from everyone.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provision.errors import VerifyFailed
from provision.events import Event, EventSink, discard
from provision.lab import netns
from provision.lab.lab import Lab
from provision.lab.topology import (
    CLIENT_INTERFACE,
    PROBE_NAME,
    UNFILTERED_ANSWER,
    WEB_ADDRESS,
    WEB_TCP_PORT,
    SegmentPlan,
    WanPlan,
)
from provision.render.gateway import MANAGEMENT_PORT
from provision.verify import expectations, probes
from provision.verify.expectations import INTERNET, Port

KINDS = ("dhcp", "dns", "dns-bypass", "reach", "nat", "management", "scan", "failover")
POOL_SIZE = 64
# dnsmasq pings an address before it first offers it and answers nothing else meanwhile (3 s).
# Clients asking at once pile up discovers behind those pings, and the replies then reach them
# in states that ignore them (an ACK while selecting); so leases are taken one segment at a
# time: about 3 s per segment the first time, a tenth of that once dnsmasq knows the client.
DHCP_TRIES = 8
SCAN_PORTS = range(1, 1025)
# Failover slack beyond failures x interval: one more interval, because the cut can land just
# after a successful health check, so the first failed one comes up to an interval later; and
# FAILOVER_PROBE_SLACK seconds for the health check's own timeout, the route change and this
# client's probing cadence (a probe every CLIENT_PROBE_EVERY seconds, each up to its timeout).
FAILOVER_PROBE_SLACK = 3.0
CLIENT_PROBE_EVERY = 0.2
CLIENT_PROBE_TIMEOUT = 0.5


@dataclass
class CheckResult:
    name: str  # e.g. "reach:guest->clinical", "nat:clinical", "failover:fttp->mobile"
    kind: str
    passed: bool
    expected: str
    seen: str
    measured: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerifyReport:
    site_id: str
    started_at: str
    seconds: float
    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_json(self) -> dict[str, Any]:
        return {"site_id": self.site_id, "started_at": self.started_at,
                "seconds": self.seconds, "passed": self.passed,
                "checks": len(self.results), "failed": len(self.failed),
                "results": [r.to_json() for r in self.results]}

    def save(self, path: Path) -> None:
        """The results as a JSON list of {name, kind, passed, expected, seen, measured}: the
        form the handover pack reads (`provision pack --verify-results`)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([r.to_json() for r in self.results], indent=2) + "\n")


def failover_deadline(lab: Lab) -> tuple[float, float]:
    """(failures x interval, the slack allowed on top of it), in seconds."""
    check = lab.site.connectivity.health_check
    return (check.failures * check.interval_seconds,
            check.interval_seconds + FAILOVER_PROBE_SLACK)


def verify_lab(lab: Lab, sink: EventSink = discard, *, kinds: Collection[str] | None = None,
               results_file: Path | None = None) -> VerifyReport:
    """Run every check (or those of `kinds`) against the running lab; saves the report to
    `results_file` when given."""
    unknown = set(kinds or ()) - set(KINDS)
    if unknown:
        raise VerifyFailed(f"unknown check kinds {sorted(unknown)}",
                           hint=f"choose from {', '.join(KINDS)}")
    lab.require_up()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    results = _Verification(lab, sink, set(kinds or KINDS)).run()
    report = VerifyReport(lab.site.site.id, started_at, round(time.monotonic() - started, 2),
                          results)
    if results_file is not None:
        report.save(results_file)
    return report


class _Verification:
    def __init__(self, lab: Lab, sink: EventSink, kinds: set[str]) -> None:
        self.lab = lab
        self.site = lab.site
        self.plan = lab.plan
        self.sink = sink
        self.kinds = kinds
        self.leases: dict[str, probes.Lease] = {}

    def _report(self, result: CheckResult) -> CheckResult:
        self.sink(Event("check.done" if result.passed else "check.failed",
                        f"expected {result.expected}; saw {result.seen}", result.name,
                        result.to_json()))
        return result

    def run(self) -> list[CheckResult]:
        results = self._dhcp()
        with ThreadPoolExecutor(POOL_SIZE) as pool, probes.listeners(self._listeners()):
            pending: list[Callable[[], CheckResult]] = []
            for kind, build in (("dns", self._dns), ("dns-bypass", self._dns_bypass),
                                ("reach", self._reach), ("nat", self._nat),
                                ("management", self._management), ("scan", self._scan)):
                if kind in self.kinds:
                    pending += build(pool)
            results += [self._report(finish()) for finish in pending]
        if "failover" in self.kinds:
            results += self._failover()
        return results

    # -- phase 1: leases ----------------------------------------------------------------------

    def _dhcp(self) -> list[CheckResult]:
        script = probes.dhcp_script(self.lab.lab_dir / "verify")
        results = []
        for seg in self.plan.segments:
            lease = probes.dhcp(seg.client_ns, CLIENT_INTERFACE, script, DHCP_TRIES)
            network = ipaddress.IPv4Network(seg.cidr)
            expected = f"a lease in {seg.cidr} with a router in it"
            if isinstance(lease, str):
                results.append(self._report(CheckResult(f"dhcp:{seg.name}", "dhcp", False,
                                                        expected, lease)))
                continue
            self.leases[seg.name] = lease
            usable = set(network.hosts())
            ok = (ipaddress.IPv4Address(lease.address) in usable and lease.router is not None
                  and ipaddress.IPv4Address(lease.router) in usable)
            results.append(self._report(CheckResult(
                f"dhcp:{seg.name}", "dhcp", ok, expected,
                f"{lease.address}/{lease.prefix_length} router {lease.router or 'none'}",
                {"address": lease.address, "router": lease.router})))
        return results

    def _lease(self, seg: SegmentPlan) -> probes.Lease | None:
        return self.leases.get(seg.name)

    def _no_lease(self, name: str, kind: str, expected: str, *segs: SegmentPlan
                  ) -> Callable[[], CheckResult] | None:
        missing = [s.name for s in segs if self._lease(s) is None]
        if not missing:
            return None
        result = CheckResult(name, kind, False, expected,
                             f"not checked: no DHCP lease on {', '.join(missing)}")
        return lambda: result

    def _listeners(self) -> list[tuple[str, str, int]]:
        wanted = [(self.plan.gateway_ns, "tcp", MANAGEMENT_PORT)]
        for target in expectations.targets(self.site):
            ns = (self.plan.internet_ns if target == INTERNET
                  else self.plan.segment(target).client_ns)
            wanted += [(ns, proto, port) for proto, port in
                       expectations.probe_ports(self.site, target)]
        return wanted

    # -- phase 2: parallel checks -------------------------------------------------------------

    def _dns(self, pool: ThreadPoolExecutor) -> list[Callable[[], CheckResult]]:
        checks = []
        for seg in self.plan.segments:
            name = f"dns:{seg.name}"
            expected = f"{PROBE_NAME} -> {WEB_ADDRESS} (the protective resolver's answer) " \
                       "from the gateway"
            skipped = self._no_lease(name, "dns", expected, seg)
            if skipped:
                checks.append(skipped)
                continue
            lease = self.leases[seg.name]
            server = lease.dns_servers[0] if lease.dns_servers else lease.router or ""
            asked = pool.submit(probes.dns, seg.client_ns, server, PROBE_NAME)

            def finish(name: str = name, expected: str = expected, lease: probes.Lease = lease,
                       server: str = server,
                       asked: Future[probes.DnsReply | None] = asked) -> CheckResult:
                reply = asked.result()
                answer = reply.describe() if reply else "no answer"
                seen = f"{answer} from {server or 'no DNS server in the lease'}"
                ok = (reply is not None and reply.addresses == (WEB_ADDRESS,)
                      and server == lease.router)
                return CheckResult(name, "dns", ok, expected, seen)
            checks.append(finish)
        return checks

    def _dns_bypass(self, pool: ThreadPoolExecutor) -> list[Callable[[], CheckResult]]:
        checks = []
        resolver = self.plan.open_resolver
        for seg in self.plan.segments:
            name = f"dns-bypass:{seg.name}"
            expected = f"no answer from the non-protective resolver {resolver} (UDP or TCP 53)"
            skipped = self._no_lease(name, "dns-bypass", expected, seg)
            if skipped:
                checks.append(skipped)
                continue
            over_udp = pool.submit(probes.dns, seg.client_ns, resolver, PROBE_NAME)
            over_tcp = pool.submit(probes.tcp, seg.client_ns, resolver, 53)

            def finish(name: str = name, expected: str = expected,
                       over_udp: Future[probes.DnsReply | None] = over_udp,
                       over_tcp: Future[probes.Answer] = over_tcp) -> CheckResult:
                reply, connected = over_udp.result(), over_tcp.result()
                bypassed = reply is not None and UNFILTERED_ANSWER in reply.addresses
                seen = (f"UDP: {reply.describe() if reply else 'no answer'}; "
                        f"TCP: {connected.describe()}")
                return CheckResult(name, "dns-bypass", not bypassed and not connected.open,
                                   expected, seen)
            checks.append(finish)
        return checks

    def _target_address(self, target: str) -> str | None:
        if target == INTERNET:
            return WEB_ADDRESS
        lease = self._lease(self.plan.segment(target))
        return lease.address if lease else None

    def _reach(self, pool: ThreadPoolExecutor) -> list[Callable[[], CheckResult]]:
        checks = []
        for (source, target), ports in expectations.reach_matrix(self.site).items():
            src = self.plan.segment(source)
            name = f"reach:{source}->{target}"
            expected = _describe_ports(ports)
            involved = [src] if target == INTERNET else [src, self.plan.segment(target)]
            skipped = self._no_lease(name, "reach", expected, *involved)
            if skipped:
                checks.append(skipped)
                continue
            address = self._target_address(target) or ""
            answers = {port: pool.submit(probes.tcp if port[0] == "tcp" else probes.udp,
                                         src.client_ns, address, port[1]) for port in ports}

            def finish(name: str = name, expected: str = expected,
                       ports: dict[Port, bool] = ports,
                       answers: dict[Port, Future[probes.Answer]] = answers) -> CheckResult:
                seen = {port: answers[port].result().open for port in ports}
                wrong = [f"{p}/{n} {'open' if seen[(p, n)] else 'closed'}"
                         for p, n in ports if seen[(p, n)] != ports[(p, n)]]
                return CheckResult(name, "reach", not wrong, expected,
                                   "as expected" if not wrong else "wrong: " + ", ".join(wrong))
            checks.append(finish)
        return checks

    def _wan_address(self, wan: WanPlan) -> str:
        """The address the gateway holds on a link now (the plan's, if it holds it)."""
        live = netns.ipv4_addresses(self.plan.gateway_ns, wan.interface)
        return wan.gateway_address if wan.gateway_address in live or not live else live[0]

    def _nat(self, pool: ThreadPoolExecutor) -> list[Callable[[], CheckResult]]:
        checks = []
        primary = self.plan.primary
        wan_address = self._wan_address(primary)
        for seg in self.plan.segments:
            if not expectations.reaches_internet(self.site, seg.name):
                continue  # the reach checks prove it cannot get out
            name = f"nat:{seg.name}"
            expected = (f"the internet sees {wan_address} (the gateway on {primary.interface}, "
                        f"link {primary.link})")
            skipped = self._no_lease(name, "nat", expected, seg)
            if skipped:
                checks.append(skipped)
                continue
            answer = pool.submit(probes.tcp, seg.client_ns, WEB_ADDRESS, WEB_TCP_PORT)

            def finish(name: str = name, expected: str = expected,
                       answer: Future[probes.Answer] = answer) -> CheckResult:
                seen = answer.result()
                return CheckResult(name, "nat", seen.seen_source == wan_address, expected,
                                   seen.describe())
            checks.append(finish)
        return checks

    def _management(self, pool: ThreadPoolExecutor) -> list[Callable[[], CheckResult]]:
        """Port 22 on every gateway address of every segment, from every segment."""
        checks = []
        admin = self.plan.admin_segment
        gateway_addresses = {s.name: lease.router for s in self.plan.segments
                             if (lease := self._lease(s)) is not None and lease.router}
        for seg in self.plan.segments:
            allowed = seg.name == admin
            name = f"management:{seg.name}"
            expected = (f"port {MANAGEMENT_PORT} on the gateway "
                        f"{'answers' if allowed else 'closed'} (admin segment: {admin})")
            skipped = self._no_lease(name, "management", expected, seg)
            if skipped:
                checks.append(skipped)
                continue
            answers = {target: pool.submit(probes.tcp, seg.client_ns, address, MANAGEMENT_PORT)
                       for target, address in gateway_addresses.items()}

            def finish(name: str = name, expected: str = expected, allowed: bool = allowed,
                       answers: dict[str, Future[probes.Answer]] = answers) -> CheckResult:
                seen = {target: a.result().open for target, a in answers.items()}
                wrong = [f"{target}'s address {'answers' if is_open else 'closed'}"
                         for target, is_open in seen.items() if is_open != allowed]
                return CheckResult(name, "management", bool(seen) and not wrong, expected,
                                   "as expected on every segment's gateway address"
                                   if seen and not wrong else ", ".join(wrong) or "no address")
            checks.append(finish)
        return checks

    def _scan(self, pool: ThreadPoolExecutor) -> list[Callable[[], CheckResult]]:
        """From the internet: TCP connects to 1-1024 and every listener's port, and a DNS
        query to 53 and every UDP listener's port, on every WAN and segment address."""
        addresses = [w.gateway_address for w in self.plan.wans]
        for lease in self.leases.values():
            addresses += [lease.address, *lease.routers[:1]]
        listening = self._listeners()
        tcp_ports = sorted({*SCAN_PORTS, *(p for _, proto, p in listening if proto == "tcp")})
        udp_ports = sorted({53, *(p for _, proto, p in listening if proto == "udp")})
        ns = self.plan.internet_ns
        tcp_open = pool.submit(probes.scan_tcp, ns,
                               [(a, p) for a in addresses for p in tcp_ports])
        query = probes.dns_query_packet(PROBE_NAME, 4242)
        udp_answers = {(a, p): pool.submit(probes.udp, ns, a, p, query)
                       for a in addresses for p in udp_ports}
        expected = (f"no open port on {len(addresses)} addresses (TCP {len(tcp_ports)} ports, "
                    f"UDP {len(udp_ports)} ports)")

        def finish() -> CheckResult:
            found = [f"{a}:tcp/{p}" for a, p in tcp_open.result()]
            found += [f"{a}:udp/{p}" for (a, p), answer in udp_answers.items()
                      if answer.result().open]
            return CheckResult("scan:internet", "scan", not found, expected,
                               "nothing open" if not found else "open: " + ", ".join(found),
                               {"addresses": addresses})
        return [finish]

    # -- phase 3: failover --------------------------------------------------------------------

    def _failover(self) -> list[CheckResult]:
        plan = self.plan
        backups = plan.backups
        client = next((s for s in plan.segments
                       if expectations.reaches_internet(self.site, s.name)
                       and s.name in self.leases), None)
        if not backups or client is None:
            return []
        primary, backup = plan.primary, backups[0]
        base, slack = failover_deadline(self.lab)
        bound = base + slack
        primary_address, backup_address = self._wan_address(primary), self._wan_address(backup)
        before = probes.tcp(client.client_ns, WEB_ADDRESS, WEB_TCP_PORT)
        if before.seen_source != primary_address:
            return [self._report(CheckResult(
                f"failover:{primary.link}->{backup.link}", "failover", False,
                f"before the cut, traffic leaves by {primary.link} ({primary_address})",
                before.describe()))]
        results = []
        self.lab.cut_link(primary.link)
        try:
            results.append(self._await_source(
                f"failover:{primary.link}->{backup.link}", client, backup_address,
                bound, f"with {primary.link} cut, the internet sees {backup_address} "
                f"({backup.link}) within {base:g}s + {slack:g}s slack"))
        finally:
            self.lab.restore_link(primary.link)
        results.append(self._await_source(
            f"failback:{backup.link}->{primary.link}", client, primary_address, bound,
            f"with {primary.link} back, the internet sees {primary_address} again within "
            f"{bound:g}s"))
        return results

    def _await_source(self, name: str, client: SegmentPlan, wanted: str, bound: float,
                      expected: str) -> CheckResult:
        started = time.monotonic()
        last = probes.Answer(False)
        while time.monotonic() - started <= bound:
            last = probes.tcp(client.client_ns, WEB_ADDRESS, WEB_TCP_PORT, CLIENT_PROBE_TIMEOUT)
            if last.seen_source == wanted:
                took = round(time.monotonic() - started, 2)
                return self._report(CheckResult(name, "failover", True, expected,
                                                f"after {took}s from {client.name}",
                                                {"seconds": took, "bound": bound}))
            time.sleep(CLIENT_PROBE_EVERY)
        return self._report(CheckResult(name, "failover", False, expected,
                                        f"after {bound:g}s still {last.describe()}",
                                        {"seconds": None, "bound": bound}))


def _describe_ports(ports: dict[Port, bool]) -> str:
    allowed = [f"{p}/{n}" for (p, n), ok in ports.items() if ok]
    denied = [f"{p}/{n}" for (p, n), ok in ports.items() if not ok]
    return (f"open {', '.join(allowed) or 'nothing'}; "
            f"closed {', '.join(denied) or 'nothing'}")
