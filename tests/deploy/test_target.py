"""Where a site's commands act: the lab unless the file and the environment make acting for
real unambiguous, and never for real by accident. Fast: no emulator, no namespaces."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from provision.checks import load_site
from provision.deploy import choose_target
from provision.deploy.target import CREDENTIAL_VARIABLES
from provision.errors import ProvisionError
from provision.lab import netns
from provision.lab.topology import default_lab_dir, lab_prefix
from provision.site.model import Site
from tests.deploy.conftest import PROVISION, SITE_ID, env_without_aws, json_documents, site_copy


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing of the credential chain is set: no variables, no credentials or config file."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))


@pytest.fixture
def credentials(no_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def _site(tmp_path: Path, host: str = "192.0.2.10") -> Site:
    return load_site(site_copy(tmp_path, host=host))


@pytest.mark.parametrize("lab", [True, False])
def test_an_explicit_flag_decides(tmp_path: Path, credentials: None, lab: bool) -> None:
    target = choose_target(_site(tmp_path), lab)
    assert target.lab is lab
    assert target.reason == ("--lab given" if lab else "--no-lab given")


@pytest.mark.usefixtures("credentials")
def test_a_lab_host_means_the_lab_even_with_credentials(tmp_path: Path) -> None:
    site = _site(tmp_path, host="lab")
    target = choose_target(site, None)
    assert target.lab and target.reason == 'gateway.host is "lab"'
    assert "the local lab" in target.describe(site)


@pytest.mark.usefixtures("no_credentials")
def test_no_credentials_means_the_lab_and_says_why(tmp_path: Path) -> None:
    target = choose_target(_site(tmp_path), None)
    assert target.lab and target.reason == "no AWS credentials are configured"


@pytest.mark.parametrize("variable", CREDENTIAL_VARIABLES)
def test_any_credential_source_with_a_real_host_asks_which(
        tmp_path: Path, no_credentials: None, monkeypatch: pytest.MonkeyPatch,
        variable: str) -> None:
    monkeypatch.setenv(variable, "set")
    with pytest.raises(ProvisionError) as raised:
        choose_target(_site(tmp_path), None)
    assert "192.0.2.10" in raised.value.message
    assert "--lab" in raised.value.hint and "--no-lab" in raised.value.hint


def test_a_credentials_file_counts_as_credentials(
        tmp_path: Path, no_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    with pytest.raises(ProvisionError, match="not clear whether to act for real"):
        choose_target(_site(tmp_path), None)


@pytest.mark.usefixtures("no_credentials")
def test_no_lab_with_a_lab_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError) as raised:
        choose_target(_site(tmp_path, host="lab"), False)
    assert raised.value.message.startswith('gateway.host is "lab"')
    assert "--no-lab" in raised.value.hint


# -- through the installed command --------------------------------------------------------------

AMBIGUOUS = {
    "up": [],
    "plan": [],
    "apply": ["--yes"],
    "teardown": ["--yes", "--confirm", SITE_ID],
}


@pytest.mark.parametrize("command", sorted(AMBIGUOUS))
def test_the_cli_stops_before_touching_anything_when_the_target_is_unclear(
        tmp_path: Path, command: str) -> None:
    site_file = site_copy(tmp_path)
    env = {**env_without_aws(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    done = subprocess.run([PROVISION, command, str(site_file), *AMBIGUOUS[command]],
                          env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not clear whether to act for real" in done.stderr
    assert "pass --lab to rehearse on this machine, or --no-lab" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    # Nothing was made: no working folder (state, lab, emulator) and no namespace.
    assert sorted(p.name for p in tmp_path.iterdir()) == [site_file.name]
    prefix = lab_prefix(SITE_ID, default_lab_dir(site_file, load_site(site_file)))
    assert not [n for n in netns.names() if n.startswith(prefix)]


def test_the_cli_error_is_json_with_json(tmp_path: Path) -> None:
    site_file = site_copy(tmp_path, host="lab")
    done = subprocess.run([PROVISION, "up", str(site_file), "--no-lab", "--json"],
                          env=env_without_aws(tmp_path), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert json_documents(done.stdout) == [{
        "error": 'gateway.host is "lab": there is no real gateway to act on',
        "hint": "set gateway.host to the gateway's address, or drop --no-lab",
        "kind": "ProvisionError"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == [site_file.name]
