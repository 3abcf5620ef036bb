"""Tenants, for platform operators (``/api/v1/admin/tenants``; platform admins only).

Mirrors ``loam.tenants`` of @loam/sdk. Results are the ``data`` of each answer, as dicts.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ._client import path
from .resources import _drop_none, _Resource

JSON = Dict[str, Any]


class Tenants(_Resource):
    """Create, list, change, suspend and erase tenants; read their usage."""

    def create(
        self, tenant_id: str, name: str, *, tier: Optional[str] = None, quotas: Optional[JSON] = None
    ) -> Any:
        body = _drop_none(id=tenant_id, name=name, tier=tier, quotas=quotas)
        return self._c.request("POST", "/api/v1/admin/tenants", json=body)

    def list(self, *, limit: Optional[int] = None) -> Any:
        return self._c._paginate("GET", "/api/v1/admin/tenants", lambda d: d, query=_drop_none(limit=limit))

    def get(self, tenant_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/admin/tenants/{}", tenant_id))

    def update(self, tenant_id: str, **changes: Any) -> Any:
        """Changes ``name``, ``tier``, ``quotas`` (merged; ``None`` lifts one) or ``status`` (``suspended`` / ``active``)."""
        return self._c.request("PATCH", path("/api/v1/admin/tenants/{}", tenant_id), json=changes)

    def erase(self, tenant_id: str) -> Any:
        """Starts the erasure job; ``jobs.get(result["job_id"])`` reports what it removed."""
        return self._c.request("DELETE", path("/api/v1/admin/tenants/{}", tenant_id))

    def usage(self, tenant_id: str, *, days: Optional[int] = None) -> Any:
        return self._c.request("GET", path("/api/v1/admin/tenants/{}/usage", tenant_id), query=_drop_none(days=days))


class Governance(_Resource):
    """Compliance reports and policy evaluation (``/api/v1/governance``, ``/api/v1/policies/evaluate``)."""

    def compliance_report(
        self, *, report_type: Optional[str] = None, dataset_id: Optional[str] = None,
        start_date: Optional[str] = None, end_date: Optional[str] = None,
    ) -> Any:
        q = _drop_none(report_type=report_type, dataset_id=dataset_id, start_date=start_date, end_date=end_date)
        return self._c.request("GET", "/api/v1/governance/compliance-report", query=q)

    def evaluate(self, resource: JSON, action: str, *, subject: Optional[JSON] = None, context: Optional[JSON] = None) -> Any:
        """The decision the access check would make: ``decision``, ``obligations``, ``policy_ids``, ``reasons``."""
        body = _drop_none(resource=resource, action=action, subject=subject, context=context)
        return self._c.request("POST", "/api/v1/policies/evaluate", json=body)

    def catalog(self, query: Optional[str] = None, *, limit: Optional[int] = None) -> Any:
        """Datasets you may read whose name, description, tags or field names contain ``query``, with their versions."""
        return self._c.request("GET", "/api/v1/catalog/datasets", query=_drop_none(query=query, limit=limit))

    def anonymization_requirements(self, dataset_id: str, *, record_schema: Optional[JSON] = None) -> Any:
        """``required_techniques`` and ``pii_fields`` of a dataset (or of records with ``record_schema``)."""
        body = _drop_none(dataset_id=dataset_id, record_schema=record_schema)
        return self._c.request("POST", "/api/v1/policies/anonymization-requirements", json=body)

    def record_event(
        self, event_type: str, *, subject: Optional[str] = None, value: Optional[float] = None,
        properties: Optional[JSON] = None, time: Optional[str] = None,
    ) -> Any:
        """Records a custom analytics event (a quality score, a lineage note, ...) in your tenant."""
        body = _drop_none(type=event_type, subject=subject, value=value, properties=properties, time=time)
        return self._c.request("POST", "/api/v1/analytics/events", json=body)

    def list_events(
        self, *, event_type: Optional[str] = None, subject: Optional[str] = None, since: Optional[str] = None,
        until: Optional[str] = None, limit: Optional[int] = None,
    ) -> Any:
        q = _drop_none(type=event_type, subject=subject, since=since, until=until, limit=limit)
        return self._c._paginate("GET", "/api/v1/analytics/events", lambda d: d, query=q)

    def metrics(self) -> Any:
        """The instance's operational metrics as JSON (platform admins)."""
        return self._c.request("GET", "/api/v1/admin/metrics")

