"""State: what the tool created for a site (address -> type, id, attrs, outputs, tags), and the
intents it journalled before each AWS call, so a killed run can be resumed.

Two backends: a folder beside the site file (default) and an S3 prefix for teams. Both lock a
site for one writer at a time and record who holds the lock and since when. No secret value is
ever written: attributes go through the plan's `redact`.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from provision.aws.resource import Live
from provision.aws.session import AwsSession
from provision.errors import LockHeld, StateError
from provision.plan.model import redact

STATE_FORMAT = 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _who() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


@dataclass
class ResourceState:
    type: str
    id: str
    attrs: dict[str, Any]
    outputs: dict[str, Any]
    tags: dict[str, str]

    @classmethod
    def of(cls, live: Live) -> ResourceState:
        return cls(live.type, live.id, redact(live.attrs), redact(live.outputs), dict(live.tags))


@dataclass
class Intent:
    """Written before an AWS call, removed once its result is recorded."""

    action: str
    type: str
    id: str | None
    since: str = field(default_factory=_now)


@dataclass(frozen=True)
class LastApply:
    """The last apply or teardown that finished: what `provision status` shows a fleet."""

    when: str  # UTC, ISO 8601
    who: str  # user@host
    mode: str  # "apply" or "destroy"
    steps: int  # steps of the plan it executed

    @classmethod
    def now(cls, mode: str, steps: int) -> LastApply:
        return cls(_now(), _who(), mode, steps)


@dataclass
class State:
    site_id: str
    lineage: str = ""  # set on the first save; a plan made before it names "" and serial 0
    serial: int = 0
    resources: dict[str, ResourceState] = field(default_factory=dict)
    pending: dict[str, Intent] = field(default_factory=dict)
    last_apply: LastApply | None = None  # absent from state written before it was recorded

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "site_id": self.site_id, "lineage": self.lineage,
                "serial": self.serial,
                "resources": {a: asdict(r) for a, r in sorted(self.resources.items())},
                "pending": {a: asdict(i) for a, i in sorted(self.pending.items())},
                "last_apply": asdict(self.last_apply) if self.last_apply else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        if data.get("format") != STATE_FORMAT:
            raise StateError(f"state format {data.get('format')!r} is not {STATE_FORMAT}")
        last_apply = data.get("last_apply")
        return cls(data["site_id"], data["lineage"], data["serial"],
                   {a: ResourceState(**r) for a, r in data["resources"].items()},
                   {a: Intent(**i) for a, i in data["pending"].items()},
                   LastApply(**last_apply) if last_apply else None)


@dataclass(frozen=True)
class LockInfo:
    id: str
    who: str
    pid: int
    since: str
    operation: str

    @classmethod
    def new(cls, operation: str) -> LockInfo:
        return cls(str(uuid.uuid4()), _who(), os.getpid(), _now(), operation)

    def describe(self) -> str:
        return f"{self.who} (pid {self.pid}, {self.operation}) since {self.since}"


def _lock_held(site_id: str, holder: LockInfo | None) -> LockHeld:
    who = holder.describe() if holder else "another run"
    lock_id = holder.id if holder else "LOCK_ID"
    return LockHeld(f"site {site_id} is locked by {who}",
                    hint=f"wait for it to finish; if that run is dead: "
                    f"provision force-unlock SITE {lock_id}")


class Backend(ABC):
    """Where one site's state and lock live."""

    def __init__(self, site_id: str) -> None:
        self.site_id = site_id

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def _read(self, name: str) -> bytes | None: ...

    @abstractmethod
    def _write(self, name: str, body: bytes) -> None: ...

    @abstractmethod
    def _create_exclusive(self, name: str, body: bytes) -> bool:
        """Writes `name` only if it does not exist; False if it did."""

    @abstractmethod
    def _remove(self, name: str) -> None: ...

    def load(self) -> State:
        body = self._read("state.json")
        if body is None:
            return State(self.site_id)
        try:
            return State.from_json(json.loads(body))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(f"the state at {self.describe()} cannot be read: {exc}") from exc

    def save(self, state: State) -> None:
        self._write("state.json", json.dumps(state.to_json(), indent=2).encode())

    def holder(self) -> LockInfo | None:
        body = self._read("lock.json")
        return LockInfo(**json.loads(body)) if body else None

    def lock(self, operation: str) -> LockInfo:
        info = LockInfo.new(operation)
        if not self._create_exclusive("lock.json", json.dumps(asdict(info)).encode()):
            raise _lock_held(self.site_id, self.holder())
        return info

    def unlock(self, lock_id: str) -> None:
        """Releases the lock if it is still the one given (never someone else's)."""
        holder = self.holder()
        if holder is not None and holder.id == lock_id:
            self._remove("lock.json")

    def force_unlock(self, lock_id: str) -> LockInfo:
        holder = self.holder()
        if holder is None:
            raise StateError(f"site {self.site_id} is not locked")
        if holder.id != lock_id:
            raise StateError(f"the lock on {self.site_id} has id {holder.id}, not {lock_id}",
                             hint=f"held by {holder.describe()}")
        self._remove("lock.json")
        return holder


class LocalBackend(Backend):
    """`<dir>/<site-id>/state.json` and `lock.json` (created with O_EXCL)."""

    def __init__(self, site_id: str, root: Path) -> None:
        super().__init__(site_id)
        self.dir = root / site_id

    def describe(self) -> str:
        return str(self.dir)

    def _read(self, name: str) -> bytes | None:
        try:
            return (self.dir / name).read_bytes()
        except FileNotFoundError:
            return None

    def _write(self, name: str, body: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        temp = self.dir / f".{name}.{os.getpid()}.{threading.get_ident()}"
        with open(temp, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.dir / name)

    def _create_exclusive(self, name: str, body: bytes) -> bool:
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        return True

    def _remove(self, name: str) -> None:
        (self.dir / name).unlink(missing_ok=True)


class S3Backend(Backend):
    """`s3://bucket/prefix/<site-id>/state.json`; the lock is a conditional write
    (`IfNoneMatch="*"`), which S3 refuses with 412 when the object exists."""

    def __init__(self, site_id: str, aws: AwsSession, url: str) -> None:
        super().__init__(site_id)
        if not url.startswith("s3://"):
            raise StateError(f"{url} is not an s3:// address")
        bucket, _, prefix = url[len("s3://"):].partition("/")
        self.bucket = bucket
        self.prefix = "/".join(p for p in (prefix.strip("/"), site_id) if p)
        self.s3 = aws.client("s3")

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self.s3, operation)(Bucket=self.bucket, **params)
        except ClientError as exc:
            raise StateError(f"state backend {self.describe()}: {operation} failed: "
                             f"{exc.response['Error'].get('Message', exc)}") from exc

    def _read(self, name: str) -> bytes | None:
        try:
            body: bytes = self.s3.get_object(Bucket=self.bucket,
                                             Key=self._key(name))["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise StateError(f"state backend {self.describe()}: get_object failed: "
                             f"{exc.response['Error'].get('Message', exc)}") from exc
        return body

    def _write(self, name: str, body: bytes) -> None:
        self._call("put_object", Key=self._key(name), Body=body,
                   ServerSideEncryption="AES256")

    def _create_exclusive(self, name: str, body: bytes) -> bool:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self._key(name), Body=body,
                               IfNoneMatch="*", ServerSideEncryption="AES256")
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed",
                                                 "ConditionalRequestConflict"):
                return False
            raise StateError(f"state backend {self.describe()}: put_object failed: "
                             f"{exc.response['Error'].get('Message', exc)}") from exc
        return True

    def _remove(self, name: str) -> None:
        self._call("delete_object", Key=self._key(name))


class StateStore:
    """The state of one run: every change is saved at once (serial + 1), from any thread."""

    def __init__(self, backend: Backend, state: State) -> None:
        self.backend = backend
        self.state = state
        self._lock = threading.Lock()

    def _save(self) -> None:
        self.state.lineage = self.state.lineage or str(uuid.uuid4())
        self.state.serial += 1
        self.backend.save(self.state)

    def journal(self, address: str, action: str, type_name: str, resource_id: str | None
                ) -> None:
        with self._lock:
            self.state.pending[address] = Intent(action, type_name, resource_id)
            self._save()

    def record(self, address: str, live: Live) -> None:
        with self._lock:
            self.state.resources[address] = ResourceState.of(live)
            self.state.pending.pop(address, None)
            self._save()

    def remove(self, address: str) -> None:
        with self._lock:
            self.state.resources.pop(address, None)
            self.state.pending.pop(address, None)
            self._save()

    def settle(self, address: str) -> None:
        """Drops an intent whose call had nothing to record (a retire)."""
        with self._lock:
            if self.state.pending.pop(address, None) is not None:
                self._save()

    def forget(self, resources: tuple[str, ...], pending: tuple[str, ...]) -> None:
        if not resources and not pending:
            return
        with self._lock:
            for address in resources:
                self.state.resources.pop(address, None)
            for address in pending:
                self.state.pending.pop(address, None)
            self._save()

    def finish(self, mode: str, steps: int) -> None:
        """Records that a run completed (after its last step was saved)."""
        with self._lock:
            self.state.last_apply = LastApply.now(mode, steps)
            self._save()

    def output(self, address: str, name: str) -> Any:
        with self._lock:
            recorded = self.state.resources.get(address)
            if recorded is None or name not in recorded.outputs:
                raise StateError(f"{address}.{name} is not in state",
                                 hint="the resource it belongs to was not applied")
            return recorded.outputs[name]
