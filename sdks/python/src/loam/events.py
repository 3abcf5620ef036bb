"""The event log (``/api/v1/events``) and webhook endpoints (``/api/v1/webhooks``).

Mirrors ``loam.events`` and ``loam.webhooks`` of @loam/sdk; ``verify_webhook`` checks a delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json as jsonlib
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

from ._client import _Request, path
from ._errors import APIConnectionError, APIError
from ._streaming import iter_sse
from .resources import _Resource, _drop_none

JSON = Dict[str, Any]


def _types(t: Union[str, List[str], None]) -> Optional[str]:
    return ",".join(t) if isinstance(t, list) else t


class Events(_Resource):
    """The tenant's events: the catalogue, lists that page by themselves, a stream that resumes."""

    def types(self) -> Any:
        """Every event type with its data schema, version and retention."""
        return self._c.request("GET", "/api/v1/events/types")

    def list(self, *, type: Union[str, List[str], None] = None, subject: Optional[str] = None, since: Optional[str] = None, until: Optional[str] = None, limit: Optional[int] = None) -> Any:
        """Events in log order, page by page as you iterate (``type`` patterns take ``*``)."""
        q = _drop_none(type=_types(type), subject=subject, since=since, until=until, limit=limit)
        return self._c._paginate("GET", "/api/v1/events", lambda d: d, query=q)

    def get(self, event_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/events/{}", event_id))

    def stream(self, *, type: Union[str, List[str], None] = None, subject: Optional[str] = None, since: Optional[str] = None, after: Optional[str] = None) -> Iterator[JSON]:
        """Live events (``Client`` only): each CloudEvent once, in order, until you stop iterating. A dropped
        connection is resumed with Last-Event-ID after the last one yielded."""
        last = after
        attempt = 0
        query = _drop_none(type=_types(type), subject=subject, since=since)
        while True:
            headers = {"accept": "text/event-stream", **({"last-event-id": last} if last is not None else {})}
            try:
                response = self._c._send(_Request(self._c, "GET", "/api/v1/events/stream", query=query, headers=headers, max_retries=0), stream=True)
                try:
                    attempt = 0
                    for ev in iter_sse(response.iter_lines()):
                        if ev.event == "ready":
                            last = last if last is not None else ev.id
                        elif ev.event == "error":
                            body = jsonlib.loads(ev.data or "{}")
                            raise APIError.from_response(int(body.get("status") or 500), body, response.headers)
                        elif ev.data:
                            last = ev.id or last
                            yield jsonlib.loads(ev.data)
                finally:
                    response.close()
                raise APIConnectionError("The stream ended")
            except APIError as err:
                if err.status < 500 and err.status != 429:
                    raise
                attempt += 1
                self._c._sleep(min(0.5 * 2 ** min(attempt, 6), 10.0))
            except APIConnectionError:
                attempt += 1
                self._c._sleep(min(0.5 * 2 ** min(attempt, 6), 10.0))


class Webhooks(_Resource):
    """Webhook endpoints and their deliveries. The secret (``whsec_…``) is shown once, by ``create`` and ``rotate_secret``."""

    def create(self, url: str, *, events: Optional[List[str]] = None, **options: Any) -> Any:
        return self._c.request("POST", "/api/v1/webhooks", json=_drop_none(url=url, events=events, **options))

    def list(self, *, limit: Optional[int] = None) -> Any:
        return self._c._paginate("GET", "/api/v1/webhooks", lambda d: d, query=_drop_none(limit=limit))

    def get(self, webhook_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/webhooks/{}", webhook_id))

    def update(self, webhook_id: str, **changes: Any) -> Any:
        return self._c.request("PATCH", path("/api/v1/webhooks/{}", webhook_id), json=changes)

    def delete(self, webhook_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/webhooks/{}", webhook_id))

    def rotate_secret(self, webhook_id: str, *, secret: Optional[str] = None, grace_period_seconds: Optional[int] = None) -> Any:
        body = _drop_none(secret=secret, grace_period_seconds=grace_period_seconds)
        return self._c.request("POST", path("/api/v1/webhooks/{}/rotate-secret", webhook_id), json=body)

    def deliveries(self, webhook_id: str, *, status: Optional[str] = None, limit: Optional[int] = None) -> Any:
        q = _drop_none(status=status, limit=limit)
        return self._c._paginate("GET", path("/api/v1/webhooks/{}/deliveries", webhook_id), lambda d: d, query=q)

    def retry_delivery(self, webhook_id: str, delivery_id: str) -> Any:
        return self._c.request("POST", path("/api/v1/webhooks/{}/deliveries/{}/retry", webhook_id, delivery_id), json={})

    def replay(self, webhook_id: str, since: str, *, until: Optional[str] = None) -> Any:
        return self._c.request("POST", path("/api/v1/webhooks/{}/replay", webhook_id), json=_drop_none(since=since, until=until))

    def test(self, webhook_id: str) -> Any:
        return self._c.request("POST", path("/api/v1/webhooks/{}/test", webhook_id), json={})


class WebhookVerificationError(Exception):
    """The delivery's signature or timestamp does not verify."""


def verify_webhook(body: Union[str, bytes], headers: Mapping[str, str], secret: str, *, tolerance_seconds: int = 300) -> Any:
    """Checks a delivery's Standard Webhooks signature and returns its parsed body."""
    h = {k.lower(): v for k, v in headers.items()}
    text = body.decode() if isinstance(body, bytes) else body
    msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs(time.time() - int(ts)) > tolerance_seconds:
        raise WebhookVerificationError("timestamp outside the tolerance")
    key = base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret)
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.{text}".encode(), hashlib.sha256).digest()).decode()
    if not any(s.startswith("v1,") and hmac.compare_digest(s[3:], expected) for s in sigs.split(" ")):
        raise WebhookVerificationError("no signature matches")
    return jsonlib.loads(text)
