"""The LLM gateway (``/api/v1/llm``): any configured model through one API, with privacy on the way out,
retries, fallback and per-tenant quotas. Mirrors ``loam.llm`` of @loam/sdk.

On ``Client`` every method returns its result (``stream``: a generator of parts); on ``AsyncClient`` an
awaitable (``stream``: an async generator). OpenAI SDKs can use Loam too: their base URL ``<loam>/v1`` and a
Loam API key.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any, AsyncIterator, Dict, Iterator, Mapping, Optional, Sequence

from ._client import _Request
from ._errors import APIError
from ._models import Generation, GenerationPart, LlmModel, LlmSettings, LlmUsageReport
from ._streaming import ServerSentEvent, aiter_sse, iter_sse

JSON = Dict[str, Any]
#: Marks a setting left as it is (``None`` sets it back to the server default).
_UNCHANGED: Any = object()


def _body(
    model: Optional[str],
    prompt: Optional[str],
    messages: Optional[Sequence[Mapping[str, str]]],
    privacy: Optional[str],
    options: Mapping[str, Any],
) -> JSON:
    body: JSON = {k: v for k, v in options.items() if v is not None}
    if model is not None:
        body["model"] = model
    if prompt is not None:
        body["prompt"] = prompt
    if messages is not None:
        body["messages"] = [dict(m) for m in messages]
    if privacy is not None:
        body["privacy"] = {"mode": privacy}
    return body


def _part(ev: ServerSentEvent, headers: Mapping[str, str]) -> Optional[GenerationPart]:
    """The part an event carries; a failure after the stream began (part ``error``) is raised."""
    try:
        data = jsonlib.loads(ev.data)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("type") == "error":
        raise APIError.from_response(int(data.get("status") or 502), data, headers)
    return GenerationPart.from_dict(data)


class Llm:
    """``client.llm.generate(model="gpt-4o-mini", prompt="Say hi")``, ``stream``, ``models``, ``usage``, ``settings``."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def generate(
        self,
        prompt: Optional[str] = None,
        *,
        model: Optional[str] = None,
        messages: Optional[Sequence[Mapping[str, str]]] = None,
        privacy: Optional[str] = None,
        **options: Any,
    ) -> Any:
        """One whole answer (a ``Generation``). Give ``prompt`` or ``messages`` (``[{"role", "content"}]``);
        ``model`` (or ``provider/model``; default: the server's), ``privacy`` (``off``, ``detect``, ``redact``,
        ``pseudonymize``) and the other fields of the request as keywords: ``system``, ``temperature``,
        ``max_tokens``, ``top_p``, ``stop``, ``timeout_ms``, ``provider``."""
        body = _body(model, prompt, messages, privacy, options)
        return self._c.request("POST", "/api/v1/llm/generate", json=body, cast=Generation.from_dict)

    def stream(
        self,
        prompt: Optional[str] = None,
        *,
        model: Optional[str] = None,
        messages: Optional[Sequence[Mapping[str, str]]] = None,
        privacy: Optional[str] = None,
        **options: Any,
    ) -> Any:
        """A streamed answer, as ``GenerationPart`` s: ``start``, ``delta`` …, ``finish`` (with usage)::

            for part in client.llm.stream("Tell a story", model="llama3.1"):
                if part.type == "delta":
                    print(part.text, end="")

        Leaving the loop closes the connection (the upstream call is cancelled too). A failure after the
        stream began is raised as an ``APIError``. Same arguments as ``generate``."""
        body = dict(_body(model, prompt, messages, privacy, options), stream=True)
        req = _Request(self._c, "POST", "/api/v1/llm/generate", json=body, headers={"accept": "text/event-stream"})
        if self._c._is_async:
            return _stream_async(self._c, req)
        return _stream_sync(self._c, req)

    def models(self) -> Any:
        """Models clients may name (``LlmModel``: ``id``, ``provider``)."""
        return self._c.request("GET", "/api/v1/llm/models", cast=lambda d: [LlmModel.from_dict(m) for m in d or []])

    def usage(self, *, from_: Optional[str] = None, to: Optional[str] = None) -> Any:
        """Calls and tokens per UTC day and model, ``from_`` … ``to`` (``YYYY-MM-DD``; default the last 30 days)."""
        query = {k: v for k, v in (("from", from_), ("to", to)) if v is not None}
        return self._c.request("GET", "/api/v1/llm/usage", query=query, cast=LlmUsageReport.from_dict)

    def settings(self) -> Any:
        """The tenant's privacy mode (a floor for calls) and daily token quota (``LlmSettings``)."""
        return self._c.request("GET", "/api/v1/llm/settings", cast=LlmSettings.from_dict)

    def update_settings(self, *, privacy_mode: Any = _UNCHANGED, daily_token_quota: Any = _UNCHANGED) -> Any:
        """Sets what is given: ``privacy_mode`` (``off``, ``detect``, ``redact``, ``pseudonymize``), ``daily_token_quota``
        (tokens per UTC day, 0 = unlimited); ``None`` returns a setting to the server default. Needs ``llm:admin``."""
        body: JSON = {}
        if privacy_mode is not _UNCHANGED:
            body["privacy_mode"] = privacy_mode
        if daily_token_quota is not _UNCHANGED:
            body["daily_token_quota"] = daily_token_quota
        return self._c.request("PUT", "/api/v1/llm/settings", json=body, cast=LlmSettings.from_dict)


def _stream_sync(client: Any, req: _Request) -> Iterator[GenerationPart]:
    response = client._send(req, stream=True)
    try:
        for ev in iter_sse(response.iter_lines()):
            part = _part(ev, response.headers)
            if part is not None:
                yield part
    finally:
        response.close()


async def _stream_async(client: Any, req: _Request) -> AsyncIterator[GenerationPart]:
    response = await client._send(req, stream=True)
    try:
        async for ev in aiter_sse(response.aiter_lines()):
            part = _part(ev, response.headers)
            if part is not None:
                yield part
    finally:
        await response.aclose()

