#!/usr/bin/python
"""Ansible module: make the gateway's links match the site, reporting changed only on drift."""

from __future__ import annotations

DOCUMENTATION = r"""
module: provision_interfaces
short_description: Check the segments' interfaces and static WAN links, fix them on drift
description:
  - Reads the live links and addresses (C(ip -j -d address show), C(ip -j route show default))
    and lists what differs from the site: a missing VLAN device or bridge, a link down, a
    missing gateway address, a VLAN device outside its bridge, a static WAN address or default
    route missing. Only then does it run I(apply) (the rendered interfaces.sh, or a networkd
    reload) and set the static links itself, so a converged gateway reports changed=false.
options:
  lan_interface: {description: The trunk interface., required: true, type: str}
  segments: {description: The segments from the rendered host variables., required: true, type: list, elements: dict}
  static_links: {description: WAN links with static addressing to set directly., type: list, elements: dict, default: []}
  apply: {description: Command that creates and addresses the segments' interfaces (state=present)., type: list, elements: str}
  state:
    description:
      - present makes the links match; absent removes the segments' bridges and 802.1Q devices
        and the gateway's addresses (devices of another kind, such as the lab's wires, stay).
    type: str
    choices: [present, absent]
    default: present
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule


def _live(module):
    links = json.loads(module.run_command(["ip", "-j", "-d", "address", "show"],
                                          check_rc=True)[1] or "[]")
    routes = json.loads(module.run_command(["ip", "-j", "-4", "route", "show", "default"],
                                           check_rc=True)[1] or "[]")
    return {link["ifname"]: link for link in links}, routes


def _addresses(link):
    return {f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
            if a.get("family") == "inet"}


def _is_up(link):
    return link is not None and "UP" in link.get("flags", [])


def segment_drift(lan_interface, segments, links):
    problems = []
    if not _is_up(links.get(lan_interface)):
        problems.append(f"{lan_interface} is missing or down")
    for seg in segments:
        name, device = seg["interface"], seg["vlan_device"]
        link = links.get(name)
        if seg["bridged"]:
            vlan = links.get(device)
            if vlan is None:
                problems.append(f"{seg['name']}: VLAN device {device} is missing")
            elif vlan.get("master") != name:
                problems.append(f"{seg['name']}: {device} is not a port of bridge {name}")
            elif not _is_up(vlan):
                problems.append(f"{seg['name']}: {device} is down")
        if link is None:
            problems.append(f"{seg['name']}: interface {name} is missing")
            continue
        if not _is_up(link):
            problems.append(f"{seg['name']}: {name} is down")
        if seg["gateway_cidr"] not in _addresses(link):
            problems.append(f"{seg['name']}: {name} lacks {seg['gateway_cidr']}")
    return problems


def _has_route(routes, link):
    return any(r.get("dev") == link["interface"] and r.get("gateway") == link["next_hop"]
               and r.get("metric", 0) == link["metric"] for r in routes)


def link_drift(static_links, links, routes):
    problems = []
    for link in static_links:
        live = links.get(link["interface"])
        if live is None:
            problems.append(f"WAN {link['name']}: interface {link['interface']} is missing")
            continue
        if not _is_up(live) or link["address"] not in _addresses(live):
            problems.append(f"WAN {link['name']}: {link['interface']} lacks {link['address']}")
        if not _has_route(routes, link):
            problems.append(f"WAN {link['name']}: no default route via {link['next_hop']} "
                            f"metric {link['metric']}")
    return problems


def _fix_static(module, static_links):
    for link in static_links:
        dev = link["interface"]
        module.run_command(["ip", "link", "set", "dev", dev, "up"], check_rc=True)
        module.run_command(["ip", "address", "replace", link["address"], "dev", dev],
                           check_rc=True)
        module.run_command(["ip", "route", "replace", "default", "via", link["next_hop"],
                            "dev", dev, "metric", str(link["metric"])], check_rc=True)


def _kind(link):
    return link.get("linkinfo", {}).get("info_kind")


def remove(module, segments, static_links):
    """What state=absent removes, done unless in check mode; the list of removals."""
    links = _live(module)[0]
    commands = []
    for seg in segments:
        for name in dict.fromkeys([seg["interface"], seg["vlan_device"]]):
            link = links.get(name)
            if link is None:
                continue
            if _kind(link) in ("bridge", "vlan"):
                commands.append(["ip", "link", "del", "dev", name])
            elif seg["gateway_cidr"] in _addresses(link):
                commands.append(["ip", "address", "del", seg["gateway_cidr"], "dev", name])
    for link in static_links:
        live = links.get(link["interface"])
        if live is not None and link["address"] in _addresses(live):
            commands.append(["ip", "address", "del", link["address"], "dev", link["interface"]])
    if not module.check_mode:
        for command in commands:
            module.run_command(command, check_rc=True)
    return [" ".join(command) for command in commands]


def main():
    module = AnsibleModule(
        argument_spec={
            "lan_interface": {"type": "str", "required": True},
            "segments": {"type": "list", "elements": "dict", "required": True},
            "static_links": {"type": "list", "elements": "dict", "default": []},
            "apply": {"type": "list", "elements": "str"},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        required_if=[("state", "present", ["apply"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "absent":
        removed = remove(module, params["segments"], params["static_links"])
        module.exit_json(changed=bool(removed), removed=removed)

    def drift():
        links, routes = _live(module)
        return (segment_drift(params["lan_interface"], params["segments"], links),
                link_drift(params["static_links"], links, routes))

    segments_before, links_before = drift()
    before = segments_before + links_before
    if not before or module.check_mode:
        module.exit_json(changed=bool(before), drift=before,
                         diff={"before": "".join(f"{p}\n" for p in before), "after": ""})
    if segments_before:
        rc, out, err = module.run_command(params["apply"])
        if rc != 0:
            module.fail_json(msg=f"{' '.join(params['apply'])} failed ({rc}): {err or out}",
                             drift=before)
    if links_before:
        _fix_static(module, params["static_links"])
    deadline = time.monotonic() + 10  # networkd applies a reload asynchronously
    while True:
        after_segments, after_links = drift()
        after = after_segments + after_links
        if not after or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if after:
        module.fail_json(msg="the interfaces still differ from the site: " + "; ".join(after),
                         drift=after)
    module.exit_json(changed=True, drift=before,
                     diff={"before": "".join(f"{p}\n" for p in before), "after": ""})


if __name__ == "__main__":
    main()
