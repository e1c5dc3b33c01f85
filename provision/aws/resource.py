"""The small interface every AWS resource type implements, and the registry of them.

As in cloud-custodian, one module per resource type under `provision/aws/resources/`, each
registering one `ResourceType`. The engine knows nothing about any particular service: the
desired set is the union of every type's `wanted(site)`, and it reads, diffs, creates,
updates, retires and deletes through this interface; `provision iam-policy` is built from the
`permissions` each type declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from provision.aws.session import AwsSession
from provision.site.model import Site

Attrs = dict[str, Any]

TAG_SITE = "provision:site"
TAG_MANAGED_BY = "provision:managed-by"
TAG_EXPIRES = "provision:expires"
# Carried instead of TAG_SITE by what teardown leaves in a recovery window (secrets), so a
# tag sweep of a torn-down site finds nothing while the site can still restore its own.
TAG_DELETED_FROM = "provision:deleted-from"
MANAGED_BY = "provision"


@dataclass(frozen=True)
class Ref:
    """A value known only once another resource exists (a zone id, a pool id, an ARN).

    In a plan it is written as {"$ref": "<address>.<output>"}; apply resolves it from state.
    """

    address: str
    output: str

    def to_json(self) -> dict[str, str]:
        return {"$ref": f"{self.address}.{self.output}"}


@dataclass(frozen=True)
class Desired:
    """One resource the site needs. `address` is unique within the site and stable across
    runs (e.g. "route53.zone", "cognito.user[a.clinician@example.nhs.uk]")."""

    address: str
    type: str
    attrs: Attrs  # JSON-ready values and Refs; secret *values* never appear here
    depends_on: tuple[str, ...] = ()  # addresses; Refs add theirs implicitly


@dataclass
class Live:
    """A resource as read from AWS."""

    address: str
    type: str
    id: str  # the physical id: zone id, ARN, pool id, bucket name...
    attrs: Attrs  # same keys as Desired.attrs, where AWS lets them be read back
    tags: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)  # what other resources may Ref


# How long teardown's archive is kept when the site file gives no retain_data_days (offices).
DEFAULT_RETAIN_DATA_DAYS = 90


@dataclass(frozen=True)
class Context:
    """What a resource type needs besides its own attributes."""

    aws: AwsSession
    site_id: str
    tags: Mapping[str, str]  # the ownership tags every taggable resource carries
    # Days the archive of the site's data and logs is kept (teardown's `retire` uses it).
    retain_data_days: int = DEFAULT_RETAIN_DATA_DAYS
    # Addresses whose create was journalled by an earlier run that never recorded the result:
    # `create` may adopt an *untagged* resource of exactly its deterministic name only for
    # these (the run was killed between the create call and the tagging call).
    resuming: frozenset[str] = frozenset()

    @classmethod
    def for_site(cls, aws: AwsSession, site: Site,
                 resuming: frozenset[str] = frozenset()) -> Context:
        """The one place the ownership tags are derived from a site."""
        tags = {TAG_SITE: site.site.id, TAG_MANAGED_BY: MANAGED_BY}
        if site.is_temporary and site.site.lifetime.closes is not None:
            tags[TAG_EXPIRES] = site.site.lifetime.closes.isoformat()
        retain = site.site.lifetime.retain_data_days or DEFAULT_RETAIN_DATA_DAYS
        return cls(aws, site.site.id, tags, retain, resuming)


class ResourceType(ABC):
    type: ClassVar[str]  # registry key, "<service>.<kind>"
    permissions: ClassVar[tuple[str, ...]]  # IAM actions used by every method below
    replace_on: ClassVar[frozenset[str]] = frozenset()  # attrs AWS cannot change in place
    write_only: ClassVar[frozenset[str]] = frozenset()  # attrs AWS never returns (not diffed)

    @abstractmethod
    def wanted(self, site: Site) -> list[Desired]:
        """The resources of this type the site needs (pure: no AWS calls)."""

    @abstractmethod
    def read(self, ctx: Context, address: str, resource_id: str) -> Live | None:
        """The live resource with this id, or None if it is gone."""

    @abstractmethod
    def discover(self, ctx: Context) -> list[Live]:
        """Every live resource of this type carrying the site's tags (or, for resources AWS
        cannot tag, whose tagged parent belongs to the site): found by tags, not by state,
        so a crashed run's leftovers are seen too."""

    @abstractmethod
    def create(self, ctx: Context, address: str, attrs: Attrs) -> Live:
        """Creates it with Refs already resolved. Must be safe to call again after a crash
        between the AWS call and the state write: adopt an owned resource that already
        exists with the same identity rather than make a second one."""

    @abstractmethod
    def update(self, ctx: Context, live: Live, attrs: Attrs, changed: frozenset[str]) -> Live:
        """Changes the attributes in `changed` in place. Never called for `replace_on`."""

    @abstractmethod
    def delete(self, ctx: Context, live: Live) -> None:
        """Removes it. Only called for resources the site owns. Gone already is success."""

    def retire(self, ctx: Context, live: Live) -> bool:
        """Teardown's first phase: make the resource inert and its data safe before anything
        is deleted (disable users, archive data). Returns False where there is nothing to do."""
        return False

    def owned(self, ctx: Context, live: Live) -> bool:
        """Whether the site owns this live resource; the engine checks it before every update,
        retire and delete. A type AWS cannot tag either fills `Live.tags` with its owning
        parent's tags in `read`/`discover` (Route 53 records do) or overrides this."""
        return live.tags.get(TAG_SITE) == ctx.site_id

    def diff(self, desired: Attrs, live: Attrs) -> dict[str, tuple[Any, Any]]:
        """{attr: (before, after)} for every attribute that differs."""
        return {key: (live.get(key), value) for key, value in desired.items()
                if key not in self.write_only and live.get(key) != value}


REGISTRY: dict[str, ResourceType] = {}


def register(cls: type[ResourceType]) -> type[ResourceType]:
    if cls.type in REGISTRY:
        raise ValueError(f"resource type {cls.type} registered twice")
    REGISTRY[cls.type] = cls()
    return cls
