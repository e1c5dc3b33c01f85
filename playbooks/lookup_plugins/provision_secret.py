"""Ansible lookup: read a site secret from the secret store at run time.

Secrets (Wi-Fi passphrases, the gateway admin credential) never sit in the repo or the
rendered files; the role asks for them by name when it needs them, and its tasks are no_log.
The client comes from provision's AwsSession, so the standard environment applies
(credentials chain, AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL for the lab emulator).
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from provision.aws.session import AwsSession

DOCUMENTATION = r"""
name: provision_secret
short_description: A secret's value from AWS Secrets Manager
description:
  - Returns the SecretString of each named secret.
options:
  _terms: {description: Secret names (e.g. provision/<site>/wifi/clinical)., required: true}
  key: {description: Take this key of a JSON secret instead of the whole string., type: str}
  region: {description: AWS region; defaults to AWS_REGION or AWS_DEFAULT_REGION., type: str}
"""


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None,
            **kwargs: Any) -> list[str]:
        self.set_options(var_options=variables, direct=kwargs)
        region = (self.get_option("region") or os.environ.get("AWS_REGION")
                  or os.environ.get("AWS_DEFAULT_REGION"))
        if not region:
            raise AnsibleLookupError("provision_secret: no AWS region (set AWS_REGION)")
        client = AwsSession(region).client("secretsmanager")
        key = self.get_option("key")
        values = []
        for name in terms:
            try:
                secret = client.get_secret_value(SecretId=str(name))["SecretString"]
            except Exception as exc:  # botocore's errors; the message never holds the value
                raise AnsibleLookupError(f"provision_secret: cannot read secret {name}: "
                                         f"{exc}") from exc
            if key:
                try:
                    secret = json.loads(secret)[key]
                except (ValueError, KeyError, TypeError) as exc:
                    raise AnsibleLookupError(f"provision_secret: secret {name} has no JSON "
                                             f"key {key}") from exc
            values.append(secret)
        return values
