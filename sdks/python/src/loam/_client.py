"""The transport: configuration, authentication, retries with backoff, errors, pagination."""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import os
import random
import time
import uuid
from typing import Any, AsyncIterator, Callable, Dict, Iterator, Mapping, Optional, TypeVar, Union
from urllib.parse import quote

import httpx

from ._errors import APIConnectionError, APIError, APITimeoutError, parse_retry_after
from ._pagination import AsyncPager, Page, SyncPager, page_from_envelope

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
#: A server asking for a longer pause than this gets an error, not a silently hanging call.
MAX_RETRY_AFTER = 60.0
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}

log = logging.getLogger("loam")
Query = Mapping[str, Any]


def _env(name: str) -> Optional[str]:
    value = os.environ.get(name, "").strip()
    return value or None


def backoff_delay(retry: int) -> float:
    """0.5 s, 1 s, 2 s, … capped at 8 s, minus up to 25 % jitter."""
    base = min(INITIAL_BACKOFF * 2**retry, MAX_BACKOFF)
    return base * (1 - 0.25 * random.random())


def path(template: str, *values: Union[str, int]) -> str:
    """``path("/api/v1/datasets/{}", id)`` with every value percent-encoded."""
    return template.format(*(quote(str(v), safe="") for v in values))


def _retryable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _retry_after(headers: Mapping[str, str]) -> Optional[float]:
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def _decode(response: httpx.Response) -> Any:
    if response.status_code in (204, 304) or not response.content:
        return None
    text = response.text
    ctype = response.headers.get("content-type", "")
    if "json" in ctype or text.lstrip()[:1] in ("{", "["):
        try:
            return jsonlib.loads(text)
        except ValueError:
            return text
    return text


def _query_params(query: Optional[Query]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in sorted((query or {}).items()):
        if v is None:
            continue
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (dict, list)) and k in ("filter",):
            out[k] = jsonlib.dumps(v, separators=(",", ":"))
        else:
            out[k] = v
    return out


class _Request:
    """One logical call (all its attempts share the Idempotency-Key)."""

    def __init__(
        self,
        client: "BaseClient",
        method: str,
        url_path: str,
        *,
        query: Optional[Query] = None,
        json: Any = None,
        content: Optional[Union[bytes, str]] = None,
        headers: Optional[Mapping[str, Optional[str]]] = None,
        idempotency_key: Optional[str] = None,
        max_retries: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> None:
        self.method = method
        self.url = url_path if url_path.startswith(("http://", "https://")) else client.base_url + url_path
        self.params = _query_params(query)
        self.timeout = timeout if timeout is not None else client.timeout
        self.max_retries = client.max_retries if max_retries is None else max_retries
        if idempotency_key is None and method in ("POST", "PATCH"):
            idempotency_key = f"sdk_{uuid.uuid4()}"
        self.retryable = method in IDEMPOTENT or idempotency_key is not None
        h: Dict[str, str] = {"accept": "application/json", **client.default_headers}
        if client.api_key:
            h["x-api-key"] = client.api_key
        elif client.access_token:
            h["authorization"] = f"Bearer {client.access_token}"
        self.body: Optional[bytes] = None
        if json is not None:
            self.body = jsonlib.dumps(json, separators=(",", ":")).encode()
            h["content-type"] = "application/json"
        elif content is not None:
            self.body = content.encode() if isinstance(content, str) else content
        if idempotency_key:
            h["idempotency-key"] = idempotency_key
        for k, v in (headers or {}).items():
            if v is None:
                h.pop(k.lower(), None)
            else:
                h[k.lower()] = v
        self.headers = h

    def build(self, http: Union[httpx.Client, httpx.AsyncClient]) -> httpx.Request:
        return http.build_request(
            self.method, self.url, params=self.params, content=self.body, headers=self.headers, timeout=self.timeout
        )

    def retry_delay(self, attempt: int, response: Optional[httpx.Response]) -> Optional[float]:
        """Seconds to wait before the next attempt, or None when this failure is final."""
        if attempt >= self.max_retries or not self.retryable:
            return None
        if response is None:
            return backoff_delay(attempt)
        if not _retryable_status(response.status_code):
            return None
        asked = _retry_after(response.headers)
        if asked is not None and asked > MAX_RETRY_AFTER:
            return None
        return asked if asked is not None else backoff_delay(attempt)


def _connection_error(req: _Request, err: Exception) -> Exception:
    if isinstance(err, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out after {req.timeout} s: {req.method} {req.url}")
    return APIConnectionError(f"Cannot reach {req.url}: {err}")


class BaseClient:
    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        access_token: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.base_url = (base_url or _env("LOAM_API_BASE_URL") or _env("LOAM_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None or access_token else _env("LOAM_API_KEY")
        self.access_token = access_token
        if timeout is None:
            env_ms = _env("LOAM_REQUEST_TIMEOUT")
            timeout = float(env_ms) / 1000 if env_ms else DEFAULT_TIMEOUT
        self.timeout = timeout
        if max_retries is None:
            env_retries = _env("LOAM_MAX_RETRIES")
            max_retries = int(env_retries) if env_retries else DEFAULT_MAX_RETRIES
        self.max_retries = max_retries
        self.default_headers = {k.lower(): v for k, v in (default_headers or {}).items()}
        self._debug = (_env("LOAM_DEBUG") or "").lower() in ("1", "true", "yes")

    def _log(self, message: str) -> None:
        if self._debug:
            log.warning(message)
        else:
            log.debug(message)

    @staticmethod
    def _result(response: httpx.Response, body: Any, cast: Optional[Callable[[Any], Any]], unwrap: bool) -> Any:
        if unwrap and isinstance(body, dict) and "data" in body and "request_id" in body:
            body = body["data"]
        return cast(body) if cast else body


class SyncAPIClient(BaseClient):
    _is_async = False

    def __init__(self, *args: Any, http_client: Optional[httpx.Client] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = http_client or httpx.Client(timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _send(self, req: _Request, stream: bool = False) -> httpx.Response:
        attempt = 0
        while True:
            self._log(f"loam {req.method} {req.url}" + (f" (retry {attempt})" if attempt else ""))
            try:
                response = self._http.send(req.build(self._http), stream=stream)
            except httpx.TransportError as err:
                delay = req.retry_delay(attempt, None)
                if delay is None:
                    raise _connection_error(req, err) from err
                time.sleep(delay)
                attempt += 1
                continue
            if response.is_success:
                return response
            if stream:
                response.read()
            delay = req.retry_delay(attempt, response)
            if delay is None:
                raise APIError.from_response(response.status_code, _decode(response), response.headers)
            self._log(f"loam retry {attempt + 1} in {delay:.2f} s after HTTP {response.status_code}")
            response.close()
            time.sleep(delay)
            attempt += 1

    def request(
        self,
        method: str,
        url_path: str,
        *,
        cast: Optional[Callable[[Any], Any]] = None,
        unwrap: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Any request with the client's authentication, retries and errors; returns the envelope's ``data``."""
        response = self._send(_Request(self, method, url_path, **kwargs))
        return self._result(response, _decode(response), cast, unwrap)

    def _paginate(
        self, method: str, url_path: str, cast: Callable[[Any], T], *, query: Optional[Query] = None, body: Optional[Dict[str, Any]] = None
    ) -> SyncPager[T]:
        def load(cursor: Optional[str]) -> Page[T]:
            if method == "POST":
                payload = dict(body or {}, **({"cursor": cursor} if cursor else {}))
                env = self.request("POST", url_path, query=query, json=payload, unwrap=False)
            else:
                env = self.request("GET", url_path, query=dict(query or {}, cursor=cursor), unwrap=False)
            return page_from_envelope(env, cast)

        return SyncPager(load)

    def _stream_bytes(self, method: str, url_path: str, chunk_size: int = 65536, **kwargs: Any) -> Iterator[bytes]:
        response = self._send(_Request(self, method, url_path, headers={"accept": "*/*"}, **kwargs), stream=True)
        try:
            yield from response.iter_bytes(chunk_size)
        finally:
            response.close()

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class AsyncAPIClient(BaseClient):
    _is_async = True

    def __init__(self, *args: Any, http_client: Optional[httpx.AsyncClient] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _send(self, req: _Request, stream: bool = False) -> httpx.Response:
        attempt = 0
        while True:
            self._log(f"loam {req.method} {req.url}" + (f" (retry {attempt})" if attempt else ""))
            try:
                response = await self._http.send(req.build(self._http), stream=stream)
            except httpx.TransportError as err:
                delay = req.retry_delay(attempt, None)
                if delay is None:
                    raise _connection_error(req, err) from err
                await asyncio.sleep(delay)
                attempt += 1
                continue
            if response.is_success:
                return response
            if stream:
                await response.aread()
            delay = req.retry_delay(attempt, response)
            if delay is None:
                raise APIError.from_response(response.status_code, _decode(response), response.headers)
            self._log(f"loam retry {attempt + 1} in {delay:.2f} s after HTTP {response.status_code}")
            await response.aclose()
            await asyncio.sleep(delay)
            attempt += 1

    async def request(
        self,
        method: str,
        url_path: str,
        *,
        cast: Optional[Callable[[Any], Any]] = None,
        unwrap: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Any request with the client's authentication, retries and errors; returns the envelope's ``data``."""
        response = await self._send(_Request(self, method, url_path, **kwargs))
        return self._result(response, _decode(response), cast, unwrap)

    def _paginate(
        self, method: str, url_path: str, cast: Callable[[Any], T], *, query: Optional[Query] = None, body: Optional[Dict[str, Any]] = None
    ) -> AsyncPager[T]:
        async def load(cursor: Optional[str]) -> Page[T]:
            if method == "POST":
                payload = dict(body or {}, **({"cursor": cursor} if cursor else {}))
                env = await self.request("POST", url_path, query=query, json=payload, unwrap=False)
            else:
                env = await self.request("GET", url_path, query=dict(query or {}, cursor=cursor), unwrap=False)
            return page_from_envelope(env, cast)

        return AsyncPager(load)

    async def _stream_bytes(self, method: str, url_path: str, chunk_size: int = 65536, **kwargs: Any) -> AsyncIterator[bytes]:
        response = await self._send(_Request(self, method, url_path, headers={"accept": "*/*"}, **kwargs), stream=True)
        try:
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk
        finally:
            await response.aclose()

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
