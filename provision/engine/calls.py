"""Turning a failed AWS call into the user-facing error that names the resource and operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from provision.errors import CloudCallFailed

T = TypeVar("T")


def cloud_call(address: str, operation: str, call: Callable[[], T]) -> T:
    """Runs `call`; a botocore error becomes CloudCallFailed naming `address` and the AWS
    operation that failed (or `operation`, the engine's step, when botocore does not say)."""
    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CloudCallFailed(
            f"{address}: {exc.operation_name or operation} failed: "
            f"{error.get('Code', '')} {error.get('Message', '')}".rstrip(),
            hint="state was saved; fix the cause and re-run the same command") from exc
    except BotoCoreError as exc:
        raise CloudCallFailed(f"{address}: {operation} failed: {exc}",
                              hint="state was saved; fix the cause and re-run") from exc
