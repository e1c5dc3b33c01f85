"""`molecule test` on the gateway role's scenario (playbooks/roles/gateway/molecule/default):
create builds the site's lab, converge applies site.yml, idempotence re-runs it, verify sends
real traffic, destroy takes the lab down."""

from __future__ import annotations

import re

from provision.checks import load_site
from provision.render import gateway_vars
from tests.onsite.conftest import EXAMPLE, MoleculeRun

STEPS = ("destroy", "create", "converge", "idempotence", "verify")


def step_output(output: str, step: str) -> list[str]:
    """The output of each time molecule ran `step`, in order."""
    parts = re.split(r"^.*default\W+(\w+)\W+Executing$", output, flags=re.MULTILINE)
    return [text for name, text in zip(parts[1::2], parts[2::2], strict=True) if name == step]


def recap(text: str, host: str) -> dict[str, int]:
    """The PLAY RECAP counters of `host` in one step's output."""
    line = re.search(rf"{re.escape(host)}\s*:\s*(ok=.*)$", text, flags=re.MULTILINE)
    assert line is not None, f"no recap for {host}"
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(1))}


def test_molecule_test_converges_idempotently_and_verifies(molecule_test: MoleculeRun) -> None:
    code, output = molecule_test.output()

    assert code == 0, output[-5000:]
    for step in STEPS:
        assert re.search(rf"default\W+{step}\W+Executed: Successful", output), step
    gateway = gateway_vars(load_site(EXAMPLE))["gateway_name"]  # the scenario's site
    [converge] = step_output(output, "converge")
    [idempotence] = step_output(output, "idempotence")
    assert recap(converge, gateway)["changed"] > 0  # the gateway was configured, not skipped
    assert recap(idempotence, gateway)["changed"] == 0
    [verify] = step_output(output, "verify")
    assert '"passed": true' in verify and '"failed": []' in verify
