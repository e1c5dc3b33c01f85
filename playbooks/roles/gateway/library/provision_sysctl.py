#!/usr/bin/python
"""Ansible module: set live kernel parameters, reporting changed only when one differed."""

from __future__ import annotations

DOCUMENTATION = r"""
module: provision_sysctl
short_description: Set kernel parameters under /proc/sys now
description:
  - Ansible's own sysctl module lives in a collection this project does not install; the
    persistent file is written by the role, this module makes the running kernel agree (in
    a network namespace, the net.* values are the namespace's own).
options:
  values: {description: Parameter name (dotted) to value., required: true, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule


def _path(name):
    return "/proc/sys/" + name.replace(".", "/")


def main():
    module = AnsibleModule(argument_spec={"values": {"type": "dict", "required": True}},
                           supports_check_mode=True)
    wanted = {name: str(value) for name, value in module.params["values"].items()}
    live = {}
    for name in wanted:
        with open(_path(name), encoding="utf-8") as handle:
            live[name] = handle.read().strip()
    differ = sorted(name for name in wanted if live[name] != wanted[name])
    if differ and not module.check_mode:
        for name in differ:
            with open(_path(name), "w", encoding="utf-8") as handle:
                handle.write(wanted[name])
    module.exit_json(changed=bool(differ), diff={
        "before": "".join(f"{n} = {live[n]}\n" for n in differ),
        "after": "".join(f"{n} = {wanted[n]}\n" for n in differ)})


if __name__ == "__main__":
    main()
