"""render_site: the output layout, checked by the real tools (nft, dnsmasq, hostapd, ip)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.checks import load_site
from provision.errors import RenderFailed
from provision.render import gateway_vars, render_site
from provision.render.files import TEMPLATES_DIR
from provision.site.model import Site

SiteVariant = Callable[[Callable[[dict[str, Any]], None]], Site]  # the site_variant fixture
# Every example, including those added later: each must render and pass the tools' checks.
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "sites" / "examples").glob("*.yaml"))
EXAMPLE_IDS = [p.stem for p in EXAMPLES]
_namespaces = itertools.count()


def needs(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=check)


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh, empty network namespace: loading a ruleset or creating links there leaves
    the host untouched."""
    needs("ip")
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    name = f"provision-render-{os.getpid()}-{next(_namespaces)}"
    run("ip", "netns", "add", name)
    yield name
    run("ip", "netns", "delete", name, check=False)


def in_ns(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run("ip", "netns", "exec", ns, *args)


@pytest.fixture(params=EXAMPLES, ids=EXAMPLE_IDS)
def example(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Site, Path]:
    site = load_site(request.param)
    out = tmp_path / "out"
    render_site(site, out)
    return site, out


@pytest.fixture
def hospital_out(field_hospital: Site, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    render_site(field_hospital, out)
    return out


def loaded_ruleset(ns: str, conf: Path) -> list[dict[str, Any]]:
    in_ns(ns, "nft", "-f", str(conf))
    listing = json.loads(in_ns(ns, "nft", "-j", "list", "ruleset").stdout)["nftables"]
    return [item for item in listing if "metainfo" not in item]


def rules_of(ruleset: list[dict[str, Any]], family: str, table: str,
             chain: str) -> list[dict[str, Any]]:
    return [item["rule"] for item in ruleset if "rule" in item
            and (item["rule"]["family"], item["rule"]["table"], item["rule"]["chain"])
            == (family, table, chain)]


def test_layout_is_the_contract(field_hospital: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = render_site(field_hospital, out)
    names = {p.relative_to(out).as_posix() for p in written}
    assert names == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {n for n in names if not n.startswith("gateway/networkd/")} == {
        "gateway/nftables.conf", "gateway/dnsmasq.conf", "gateway/hostapd-clinical.conf",
        "gateway/hostapd-guest.conf", "gateway/interfaces.sh", "gateway/failover.json",
        "inventory/hosts.yml", "inventory/host_vars/nightingale-north-gw.yml"}
    assert (out / "gateway/nftables.conf").read_text().startswith("flush ruleset\n")
    assert os.access(out / "gateway/interfaces.sh", os.X_OK)


def test_nftables_passes_nft_check(example: tuple[Site, Path]) -> None:
    needs("nft")
    result = run("nft", "-c", "-f", str(example[1] / "gateway/nftables.conf"), check=False)
    assert result.returncode == 0, result.stderr


def test_dnsmasq_passes_its_test(example: tuple[Site, Path]) -> None:
    needs("dnsmasq")
    result = run("dnsmasq", "--test", f"--conf-file={example[1] / 'gateway/dnsmasq.conf'}",
                 check=False)
    assert result.returncode == 0 and "syntax check OK" in result.stderr, result.stderr


def test_hostapd_parses_every_wifi_config(example: tuple[Site, Path], tmp_path: Path) -> None:
    """hostapd has no check mode, but it parses the whole file before it looks for the radio
    (absent here) and names every bad line. The copy gets the line the role appends."""
    needs("hostapd")
    site, out = example
    for seg in gateway_vars(site)["segments"]:
        if not seg["wifi"]:
            continue
        text = (out / f"gateway/hostapd-{seg['name']}.conf").read_text()
        key = {"wpa3-personal": "sae_password", "wpa2-personal": "wpa_passphrase"}.get(
            seg["wifi"]["security"])
        completed = tmp_path / f"{seg['name']}.conf"
        completed.write_text(text + (f"{key}=correct-horse-battery\n" if key else ""))
        result = run("hostapd", str(completed), check=False)
        assert "errors found in configuration file" not in result.stdout, result.stdout
        assert "Line " not in result.stdout, result.stdout


def test_ruleset_loads_default_deny_with_ssh_only_from_admin(hospital_out: Path,
                                                             netns: str) -> None:
    needs("nft")
    ruleset = loaded_ruleset(netns, hospital_out / "gateway/nftables.conf")
    policies = {(c["chain"]["table"], c["chain"]["name"]): c["chain"].get("policy")
                for c in ruleset if "chain" in c}
    assert policies == {("provision", "input"): "drop", ("provision", "forward"): "drop",
                        ("provision", "output"): "accept",
                        ("provision_nat", "postrouting"): "accept"}
    dport_22 = {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                          "right": 22}}
    ssh = [r for r in rules_of(ruleset, "inet", "provision", "input") if dport_22 in r["expr"]]
    assert len(ssh) == 1
    assert {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lan0.15"}} \
        in ssh[0]["expr"]


def test_nat_is_its_own_table_masquerading_every_wan_link(hospital_out: Path,
                                                          netns: str) -> None:
    needs("nft")
    ruleset = loaded_ruleset(netns, hospital_out / "gateway/nftables.conf")
    tables = {(t["table"]["family"], t["table"]["name"]) for t in ruleset if "table" in t}
    assert tables == {("inet", "provision"), ("ip", "provision_nat")}
    nat = rules_of(ruleset, "ip", "provision_nat", "postrouting")
    assert [(r["expr"][0]["match"]["right"], r["expr"][-1]) for r in nat] == [
        ("wan0", {"masquerade": None}), ("wwan0", {"masquerade": None})]
    filtering = json.dumps([i for i in ruleset if "rule" in i and i["rule"]["table"] ==
                            "provision"])
    assert "masquerade" not in filtering
    # the lab deletes the NAT table by hand; what is left must stand on its own
    in_ns(netns, "nft", "delete", "table", "ip", "provision_nat")
    assert "provision_nat" not in in_ns(netns, "nft", "list", "ruleset").stdout


def test_forward_chain_is_exactly_reach(hospital_out: Path, field_hospital_file: Path) -> None:
    text = (hospital_out / "gateway/nftables.conf").read_text()
    forward = text.split("chain forward {")[1].split("}\n\n")[0]
    rules = [line.strip() for line in forward.splitlines()
             if line.strip() and not line.strip().startswith(("#", "type "))]
    assert rules == [
        "ct state established,related accept",
        "ct state invalid drop",
        "iifname @lan_interfaces udp dport 53 drop",
        "iifname @lan_interfaces tcp dport { 53, 853 } drop",
        'iifname "lan0.10" oifname @wan_interfaces accept',
        'iifname "lan0.15" oifname @wan_interfaces accept',
        'iifname "lan0.15" oifname "lan0.10" accept',
        'iifname "lan0.15" oifname "lan0.20" accept',
        'iifname "lan0.20" oifname "lan0.10" tcp dport 104 accept',
        'iifname "lan0.20" oifname "lan0.10" tcp dport 443 accept',
        'iifname "lan0.30" oifname @wan_interfaces accept',
    ]
    line = next(n for n, text in enumerate(field_hospital_file.read_text().splitlines(), 1)
                if '"clinical:tcp/104"' in text)
    assert f'# network.segments devices reach "clinical:tcp/104" (line {line})' in forward


def test_dnsmasq_serves_each_segment_and_forwards_only_to_resolvers(hospital_out: Path) -> None:
    lines = (hospital_out / "gateway/dnsmasq.conf").read_text().splitlines()
    assert [line for line in lines if line.startswith("server=")] == [
        "server=9.9.9.9", "server=149.112.112.112"]
    assert "no-resolv" in lines
    assert [line for line in lines if line.startswith(("interface=", "except-interface="))] == [
        "interface=lan0.10", "interface=lan0.15", "interface=lan0.20", "interface=lan0.30",
        "except-interface=wan0", "except-interface=wwan0"]
    assert "dhcp-range=set:it,10.50.15.8,10.50.15.61,255.255.255.192,12h" in lines
    assert "dhcp-option=tag:it,option:router,10.50.15.1" in lines
    assert "dhcp-option=tag:it,option:dns-server,10.50.15.1" in lines
    assert "dhcp-leasefile=/var/lib/misc/dnsmasq.leases" in lines
    assert "log-facility=/var/log/dnsmasq.log" in lines


def test_hostapd_security_per_segment(hospital_out: Path) -> None:
    clinical = (hospital_out / "gateway/hostapd-clinical.conf").read_text().splitlines()
    guest = (hospital_out / "gateway/hostapd-guest.conf").read_text().splitlines()
    assert {"interface=wlan0", "bridge=lan0.10", "wpa_key_mgmt=SAE", "ieee80211w=2"} <= set(
        clinical)
    assert "ap_isolate=1" not in clinical
    assert {"interface=wlan1", "bridge=lan0.30", "ssid=NHS Wi-Fi", "ap_isolate=1"} <= set(guest)
    assert not [line for line in guest if line.startswith(("wpa", "ieee8021x"))]
    assert clinical[-1] == ("# passphrase: secret provision/nightingale-north/wifi/clinical, "
                            "added by the gateway role at run time")


def test_wpa2_segment_uses_psk(site_variant: SiteVariant, tmp_path: Path) -> None:
    def wpa2(doc: dict[str, Any]) -> None:
        doc["network"]["segments"][0]["wifi"]["security"] = "wpa2-personal"
    render_site(site_variant(wpa2), tmp_path / "out")
    lines = (tmp_path / "out/gateway/hostapd-clinical.conf").read_text().splitlines()
    assert "wpa_key_mgmt=WPA-PSK" in lines and "wpa_key_mgmt=SAE" not in lines


def test_no_passphrase_anywhere_only_secret_names(example: tuple[Site, Path]) -> None:
    site, out = example
    for path in out.rglob("*"):
        if path.is_file():
            for line in path.read_text().splitlines():
                key = line.split("=", 1)[0].strip()
                assert key not in {"wpa_passphrase", "sae_password", "wpa_psk", "password"}, (
                    f"{path}: {line}")
    host_vars = yaml.safe_load(next((out / "inventory/host_vars").glob("*.yml")).read_text())
    for seg in host_vars["segments"]:
        if seg["wifi"] and seg["wifi"]["security"] != "open":
            secret = seg["wifi"]["passphrase_secret"]
            assert secret == site.wifi_secret(site.segment(seg["name"]))  # type: ignore[arg-type]
            assert f"# passphrase: secret {secret}," in (
                out / f"gateway/hostapd-{seg['name']}.conf").read_text()


def test_inventory_and_host_vars(hospital_out: Path, field_hospital: Site) -> None:
    hosts = yaml.safe_load((hospital_out / "inventory/hosts.yml").read_text())
    assert hosts == {"all": {"children": {"gateways": {"hosts": {"nightingale-north-gw": {
        "ansible_host": "192.0.2.10", "ansible_user": "provision"}}}}}}
    host_vars = yaml.safe_load(
        (hospital_out / "inventory/host_vars/nightingale-north-gw.yml").read_text())
    assert host_vars == gateway_vars(field_hospital)


def test_failover_settings(hospital_out: Path) -> None:
    failover = json.loads((hospital_out / "gateway/failover.json").read_text())
    assert failover["primary"] == {"name": "fttp", "type": "broadband", "interface": "wan0",
                                   "addressing": "dhcp", "address": None, "next_hop": None,
                                   "metric": 100}
    assert [(b["name"], b["interface"], b["metric"]) for b in failover["backups"]] == [
        ("mobile", "wwan0", 200)]
    assert failover["health_check"] == {"targets": ["9.9.9.9", "1.1.1.1"],
                                        "interval_seconds": 5, "failures": 3}


def test_static_link_gets_its_address_and_route(site_variant: SiteVariant,
                                                tmp_path: Path) -> None:
    def static(doc: dict[str, Any]) -> None:
        doc["connectivity"]["links"][0].update(addressing="static", address="192.0.2.2/30",
                                               next_hop="192.0.2.1")
    render_site(site_variant(static), tmp_path / "out")
    gateway = tmp_path / "out/gateway"
    wan = (gateway / "networkd/30-provision-wan0.network").read_text()
    assert "Address=192.0.2.2/30" in wan and "Gateway=192.0.2.1" in wan and "Metric=100" in wan
    nft = (gateway / "nftables.conf").read_text()
    assert 'iifname "wan0" udp sport 67' not in nft  # no DHCP client on a static link
    assert 'iifname "wwan0" udp sport 67 udp dport 68 accept' in nft


SEGMENT_DEVICES = [("lan0.10", "lan0v10", 10, "10.50.10.1/24"),
                   ("lan0.15", "lan0.15", 15, "10.50.15.1/26"),
                   ("lan0.20", "lan0.20", 20, "10.50.20.1/24"),
                   ("lan0.30", "lan0v30", 30, "10.50.32.1/22")]


def kernel_has_vlans(ns: str) -> bool:
    in_ns(ns, "ip", "link", "add", "probe0", "type", "veth", "peer", "name", "probe1")
    made = run("ip", "netns", "exec", ns, "ip", "link", "add", "link", "probe0", "name",
               "probe0.9", "type", "vlan", "id", "9", check=False).returncode == 0
    in_ns(ns, "ip", "link", "delete", "probe0")
    return made


@pytest.mark.parametrize("wiring", ["pre-wired", "802.1q"])
def test_interfaces_script_builds_the_segments_and_is_safe_to_rerun(
        hospital_out: Path, netns: str, wiring: str) -> None:
    """"pre-wired" is the lab's layout on kernels without 802.1Q: each VLAN device already
    exists as a wire end, and the script must build on it; "802.1q" lets the script create
    the VLAN sub-interfaces itself."""
    in_ns(netns, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "trunk")
    if wiring == "802.1q" and not kernel_has_vlans(netns):
        pytest.skip("this kernel has no 802.1Q devices")
    if wiring == "pre-wired":
        for _, vlan_device, vlan, _ in SEGMENT_DEVICES:
            in_ns(netns, "ip", "link", "add", vlan_device, "type", "veth", "peer", "name",
                  f"client{vlan}")
    script = str(hospital_out / "gateway/interfaces.sh")
    in_ns(netns, script)
    in_ns(netns, script)
    links = {link["ifname"]: link for link in json.loads(
        in_ns(netns, "ip", "-j", "-d", "address", "show").stdout)}
    for name, vlan_device, vlan, address in SEGMENT_DEVICES:
        link = links[name]
        assert [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"]
                if a["family"] == "inet"] == [address]
        assert "UP" in link["flags"]
        if vlan_device != name:  # Wi-Fi: a bridge holding the VLAN device
            assert link["linkinfo"]["info_kind"] == "bridge"
            assert links[vlan_device]["master"] == name
        if wiring == "802.1q":
            assert links[vlan_device]["linkinfo"]["info_data"]["id"] == vlan
    assert in_ns(netns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"


def test_rendering_is_deterministic(example: tuple[Site, Path], tmp_path: Path) -> None:
    site, first = example
    again = tmp_path / "again"
    render_site(site, again)
    render_site(site, first)  # over its own previous output, too
    def snapshot(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in sorted(root.rglob("*")) if p.is_file()}
    assert snapshot(first) == snapshot(again)


def test_rerender_removes_outputs_no_longer_due(site_variant: SiteVariant,
                                                hospital_out: Path) -> None:
    def no_wifi(doc: dict[str, Any]) -> None:
        for seg in doc["network"]["segments"]:
            seg.pop("wifi", None)
    render_site(site_variant(no_wifi), hospital_out)
    gateway = hospital_out / "gateway"
    assert not list(gateway.glob("hostapd-*.conf"))
    assert not list(gateway.glob("networkd/*lan0v*"))
    assert (gateway / "networkd/20-provision-lan0.10.netdev").read_text().count("Kind=vlan") == 1


def copy_of_templates(tmp_path: Path, name: str, text: str) -> Path:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    (templates / name).write_text(text)
    return templates


def test_undefined_variable_names_template_and_line(field_hospital: Site,
                                                    tmp_path: Path) -> None:
    templates = copy_of_templates(tmp_path, "gateway/dnsmasq.conf.j2",
                                  "no-resolv\n# {{ site_id }}\nserver={{ resolver_list }}\n")
    with pytest.raises(RenderFailed, match=r"^gateway/dnsmasq\.conf\.j2:3: .*resolver_list"):
        render_site(field_hospital, tmp_path / "out", templates_dir=templates)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_undefined_attribute_in_a_loop_names_its_line(field_hospital: Site,
                                                      tmp_path: Path) -> None:
    templates = copy_of_templates(tmp_path, "gateway/interfaces.sh.j2",
                                  "#!/bin/sh\n{% for seg in segments %}\n"
                                  "ip link add {{ seg.interface }}\n"
                                  "ip addr add {{ seg.address }}\n{% endfor %}\n")
    with pytest.raises(RenderFailed, match=r"^gateway/interfaces\.sh\.j2:4: .*address"):
        render_site(field_hospital, tmp_path / "out", templates_dir=templates)


def test_syntax_error_names_template_and_line(field_hospital: Site, tmp_path: Path) -> None:
    templates = copy_of_templates(tmp_path, "gateway/hostapd.conf.j2",
                                  "interface=x\n\n{% if segment.wifi %}\nssid=y\n")
    with pytest.raises(RenderFailed, match=r"^gateway/hostapd\.conf\.j2:\d+: "):
        render_site(field_hospital, tmp_path / "out", templates_dir=templates)


def test_field_hospital_is_among_the_examples(field_hospital_file: Path) -> None:
    assert field_hospital_file in EXAMPLES
