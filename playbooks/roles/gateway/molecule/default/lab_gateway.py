#!/usr/bin/env python3
"""The molecule scenario's instance: the site's lab (provision.lab.lab.Lab), driven by molecule.

    python lab_gateway.py build SITE_FILE LAB_DIR   # create: the lab's hardware, no playbook
    python lab_gateway.py verify SITE_FILE LAB_DIR  # verify: real traffic (provision verify)
    python lab_gateway.py down SITE_FILE LAB_DIR    # destroy: no namespace, process or file left

`build` also renders the site into LAB_DIR/rendered, where the lab's own converge renders it,
and writes LAB_DIR/box-inventory.yml: the box's connection variables for the rendered host,
the same ones `provision lab up` passes. molecule's playbooks run with both as inventory.
Each command prints one JSON line, which the playbooks read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from provision.checks import load_site
from provision.lab.lab import Lab
from provision.render import gateway_vars, render_site
from provision.verify import verify_lab

# verify's kinds that molecule runs: the gateway's own work. The scan and failover checks take
# half a minute more and are run by `provision verify` and the lab's tests.
VERIFY_KINDS = ("dhcp", "dns", "reach", "nat")
BOX_INVENTORY = "box-inventory.yml"


def build(lab: Lab) -> dict[str, object]:
    info = lab.build()
    rendered = lab.lab_dir / "rendered"
    render_site(lab.site, rendered)
    box_vars = {**lab.box.inventory_vars(), "provision_rendered_dir": str(rendered)}
    (lab.lab_dir / BOX_INVENTORY).write_text(yaml.safe_dump(
        {"all": {"hosts": {gateway_vars(lab.site)["gateway_name"]: box_vars}}}, sort_keys=True))
    return {"changed": True, "namespaces": info.namespaces, "box_pid": info.box_pid}


def verify(lab: Lab) -> dict[str, object]:
    """`provision verify` needs a lab that is up; `lab up` after molecule's converge applies
    the same site.yml through provision's adapter, so it must find nothing left to change."""
    info = lab.up()
    report = verify_lab(lab, kinds=VERIFY_KINDS)
    return {"changed": False, "passed": report.passed and info.playbook_changed == 0,
            "lab_up_changed": info.playbook_changed, "checks": len(report.results),
            "seconds": report.seconds,
            "failed": [{"name": r.name, "expected": r.expected, "seen": r.seen}
                       for r in report.failed]}


def down(lab: Lab) -> dict[str, object]:
    existed = lab.lab_dir.exists()
    lab.down()
    return {"changed": existed}


COMMANDS = {"build": build, "verify": verify, "down": down}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    command, site_file, lab_dir = argv
    outcome = COMMANDS[command](Lab(load_site(Path(site_file)), Path(lab_dir)))
    print(json.dumps(outcome))
    return 1 if outcome.get("passed") is False else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
