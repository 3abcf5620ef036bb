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
