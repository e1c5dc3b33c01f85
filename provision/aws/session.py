"""The one place boto3 clients are made: region, endpoint, profile and retry policy.

Everything that talks to AWS takes an `AwsSession`, which is the injectable seam: the lab
and the tests point it at the local emulator with `AWS_ENDPOINT_URL` (boto3's own convention),
production uses the standard credential chain.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_MAX_ATTEMPTS = 8

# botocore logs whole request and response bodies at DEBUG; with these fields in them, a
# secret would reach a log the moment someone turns debugging on. Such records are dropped,
# for every client, since every client is made here.
SECRET_FIELDS = ("SecretString", "SecretBinary", "ClientSecret")
BODY_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.hooks")


class DropSecretBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(name in message for name in SECRET_FIELDS)


for _logger in BODY_LOGGERS:
    logging.getLogger(_logger).addFilter(DropSecretBodies())


class AwsSession:
    def __init__(self, region: str, *, endpoint_url: str | None = None,
                 profile: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.region = region
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self._session = boto3.session.Session(profile_name=profile, region_name=region)
        self._config = Config(
            region_name=region,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=20,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached client; boto3 clients are thread-safe once made, but making one is not."""
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=key[1], endpoint_url=self.endpoint_url,
                    config=self._config)
            return self._clients[key]

    @property
    def events(self) -> Any:
        """botocore's event hooks, shared by every client of this session (for call counting
        and fault injection in benchmarks and tests)."""
        return self._session.events
