"""Fixtures shared across the suite: a real AWS emulator (moto in server mode) over HTTP.

The server is started once per session on a free loopback port; every test that asks for
`aws` gets it reset first, so tests never see each other's resources.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from provision.aws.session import AwsSession

# The tests run the tools of the environment they run in (`.venv/bin/python -m pytest` does
# not activate it): provision, ansible-playbook, molecule, moto_server come from beside it.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                      os.environ.get("PATH", "")])

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "sites" / "examples"
FIELD_HOSPITAL = EXAMPLES / "field-hospital.yaml"
VariantFile = Callable[[Callable[[dict[str, Any]], None]], Path]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "1")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-2"}.items():
        os.environ.setdefault(key, value)
    yield endpoint
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str) -> AwsSession:
    """A session against a freshly reset emulator."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    return AwsSession("eu-west-2", endpoint_url=moto_endpoint, max_attempts=3)


@pytest.fixture
def variant_file(tmp_path: Path) -> VariantFile:
    """A copy of the field hospital with `change` applied to its YAML document, written to a
    file so that it goes through `load_site` (and the CLI) like any user's file."""
    def make(change: Callable[[dict[str, Any]], None]) -> Path:
        document = yaml.safe_load(FIELD_HOSPITAL.read_text(encoding="utf-8"))
        change(document)
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path
    return make
