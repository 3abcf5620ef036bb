"""Typed results. Each model is a dataclass built from the server's JSON; ``raw`` keeps the JSON as sent
(new server fields appear there before the SDK knows them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Type, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from .resources import BoundRecords, BoundVersions

M = TypeVar("M", bound="Model")
JSON = Dict[str, Any]


@dataclass
class Model:
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls: Type[M], data: Any) -> M:
        data = data if isinstance(data, dict) else {}
        names = {f.name for f in dataclasses.fields(cls) if f.init and f.name != "raw"}
        return cls(raw=data, **{k: v for k, v in data.items() if k in names})  # type: ignore[call-arg]

    def __getitem__(self, key: str) -> Any:
        """``model["field"]`` reads the raw JSON, so fields the SDK does not know yet are reachable."""
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@dataclass
class Dataset(Model):
    id: str = ""
    name: str = ""
    description: Optional[str] = None
    schema: JSON = field(default_factory=dict)
    metadata: JSON = field(default_factory=dict)
    tags: List[str] = field(default_factory=list)
    classification: str = "internal"
    status: str = "active"
    owner: Optional[str] = None
    record_count: int = 0
    draft_number: int = 0
    latest_version_id: Optional[str] = None
    derived_from: Optional[JSON] = None
    insert_policy: Optional[JSON] = None
    encrypted_fields: List[str] = field(default_factory=list)
    resource_version: int = 0
    created_at: str = ""
    updated_at: str = ""
    archived_at: Optional[str] = None
    _client: Any = field(default=None, repr=False, compare=False)

    @property
    def records(self) -> "BoundRecords":
        """This dataset's records: ``dataset.records.insert_many([...])``, ``dataset.records.query(filter=...)``."""
        from .resources import BoundRecords

        return BoundRecords(self._client, self.id)

    @property
    def versions(self) -> "BoundVersions":
        """This dataset's versions: ``dataset.versions.create(name="v1")``."""
        from .resources import BoundVersions

        return BoundVersions(self._client, self.id)


@dataclass
class DatasetVersion(Model):
    id: str = ""
    dataset_id: str = ""
    number: int = 0
    name: Optional[str] = None
    description: Optional[str] = None
    tags: List[str] = field(default_factory=list)
    status: str = ""
    record_count: int = 0
    checksum: str = ""
    schema: JSON = field(default_factory=dict)
    resource_version: int = 0
    created_at: str = ""
    updated_at: str = ""
    deprecated_at: Optional[str] = None


@dataclass
class Record(Model):
    id: str = ""
    data: JSON = field(default_factory=dict)
    revision: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass
class InsertResult(Model):
    inserted: int = 0
    ids: List[str] = field(default_factory=list)


@dataclass
class Job(Model):
    id: str = ""
    kind: str = ""
    status: str = ""
    attempts: int = 0
    max_attempts: int = 0
    run_at: str = ""
    result: Any = None
    last_error: Optional[str] = None
    created_at: str = ""
    updated_at: str = ""
    finished_at: Optional[str] = None


@dataclass
class DatasetExport(Model):
    id: str = ""
    dataset_id: str = ""
    version_id: Optional[str] = None
    format: str = ""
    status: str = ""
    record_count: int = 0
    bytes: int = 0
    job_id: str = ""
    download_url: Optional[str] = None
    error: Optional[str] = None
    created_at: str = ""
    finished_at: Optional[str] = None


@dataclass
class DatasetImport(Model):
    id: str = ""
    dataset_id: str = ""
    format: str = ""
    status: str = ""
    total: int = 0
    processed: int = 0
    failed: int = 0
    job_id: str = ""
    error: Optional[str] = None
    created_at: str = ""
    finished_at: Optional[str] = None


@dataclass
class ExportJob(Model):
    """What ``records.export`` answers: the job and the export it writes."""

    job: Job = field(default_factory=Job)
    export_id: str = ""


@dataclass
class ImportJob(Model):
    """What ``records.import_`` answers without ``wait``: the job and the import it runs."""

    job: Job = field(default_factory=Job)
    import_id: str = ""


@dataclass
class DatasetIndex(Model):
    id: str = ""
    field: str = ""
    created_at: str = ""


@dataclass
class ApiKey(Model):
    id: str = ""
    name: str = ""
    prefix: str = ""
    scopes: List[str] = field(default_factory=list)
    roles: List[str] = field(default_factory=list)
    tenant_id: str = ""
    created_by: Optional[str] = None
    created_at: str = ""
    expires_at: Optional[str] = None
    last_used_at: Optional[str] = None
    revoked_at: Optional[str] = None
    #: The secret, present only in the answers of ``create`` and ``rotate``.
    key: Optional[str] = None


@dataclass
class Policy(Model):
    id: str = ""
    name: str = ""
    description: str = ""
    effect: str = ""
    policy: str = ""
    version: int = 0
    tenant_id: str = ""
    created_by: Optional[str] = None
    created_at: str = ""
    updated_at: str = ""


@dataclass
class AuditEntry(Model):
    id: str = ""
    seq: int = 0
    event_id: str = ""
    time: str = ""
    action: str = ""
    actor: Optional[str] = None
    actor_kind: Optional[str] = None
    resource_type: Optional[str] = None
    resource_id: Optional[str] = None
    ip: Optional[str] = None
    decision: str = ""
    policy_ids: List[str] = field(default_factory=list)
    reason: Optional[str] = None
    details: JSON = field(default_factory=dict)
    tenant_id: str = ""
    prev_hash: str = ""
    hash: str = ""


@dataclass
class Recognizer(Model):
    id: str = ""
    name: str = ""
    entity_type: str = ""
    patterns: List[JSON] = field(default_factory=list)
    context: List[str] = field(default_factory=list)
    enabled: bool = True
    created_at: str = ""
    updated_at: str = ""


@dataclass
class BusMessage(Model):
    """A message of a session: ``position`` orders it within the session (1, 2, 3, …)."""

    id: str = ""
    position: int = 0
    type: Optional[str] = None
    data: Any = None
    time: str = ""


@dataclass
class Session(Model):
    """A session of the message bus: ``head`` is its newest position, ``purged_through`` the last purged one."""

    id: str = ""
    head: int = 0
    purged_through: int = 0
    created_at: str = ""
    last_activity_at: str = ""


@dataclass
class ChannelSchema(Model):
    prefix: str = ""
    schema: JSON = field(default_factory=dict)
    created_at: str = ""


@dataclass
class Retention(Model):
    """A retention rule; prefix ``""`` (``*`` in the path) is the tenant default."""

    prefix: str = ""
    max_age_sec: Optional[int] = None
    max_messages: Optional[int] = None


@dataclass
class SessionToken(Model):
    token: str = ""
    expires_in: int = 0


@dataclass
class Generation(Model):
    """One whole answer of ``client.llm.generate``: ``usage`` holds ``prompt_tokens``, ``completion_tokens``,
    ``total_tokens``; ``privacy`` the mode applied and the entities found per type; ``attempts`` the upstream
    requests made (retries and fallbacks included)."""

    text: str = ""
    finish_reason: str = ""
    usage: JSON = field(default_factory=dict)
    provider: str = ""
    model: str = ""
    latency_ms: int = 0
    attempts: int = 0
    privacy: JSON = field(default_factory=dict)


@dataclass
class GenerationPart(Model):
    """A part of ``client.llm.stream``: ``type`` ``"start"`` (``provider``, ``model``), ``"delta"`` (``text``) or
    ``"finish"`` (the fields of a ``Generation`` but ``text``)."""

    type: str = ""
    text: str = ""
    provider: str = ""
    model: str = ""
    finish_reason: Optional[str] = None
    usage: Optional[JSON] = None
    latency_ms: Optional[int] = None
    attempts: Optional[int] = None
    privacy: Optional[JSON] = None


@dataclass
class LlmModel(Model):
    """A model clients may name, and the provider tried first."""

    id: str = ""
    provider: str = ""


@dataclass
class LlmUsageReport(Model):
    """Calls and tokens per UTC day and model (``days``: dicts with ``day``, ``model``, ``calls``, ``*_tokens``)."""

    from_: str = ""
    to: str = ""
    days: List[JSON] = field(default_factory=list)
    totals: JSON = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> "LlmUsageReport":
        report = super().from_dict(data)
        report.from_ = str(report.raw.get("from", ""))
        return report


@dataclass
class LlmSettings(Model):
    """The tenant's LLM settings: ``privacy_mode`` / ``daily_token_quota`` as set (None: the server default),
    ``effective`` as applied (quota 0 = unlimited), and the tokens used today (UTC)."""

    privacy_mode: Optional[str] = None
    daily_token_quota: Optional[int] = None
    effective: JSON = field(default_factory=dict)
    tokens_today: int = 0


@dataclass
class User(Model):
    id: str = ""
    tenant_id: str = ""
    email: str = ""
    status: str = ""
    roles: List[str] = field(default_factory=list)
    attributes: Dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    confirmed_at: Optional[str] = None


@dataclass
class SigningKey(Model):
    kid: str = ""
    alg: str = ""
    created_at: str = ""
    retired_at: Optional[str] = None


@dataclass
class MailboxMessage(Model):
    id: str = ""
    tenant_id: str = ""
    to: str = ""
    subject: str = ""
    text: str = ""
    created_at: str = ""
