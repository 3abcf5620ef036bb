"""Operator tasks (``/api/v1/admin/...``, scope ``admin``): users, signing keys, the development mailbox,
health and master-key rotation. Mirrors ``loam.admin`` of @loam/sdk.

On ``Client`` every method returns its result (``users.list``: a pager); on ``AsyncClient`` an awaitable.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ._client import path
from ._models import MailboxMessage, SigningKey, User


def _drop_none(**kwargs: Any) -> Dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


class Users:
    """The users of a tenant (``/api/v1/admin/users``); a platform admin names another tenant with ``tenant_id``."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def list(self, *, limit: Optional[int] = None, tenant_id: Optional[str] = None) -> Any:
        return self._c._paginate("GET", "/api/v1/admin/users", User.from_dict, query=_drop_none(limit=limit, tenant_id=tenant_id))

    def get(self, user_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/admin/users/{}", user_id), cast=User.from_dict)

    def update(
        self, user_id: str, *, roles: Optional[List[str]] = None, attributes: Optional[Dict[str, str]] = None, status: Optional[str] = None
    ) -> Any:
        """Sets roles, attributes (both replace) or status (``confirmed``/``disabled``); ends the user's sessions."""
        body = _drop_none(roles=roles, attributes=attributes, status=status)
        return self._c.request("PATCH", path("/api/v1/admin/users/{}", user_id), json=body, cast=User.from_dict)


class SigningKeys:
    """The keys access tokens are signed with (public metadata only)."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def list(self) -> Any:
        return self._c.request("GET", "/api/v1/admin/signing-keys", cast=lambda d: [SigningKey.from_dict(k) for k in d or []])

    def rotate(self) -> Any:
        """Signs with a new key from now on; the old one verifies until its tokens expire (409 with HS256)."""
        return self._c.request("POST", "/api/v1/admin/signing-keys/rotate", json={}, cast=lambda d: [SigningKey.from_dict(k) for k in d or []])


class Mailbox:
    """The development mailbox: mail Loam would have sent (404 with SMTP configured or in production)."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def list(self, *, to: Optional[str] = None, limit: Optional[int] = None, tenant_id: Optional[str] = None) -> Any:
        """Newest first."""
        q = _drop_none(to=to, limit=limit, tenant_id=tenant_id)
        return self._c.request("GET", "/api/v1/admin/mailbox", query=q, cast=lambda d: [MailboxMessage.from_dict(m) for m in d or []])


class Admin:
    """``client.admin``: ``users``, ``signing_keys``, ``mailbox``, ``health()``, ``rotate_master_key()``."""

    def __init__(self, client: Any) -> None:
        self._c = client
        self.users = Users(client)
        self.signing_keys = SigningKeys(client)
        self.mailbox = Mailbox(client)

    def health(self) -> Any:
        """Components (database, Redis, jobs, events) with their versions and latency."""
        return self._c.request("GET", "/api/v1/admin/health")

    def rotate_master_key(self) -> Any:
        """Re-wraps every data key under the current master key: ``{"provider", "rewrapped"}``."""
        return self._c.request("POST", "/api/v1/admin/keys/rotate", json={})
