"""``Client`` and ``AsyncClient``."""

from __future__ import annotations

from typing import Any

from ._client import AsyncAPIClient, SyncAPIClient
from .admin import Admin
from .resources import Anonymization, ApiKeys, AuditLogs, Content, Datasets, Jobs, Policies, Records, Versions
from .knowledge import Collections, Documents, Knowledge
from .llm import Llm
from .logs import Logs
from .sessions import Sessions
from .events import Events, Webhooks
from .tenants import Governance, Tenants


class _Resources:
    def _init_resources(self) -> None:
        self.datasets = Datasets(self)
        self.versions = Versions(self)
        self.records = Records(self)
        self.jobs = Jobs(self)
        self.anonymization = Anonymization(self)
        self.api_keys = ApiKeys(self)
        self.policies = Policies(self)
        self.audit_logs = AuditLogs(self)
        self.content = Content(self)
        self.sessions = Sessions(self)
        self.llm = Llm(self)
        self.admin = Admin(self)
        self.logs = Logs(self)
        self.events = Events(self)
        self.webhooks = Webhooks(self)
        self.tenants = Tenants(self)
        self.governance = Governance(self)
        self.collections = Collections(self)
        self.documents = Documents(self)
        self.knowledge = Knowledge(self)

    def whoami(self) -> Any:
        """The caller as Loam sees it (tenant, subject, scopes, roles)."""
        return self.request("GET", "/api/v1/whoami")  # type: ignore[attr-defined]


class Client(SyncAPIClient, _Resources):
    """The Loam client. ``Client(api_key=..., base_url=...)``; both default to ``LOAM_API_KEY`` and
    ``LOAM_API_BASE_URL`` (else ``http://127.0.0.1:8080``). Use as a context manager or call ``close()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_resources()


class AsyncClient(AsyncAPIClient, _Resources):
    """The asyncio Loam client: the same resources, every call awaitable, lists iterated with ``async for``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_resources()
