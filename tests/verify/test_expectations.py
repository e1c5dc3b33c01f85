"""What verify expects, derived from the site file alone, and its DNS wire format."""

from __future__ import annotations

from pathlib import Path

from provision.checks import load_site
from provision.verify.expectations import (
    INTERNET,
    allows,
    probe_ports,
    reach_matrix,
    reaches_internet,
)
from provision.verify.probes import dns_query_packet, parse_dns_reply

REPO = Path(__file__).resolve().parents[2]
FIELD_HOSPITAL = REPO / "sites" / "examples" / "field-hospital.yaml"


def test_probed_ports_are_the_named_ones_their_twins_and_one_unnamed() -> None:
    site = load_site(FIELD_HOSPITAL)
    assert probe_ports(site, "clinical") == [("tcp", 104), ("tcp", 443), ("tcp", 8000),
                                             ("udp", 104), ("udp", 443), ("udp", 8000)]
    assert probe_ports(site, "guest") == [("tcp", 8000), ("udp", 8000)]
    assert probe_ports(site, INTERNET) == [("tcp", 80), ("tcp", 8000), ("udp", 7),
                                           ("udp", 8000)]


def test_reach_rules_allow_exactly_what_they_say() -> None:
    site = load_site(FIELD_HOSPITAL)
    assert allows(site, "devices", "clinical", ("tcp", 104))
    assert not allows(site, "devices", "clinical", ("udp", 104))
    assert not allows(site, "devices", "clinical", ("tcp", 8000))
    assert allows(site, "it", "clinical", ("udp", 8000))  # a whole segment
    assert not allows(site, "guest", "clinical", ("tcp", 443))
    matrix = reach_matrix(site)
    assert len(matrix) == 4 * 3 + 4
    assert not any(matrix[("devices", INTERNET)].values())
    assert all(matrix[("guest", INTERNET)].values())


def test_internet_reach_is_read_from_the_file() -> None:
    site = load_site(FIELD_HOSPITAL)
    assert [s.name for s in site.network.segments if reaches_internet(site, s.name)] == [
        "clinical", "it", "guest"]


def test_dns_reply_parsing_reads_a_records_and_rejects_strangers() -> None:
    query = dns_query_packet("probe.provision.test", 4242)
    answer = (bytes.fromhex("c00c") + (1).to_bytes(2, "big") + (1).to_bytes(2, "big")
              + (60).to_bytes(4, "big") + (4).to_bytes(2, "big") + bytes([198, 51, 100, 80]))
    header = bytearray(query[:12])
    header[2:4] = (0x8180).to_bytes(2, "big")  # a response, no error
    header[6:8] = (1).to_bytes(2, "big")  # one answer
    reply = bytes(header) + query[12:] + answer
    parsed = parse_dns_reply(reply, 4242)
    assert parsed is not None and parsed.addresses == ("198.51.100.80",)
    assert parse_dns_reply(reply, 4243) is None  # another query's reply
    assert parse_dns_reply(query, 4242) is None  # not a response
