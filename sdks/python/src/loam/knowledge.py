"""Knowledge bases: collections, documents (pre-signed upload flow), search, answers and embeddings."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ._client import path
from .resources import _drop_none

JSON = Mapping[str, Any]


class Collections:
    """``client.collections.create({"name": "handbook"})``, ``list``, ``get``, ``update``, ``delete``, ``add_content``."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def create(self, body: JSON) -> Any:
        return self._c.request("POST", "/api/v1/collections", json=dict(body))

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Any:
        return self._c.request("GET", "/api/v1/collections", query=_drop_none(limit=limit, cursor=cursor))

    def get(self, collection_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/collections/{}", collection_id))

    def update(self, collection_id: str, patch: JSON) -> Any:
        return self._c.request("PATCH", path("/api/v1/collections/{}", collection_id), json=dict(patch))

    def delete(self, collection_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/collections/{}", collection_id))

    def add_content(self, collection_id: str, content_id: str, *, metadata: Optional[JSON] = None) -> Any:
        """Adds a processed content item (from ``client.content``) to the collection."""
        body: Dict[str, Any] = {"content_id": content_id}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return self._c.request("POST", path("/api/v1/collections/{}/content", collection_id), json=body)


class Documents:
    """Documents: ``create`` (answers with a pre-signed ``upload_url``), then PUT the file, then ``complete``."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def create(self, collection_id: str, filename: str, content_type: str, *, size: Optional[int] = None, metadata: Optional[JSON] = None) -> Any:
        body = _drop_none(collection_id=collection_id, filename=filename, content_type=content_type, size=size)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return self._c.request("POST", "/api/v1/documents", json=body)

    def list(self, *, collection_id: Optional[str] = None, status: Optional[str] = None, limit: Optional[int] = None) -> Any:
        return self._c.request("GET", "/api/v1/documents", query=_drop_none(collection_id=collection_id, status=status, limit=limit))

    def get(self, document_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/documents/{}", document_id))

    def delete(self, document_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/documents/{}", document_id))

    def complete(self, document_id: str) -> Any:
        return self._c.request("POST", path("/api/v1/documents/{}/complete", document_id))

    def reindex(self, document_id: str) -> Any:
        return self._c.request("POST", path("/api/v1/documents/{}/reindex", document_id))


class Knowledge:
    """``client.knowledge.search("q", collection_ids=[...])``, ``query`` (the whole answer with its sources), ``embeddings``."""

    def __init__(self, client: Any) -> None:
        self._c = client

    def search(self, q: str, *, collection_ids: Sequence[str], top_k: Optional[int] = None, mode: Optional[str] = None) -> Any:
        query = _drop_none(q=q, collection_ids=",".join(collection_ids), top_k=top_k, mode=mode)
        return self._c.request("GET", "/api/v1/search", query=query)

    def search_filtered(self, body: JSON) -> Any:
        return self._c.request("POST", "/api/v1/search", json=dict(body))

    def query(self, question: str, *, collection_ids: Sequence[str], top_k: Optional[int] = None, model: Optional[str] = None, history: Optional[List[JSON]] = None) -> Any:
        """The whole answer at once (``Accept: application/json``): ``{id, answer, model, sources, usage}``."""
        body: Dict[str, Any] = _drop_none(question=question, top_k=top_k, model=model)
        body["collection_ids"] = list(collection_ids)
        if history is not None:
            body["history"] = [dict(h) for h in history]
        return self._c.request("POST", "/api/v1/query", json=body, headers={"accept": "application/json"})

    def embeddings(self, input: Union[str, Sequence[str]], *, model: Optional[str] = None) -> Any:
        body: Dict[str, Any] = {"input": input if isinstance(input, str) else list(input)}
        if model is not None:
            body["model"] = model
        return self._c.request("POST", "/api/v1/embeddings", json=body)
