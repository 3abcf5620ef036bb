"""The message bus (``/api/v1/sessions``, ``/api/v1/bus``): send, history, subscriptions that resume by themselves.

Mirrors ``loam.sessions`` of @loam/sdk. On ``Client`` every method returns its result (``history`` and
``subscribe``: generators); on ``AsyncClient`` an awaitable (``history`` and ``subscribe``: async generators).
"""

from __future__ import annotations

import json as jsonlib
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import httpx

from ._client import _Request, backoff_delay, path
from ._errors import APIConnectionError, APIError
from ._models import BusMessage, ChannelSchema, Retention, Session, SessionToken
from ._streaming import ServerSentEvent, aiter_sse, iter_sse
from .resources import _drop_none

JSON = Dict[str, Any]
#: ``on_started(head, after, reconnected)``: the subscription is live; nothing sent from now on can be missed.
OnStarted = Callable[[int, int, bool], None]
#: ``on_reconnect(error, attempt)``: a connection failed and will be retried.
OnReconnect = Callable[[Exception, int], None]
#: The longest pause between two reconnection attempts, in seconds.
MAX_RECONNECT_DELAY = 10.0


def _messages(d: Any) -> List[BusMessage]:
    return [BusMessage.from_dict(m) for m in d or []]


class _Subscription:
    """The state of one subscription across its connections: the last delivered position, the attempts."""

    def __init__(self, client: Any, session_id: str, after: int, on_started: Optional[OnStarted], on_reconnect: Optional[OnReconnect]) -> None:
        self.client = client
        self.url = path("/api/v1/sessions/{}/stream", session_id)
        self.last = after
        self.attempt = 0
        self.reconnected = False
        self.on_started = on_started
        self.on_reconnect = on_reconnect

    def request(self) -> _Request:
        # No retries inside one connection attempt: failures come back here and resume from `last`.
        return _Request(self.client, "GET", self.url, query={"after": self.last}, headers={"accept": "text/event-stream"}, max_retries=0)

    def event(self, ev: ServerSentEvent, headers: Mapping[str, str]) -> Optional[BusMessage]:
        """The message to deliver for this event, if any (older positions are skipped: no duplicates)."""
        if ev.event == "ready":
            self.attempt = 0
            ready = jsonlib.loads(ev.data or "{}")
            if self.on_started:
                self.on_started(int(ready.get("head", 0)), int(ready.get("after", self.last)), self.reconnected)
        elif ev.event == "message":
            message = BusMessage.from_dict(jsonlib.loads(ev.data))
            if message.position > self.last:
                return message
        elif ev.event == "error":
            body = jsonlib.loads(ev.data or "{}")
            raise APIError.from_response(int(body.get("status") or 500), body, headers)
        return None

    def delivered(self, message: BusMessage) -> None:
        self.last = message.position

    def failed(self, err: Exception) -> float:
        """Seconds to wait before reconnecting; raises errors a retry cannot fix (401, 403, 404, 410 …)."""
        if isinstance(err, APIError) and err.status < 500 and err.status != 429:
            raise err
        self.attempt += 1
        self.reconnected = True
        if self.on_reconnect:
            self.on_reconnect(err, self.attempt)
        return min(backoff_delay(min(self.attempt, 6)), MAX_RECONNECT_DELAY)


_RETRYABLE = (APIError, APIConnectionError, httpx.TransportError, httpx.StreamError)


class Sessions:
    """Sessions of the message bus: ``client.sessions.send("chat:1", {"data": {...}})``, ``subscribe``, …"""

    def __init__(self, client: Any) -> None:
        self._c = client

    def send(self, session_id: str, messages: Union[JSON, Sequence[JSON]], *, idempotency_key: Optional[str] = None) -> Any:
        """Sends one message ``{"type"?, "data"}`` or a list of them (stored at consecutive positions); returns
        them as stored (a list of ``BusMessage``)."""
        body = dict(messages) if isinstance(messages, Mapping) else [dict(m) for m in messages]
        return self._c.request(
            "POST",
            path("/api/v1/sessions/{}/messages", session_id),
            json=body,
            idempotency_key=idempotency_key,
            cast=lambda d: _messages((d or {}).get("messages")),
        )

    def messages(self, session_id: str, *, after: int = 0, limit: Optional[int] = None) -> Any:
        """One page of history after position ``after``, oldest first (raises a 410 ``APIError`` when ``after`` was purged)."""
        q = _drop_none(after=after, limit=limit)
        return self._c.request("GET", path("/api/v1/sessions/{}/messages", session_id), query=q, cast=_messages)

    def history(self, session_id: str, *, after: int = 0, page_size: int = 500) -> Any:
        """Every message after ``after``, page by page: ``for m in client.sessions.history("chat:1")``."""
        if self._c._is_async:

            async def agen() -> Any:
                position = after
                while True:
                    page = await self.messages(session_id, after=position, limit=page_size)
                    for m in page:
                        yield m
                    if len(page) < page_size:
                        return
                    position = page[-1].position

            return agen()

        def gen() -> Iterator[BusMessage]:
            position = after
            while True:
                page = self.messages(session_id, after=position, limit=page_size)
                yield from page
                if len(page) < page_size:
                    return
                position = page[-1].position

        return gen()

    def list(self, *, prefix: Optional[str] = None, limit: Optional[int] = None) -> Any:
        """Every session (``prefix`` filters by name), page by page as you iterate."""
        return self._c._paginate("GET", "/api/v1/sessions", Session.from_dict, query=_drop_none(prefix=prefix, limit=limit))

    def get(self, session_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/sessions/{}", session_id), cast=Session.from_dict)

    def delete(self, session_id: str) -> Any:
        """Deletes the session and its messages."""
        return self._c.request("DELETE", path("/api/v1/sessions/{}", session_id))

    def token(self, session_id: str) -> Any:
        """A short-lived token for a browser's EventSource or WebSocket (``?token=``)."""
        return self._c.request("POST", path("/api/v1/sessions/{}/tokens", session_id), json={}, cast=SessionToken.from_dict)

    def subscribe(
        self,
        session_id: str,
        *,
        after: int = 0,
        on_started: Optional[OnStarted] = None,
        on_reconnect: Optional[OnReconnect] = None,
    ) -> Any:
        """Every message after ``after``, then live ones, each once and in position order, until you stop
        iterating (``break``). A dropped connection is resumed after the last delivered position; errors a
        retry cannot fix (401, 403, 404, 410) are raised. Server-Sent Events on ``GET …/stream``, which
        also serves what the WebSocket route offers to receivers (Python's httpx has no WebSocket)."""
        sub = _Subscription(self._c, session_id, after, on_started, on_reconnect)
        if self._c._is_async:
            return _subscribe_async(self._c, sub)
        return _subscribe_sync(self._c, sub)

    # ---- channel schemas and retention -------------------------------------------------------

    def schemas(self) -> Any:
        return self._c.request("GET", "/api/v1/bus/schemas", cast=lambda d: [ChannelSchema.from_dict(s) for s in d or []])

    def put_schema(self, prefix: str, schema: JSON) -> Any:
        """Messages of sessions named ``prefix…`` must match this JSON Schema (else 400)."""
        return self._c.request("PUT", path("/api/v1/bus/schemas/{}", prefix), json={"schema": schema}, cast=ChannelSchema.from_dict)

    def delete_schema(self, prefix: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/bus/schemas/{}", prefix))

    def retention(self) -> Any:
        return self._c.request("GET", "/api/v1/bus/retention", cast=lambda d: [Retention.from_dict(r) for r in d or []])

    def put_retention(self, prefix: str, *, max_age_sec: Optional[int] = None, max_messages: Optional[int] = None) -> Any:
        """Keeps messages of sessions named ``prefix…`` (``*``: the tenant default) at most this long / this many."""
        body = {"max_age_sec": max_age_sec, "max_messages": max_messages}
        return self._c.request("PUT", path("/api/v1/bus/retention/{}", prefix), json=body, cast=Retention.from_dict)

    def delete_retention(self, prefix: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/bus/retention/{}", prefix))


def _subscribe_sync(client: Any, sub: _Subscription) -> Iterator[BusMessage]:
    while True:
        try:
            response = client._send(sub.request(), stream=True)
            try:
                for ev in iter_sse(response.iter_lines()):
                    message = sub.event(ev, response.headers)
                    if message is not None:
                        yield message
                        sub.delivered(message)
            finally:
                response.close()
            raise APIConnectionError("The stream ended")
        except _RETRYABLE as err:
            client._sleep(sub.failed(err))


async def _subscribe_async(client: Any, sub: _Subscription) -> Any:
    while True:
        try:
            response = await client._send(sub.request(), stream=True)
            try:
                async for ev in aiter_sse(response.aiter_lines()):
                    message = sub.event(ev, response.headers)
                    if message is not None:
                        yield message
                        sub.delivered(message)
            finally:
                await response.aclose()
            raise APIConnectionError("The stream ended")
        except _RETRYABLE as err:
            await client._sleep(sub.failed(err))
