"""The role's tests run against the site's lab (provision.lab.lab.Lab): the gateway box in
network namespaces, an ISP per WAN link, the internet side and a client per segment."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provision.checks import load_site
from provision.lab.lab import Lab

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "sites" / "examples" / "field-hospital.yaml"
ROLE = REPO / "playbooks" / "roles" / "gateway"
MOLECULE_TIMEOUT_SECONDS = 600


def built_lab(site_file: Path, lab_dir: Path) -> Iterator[Lab]:
    """The site's lab with its hardware built and no playbook applied; taken down afterwards
    whatever happened."""
    lab = Lab(load_site(site_file), lab_dir)
    try:
        lab.build()
        yield lab
    finally:
        lab.down()


def in_box(lab: Lab, command: str) -> str:
    """A shell command inside the gateway box; its output."""
    return lab.box.run("sh", "-c", command, check=True).stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The example site's lab, not yet configured (module-wide: the tests of a module run in
    order against it)."""
    yield from built_lab(EXAMPLE, tmp_path_factory.mktemp("gateway") / "lab")


@dataclass
class MoleculeRun:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> tuple[int, str]:
        """Wait for `molecule test` to end; its exit code and output."""
        code = self.process.wait(timeout=MOLECULE_TIMEOUT_SECONDS)
        return code, self.log.read_text()


@pytest.fixture(scope="session")
def molecule_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MoleculeRun]:
    """`molecule test` of the gateway role's scenario, as a subprocess. Its lab lives in its
    own ephemeral folder, so its namespaces are its own. It runs on its own, not beside the
    timing-sensitive failover tests: two cores are shared by everything here."""
    executable = shutil.which("molecule")
    if executable is None:
        pytest.skip("the molecule executable is not installed (pip install molecule)")
    work = tmp_path_factory.mktemp("molecule")
    ephemeral = work / "ephemeral"
    env = {**os.environ, "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral), "NO_COLOR": "1",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PY_COLORS": "0"}
    log = work / "molecule.log"
    with log.open("wb") as out:
        process = subprocess.Popen([executable, "test"], cwd=ROLE, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield MoleculeRun(process, log)
    finally:
        if process.poll() is None:  # the session ended before the test waited for it
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        Lab(load_site(EXAMPLE), ephemeral / "lab").down()  # nothing left if molecule was cut short

