"""The observatory (``/api/v1/logs``, ``/api/v1/executions``): ship, query and tail log records.

Mirrors ``loam.logs`` of @loam/sdk. On ``Client`` every method returns its result (``tail``: a
generator); on ``AsyncClient`` an awaitable (``tail``: an async generator).
"""

from __future__ import annotations

import json as jsonlib
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence

from ._client import _Request
from ._errors import APIConnectionError, APIError
from ._streaming import aiter_sse, iter_sse
from .resources import _drop_none

JSON = Dict[str, Any]


def context_headers(
    execution_id: Optional[str] = None, session_id: Optional[str] = None, workflow_id: Optional[str] = None, traceparent: Optional[str] = None
) -> Dict[str, str]:
    """The headers that carry an execution context."""
    h = {"x-loam-execution-id": execution_id, "x-loam-session-id": session_id, "x-loam-workflow-id": workflow_id, "traceparent": traceparent}
    return {k: v for k, v in h.items() if v}


def _filters(attributes: Optional[Mapping[str, str]], **q: Any) -> JSON:
    out = _drop_none(**q)
    for k, v in (attributes or {}).items():
        out[f"attr.{k}"] = v
    return out


class Logs:
    """Log records of executions: ``ship``, ``list`` (level = that level or worse), ``executions``, ``tail``."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def ship(
        self,
        records: Sequence[JSON],
        *,
        execution_id: Optional[str] = None,
        session_id: Optional[str] = None,
        workflow_id: Optional[str] = None,
        traceparent: Optional[str] = None,
    ) -> Any:
        """Ships a batch (at most 5,000 records, 1 MiB) ``[{"level", "message", "attributes"?, "time"?}]``."""
        headers = context_headers(execution_id, session_id, workflow_id, traceparent)
        return self._c.request("POST", "/api/v1/logs", json={"records": list(records)}, headers=headers)

    def list(
        self,
        *,
        execution_id: Optional[str] = None,
        session_id: Optional[str] = None,
        level: Optional[str] = None,
        q: Optional[str] = None,
        since: Optional[str] = None,
        until: Optional[str] = None,
        attributes: Optional[Mapping[str, str]] = None,
        order: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> Any:
        """Matching records, page by page as you iterate."""
        query = _filters(
            attributes, execution_id=execution_id, session_id=session_id, level=level, q=q, order=order, limit=limit, **{"from": since, "to": until}
        )
        return self._c._paginate("GET", "/api/v1/logs", lambda d: d, query=query)

    def executions(
        self, *, session_id: Optional[str] = None, workflow_id: Optional[str] = None, status: Optional[str] = None, limit: Optional[int] = None
    ) -> Any:
        """Executions, most recently active first: first and last time, counts per level, status."""
        query = _drop_none(session_id=session_id, workflow_id=workflow_id, status=status, limit=limit)
        return self._c._paginate("GET", "/api/v1/executions", lambda d: d, query=query)

    def tail(
        self,
        *,
        execution_id: Optional[str] = None,
        session_id: Optional[str] = None,
        level: Optional[str] = None,
        q: Optional[str] = None,
        attributes: Optional[Mapping[str, str]] = None,
    ) -> Any:
        """Records stored from now on that match, as they arrive (Server-Sent Events), until you stop iterating."""
        query = _filters(attributes, execution_id=execution_id, session_id=session_id, level=level, q=q)
        request = _Request(self._c, "GET", "/api/v1/logs/stream", query=query, headers={"accept": "text/event-stream"}, max_retries=0)
        if self._c._is_async:
            return _tail_async(self._c, request)
        return _tail_sync(self._c, request)

    def settings(self) -> Any:
        """The tenant's retention (days) and ingest quota (records per minute)."""
        return self._c.request("GET", "/api/v1/logs/settings")

    def put_settings(self, *, retention_days: Optional[int] = None, quota_records_per_minute: Optional[int] = None) -> Any:
        body = _drop_none(retention_days=retention_days, quota_records_per_minute=quota_records_per_minute)
        return self._c.request("PUT", "/api/v1/logs/settings", json=body)


def _record(event: Any, headers: Mapping[str, str]) -> Optional[JSON]:
    if event.event == "log":
        return jsonlib.loads(event.data)
    if event.event == "error":
        body = jsonlib.loads(event.data or "{}")
        raise APIError.from_response(int(body.get("status", 500)), body, headers)
    return None


def _tail_sync(client: Any, request: _Request) -> Iterator[JSON]:
    response = client._send(request, stream=True)
    try:
        for ev in iter_sse(response.iter_lines()):
            record = _record(ev, response.headers)
            if record is not None:
                yield record
    finally:
        response.close()
    raise APIConnectionError("The stream ended")


async def _tail_async(client: Any, request: _Request) -> Any:
    response = await client._send(request, stream=True)
    try:
        async for ev in aiter_sse(response.aiter_lines()):
            record = _record(ev, response.headers)
            if record is not None:
                yield record
    finally:
        await response.aclose()
    raise APIConnectionError("The stream ended")
