"""Exceptions: one class per error family, all carrying the RFC 7807 problem fields and the request id."""

from __future__ import annotations

import email.utils
import time
from typing import Any, Dict, List, Mapping, Optional


class LoamError(Exception):
    """Base of every exception the SDK raises."""


class APIError(LoamError):
    """The server answered with a non-2xx status (problem+json under /api/v1, `{error, error_description}` elsewhere)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        request_id: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        errors: Optional[List[Dict[str, Any]]] = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.headers: Mapping[str, str] = headers or {}
        #: Field-level problems: ``[{"field", "code", "message"}]``.
        self.errors: List[Dict[str, Any]] = errors or []
        self.body = body
        b = body if isinstance(body, dict) else {}
        self.type: Optional[str] = b.get("type")
        self.title: Optional[str] = b.get("title")
        self.instance: Optional[str] = b.get("instance")
        suffix = f" (request {request_id})" if request_id else ""
        super().__init__(f"{status} {code}: {detail}{suffix}")

    @staticmethod
    def from_response(status: int, body: Any, headers: Mapping[str, str]) -> "APIError":
        b = body if isinstance(body, dict) else {}
        code = _str(b.get("code")) or _str(b.get("error")) or _status_code(status)
        detail = (
            _str(b.get("detail"))
            or _str(b.get("error_description"))
            or _str(b.get("title"))
            or (body if isinstance(body, str) and body else f"HTTP {status}")
        )
        request_id = _str(b.get("request_id")) or headers.get("x-request-id")
        errors = b.get("errors") if isinstance(b.get("errors"), list) else []
        cls = _error_class(status, code, bool(errors))
        return cls(status, code, detail, request_id=request_id, headers=headers, errors=errors, body=body)


class BadRequestError(APIError):
    """400/422 without field errors: malformed, or not allowed in this state."""


class ValidationError(BadRequestError):
    """400/422 ``validation_error``: see ``errors`` for what is wrong where."""


class AuthenticationError(APIError):
    """401: missing, invalid, expired or revoked credentials."""


class PermissionDeniedError(APIError):
    """403: authenticated but not allowed (scope, role, policy)."""


class NotFoundError(APIError):
    """404: no such object (or another tenant's)."""


class ConflictError(APIError):
    """409: exists already, or its state forbids the change."""


class PreconditionFailedError(APIError):
    """412: ``If-Match`` did not match the current ETag."""


class RateLimitError(APIError):
    """429: too many requests; wait ``retry_after`` seconds."""

    @property
    def retry_after(self) -> Optional[float]:
        header = parse_retry_after(self.headers.get("retry-after"))
        if header is not None:
            return header
        b = self.body if isinstance(self.body, dict) else {}
        value = b.get("retry_after")
        return float(value) if isinstance(value, (int, float)) else None


class InternalServerError(APIError):
    """5xx: the server failed (after the SDK's retries)."""


class APIConnectionError(LoamError):
    """No answer: DNS, refused connection, reset."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout."""


class JobFailedError(LoamError):
    """A waited-for job or transfer ended failed/dead."""

    def __init__(self, message: str, job: Any = None) -> None:
        super().__init__(message)
        self.job = job


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _str(v: Any) -> Optional[str]:
    return v if isinstance(v, str) and v else None


def _status_code(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "internal_error"
    return "unknown_error"


def _error_class(status: int, code: str, has_fields: bool) -> type:
    if status in (400, 422):
        return ValidationError if has_fields or code == "validation_error" else BadRequestError
    return {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        412: PreconditionFailedError,
        429: RateLimitError,
    }.get(status, InternalServerError if status >= 500 else APIError)
