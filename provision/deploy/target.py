"""Where a site's commands act: the local lab, or real AWS and the real gateway.

The lab is the embedded default. Acting for real must never happen by accident, so when the
environment holds AWS credentials and the site names a real gateway, the operator says which
they mean with --lab or --no-lab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from provision.errors import ProvisionError
from provision.site.model import Site

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


@dataclass(frozen=True)
class Target:
    lab: bool
    reason: str

    def describe(self, site: Site) -> str:
        if self.lab:
            return f"the local lab: AWS emulator and a namespace gateway ({self.reason})"
        return (f"AWS {site.cloud.region} and the gateway at {site.gateway.host} "
                f"({self.reason})")


def aws_credentials_configured() -> bool:
    """The credential chain's usual sources, without calling AWS (an instance role is not
    seen: on EC2 say --no-lab)."""
    if any(os.environ.get(name) for name in CREDENTIAL_VARIABLES):
        return True
    files = (os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
             os.environ.get("AWS_CONFIG_FILE", "~/.aws/config"))
    return any(Path(name).expanduser().is_file() for name in files)


def choose_target(site: Site, lab: bool | None) -> Target:
    host_is_lab = site.gateway.host == "lab"
    if lab is False and host_is_lab:
        raise ProvisionError('gateway.host is "lab": there is no real gateway to act on',
                             hint="set gateway.host to the gateway's address, or drop --no-lab")
    if lab is not None:
        return Target(lab, "--lab given" if lab else "--no-lab given")
    if host_is_lab:
        return Target(True, 'gateway.host is "lab"')
    if not aws_credentials_configured():
        return Target(True, "no AWS credentials are configured")
    raise ProvisionError(
        f"not clear whether to act for real: AWS credentials are configured and the gateway "
        f"is {site.gateway.host}",
        hint="pass --lab to rehearse on this machine, or --no-lab to act on AWS and the "
        "real gateway")
