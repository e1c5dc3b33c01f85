"""The provision_secret lookup against the AWS emulator over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from provision.aws.session import AwsSession
from provision.onsite.runner import PLAYBOOKS_DIR


@pytest.fixture
def lookup(aws: AwsSession, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The plugin as Ansible loads it, pointed at the emulator through the environment."""
    assert aws.endpoint_url is not None
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    lookup_loader.add_directory(str(PLAYBOOKS_DIR / "lookup_plugins"))
    plugin = lookup_loader.get("provision_secret")
    assert plugin is not None
    return plugin


def test_reads_a_secret_by_name(aws: AwsSession, lookup: Any) -> None:
    aws.client("secretsmanager").create_secret(Name="provision/site-a/wifi/clinical",
                                               SecretString="correct horse battery")

    assert lookup.run(["provision/site-a/wifi/clinical"]) == ["correct horse battery"]


def test_reads_one_key_of_a_json_secret(aws: AwsSession, lookup: Any) -> None:
    aws.client("secretsmanager").create_secret(
        Name="provision/site-a/gateway-admin",
        SecretString=json.dumps({"username": "provision", "password": "s3cret-value"}))

    assert lookup.run(["provision/site-a/gateway-admin"], key="password") == ["s3cret-value"]


def test_a_missing_secret_is_named_in_the_error(aws: AwsSession, lookup: Any) -> None:
    with pytest.raises(AnsibleLookupError, match="provision/site-a/wifi/absent"):
        lookup.run(["provision/site-a/wifi/absent"])
