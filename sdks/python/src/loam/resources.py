"""Resources: one class per API area, one method per endpoint, mirroring @loam/sdk.

Every method works on both clients: on ``Client`` it returns the result, on ``AsyncClient`` an
awaitable (lists: a pager to iterate with ``for`` / ``async for``; downloads: a generator / async
generator of bytes).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._client import path
from ._errors import JobFailedError, LoamError
from ._models import (
    ApiKey,
    AuditEntry,
    Dataset,
    DatasetExport,
    DatasetImport,
    DatasetIndex,
    DatasetVersion,
    ExportJob,
    ImportJob,
    InsertResult,
    Job,
    Policy,
    Record,
    Recognizer,
)

JSON = Dict[str, Any]
#: The server's per-call limit: larger inserts are split into calls of this size.
MAX_RECORDS_PER_CALL = 10_000


def _drop_none(**kwargs: Any) -> JSON:
    return {k: v for k, v in kwargs.items() if v is not None}


def _last_segment(link: Optional[str], what: str) -> str:
    seg = (link or "").split("?")[0].rstrip("/").split("/")[-1]
    if not seg:
        raise LoamError(f"The server did not say where the {what} is")
    return seg


def _as_new_record(r: Any) -> JSON:
    """Accepts ``{"id"?, "data"}`` or a bare dict of fields (then wrapped as ``{"data": r}``)."""
    if isinstance(r, Mapping) and "data" in r and set(r.keys()) <= {"id", "data"}:
        return dict(r)
    return {"data": dict(r)}


class _Resource:
    def __init__(self, client: Any) -> None:
        self._c = client


class Datasets(_Resource):
    """Private datasets (``/api/v1/datasets``)."""

    def _cast(self, d: Any) -> Dataset:
        ds = Dataset.from_dict(d)
        ds._client = self._c
        return ds

    def create(
        self,
        name: str,
        schema: Optional[JSON] = None,
        *,
        description: Optional[str] = None,
        classification: Optional[str] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[JSON] = None,
        insert_policy: Optional[JSON] = None,
        derived_from: Optional[JSON] = None,
        **extra: Any,
    ) -> Any:
        """``client.datasets.create(name="customers", schema={"fields": [...]})``."""
        body = _drop_none(
            name=name, schema=schema, description=description, classification=classification, tags=tags,
            metadata=metadata, insert_policy=insert_policy, derived_from=derived_from, **extra,
        )
        return self._c.request("POST", "/api/v1/datasets", json=body, cast=self._cast)

    def list(
        self, *, status: Optional[str] = None, tag: Optional[str] = None, classification: Optional[str] = None,
        limit: Optional[int] = None, count: Optional[bool] = None,
    ) -> Any:
        """Every dataset, page by page as you iterate: ``for ds in client.datasets.list(tag="crm")``."""
        q = _drop_none(status=status, tag=tag, classification=classification, limit=limit, count=count)
        return self._c._paginate("GET", "/api/v1/datasets", self._cast, query=q)

    def get(self, dataset_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/datasets/{}", dataset_id), cast=self._cast)

    def update(self, dataset_id: str, *, if_match: Optional[str] = None, **changes: Any) -> Any:
        """``update(id, description="…", schema={...})``; a ``None`` value is sent as JSON null."""
        return self._c.request(
            "PATCH", path("/api/v1/datasets/{}", dataset_id), json=changes, headers={"if-match": if_match}, cast=self._cast
        )

    def delete(self, dataset_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/datasets/{}", dataset_id))

    def archive(self, dataset_id: str) -> Any:
        return self._c.request("POST", path("/api/v1/datasets/{}/archive", dataset_id), json={}, cast=self._cast)

    def restore(self, dataset_id: str) -> Any:
        return self._c.request("POST", path("/api/v1/datasets/{}/restore", dataset_id), json={}, cast=self._cast)

    def stats(self, dataset_id: str, *, version: Optional[str] = None) -> Any:
        return self._c.request("GET", path("/api/v1/datasets/{}/stats", dataset_id), query=_drop_none(version=version))

    def lineage(self, dataset_id: str, *, depth: Optional[int] = None, direction: Optional[str] = None) -> Any:
        """The graph around a dataset; ``direction``: upstream, downstream or both (default), ``depth``: dataset hops (default 3)."""
        q = {k: v for k, v in {"depth": depth, "direction": direction}.items() if v is not None}
        return self._c.request("GET", path("/api/v1/datasets/{}/lineage", dataset_id), query=q)

    def anonymize(self, dataset_id: str, policy: JSON, *, version: Optional[str] = None, name: Optional[str] = None) -> Any:
        """Anonymizes a version into a new derived dataset: answers the job (``result.dataset_id`` once done)."""
        body = _drop_none(policy=policy, version=version, name=name)
        return self._c.request("POST", path("/api/v1/datasets/{}/anonymize", dataset_id), json=body, cast=Job.from_dict)

    def aggregate(self, dataset_id: str, query: JSON, *, version: Optional[str] = None) -> Any:
        """A differentially private aggregate, charged to the dataset's ε budget."""
        body = _drop_none(query=query, version=version)
        return self._c.request("POST", path("/api/v1/datasets/{}/aggregate", dataset_id), json=body)

    def create_index(self, dataset_id: str, field: str) -> Any:
        return self._c.request(
            "POST", path("/api/v1/datasets/{}/indexes", dataset_id), json={"field": field}, cast=DatasetIndex.from_dict
        )

    def list_indexes(self, dataset_id: str) -> Any:
        return self._c.request(
            "GET", path("/api/v1/datasets/{}/indexes", dataset_id), cast=lambda d: [DatasetIndex.from_dict(i) for i in d or []]
        )

    def delete_index(self, dataset_id: str, index_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/datasets/{}/indexes/{}", dataset_id, index_id))


class Versions(_Resource):
    """Immutable dataset versions (``/api/v1/datasets/{id}/versions``)."""

    def create(
        self, dataset_id: str, *, name: Optional[str] = None, description: Optional[str] = None, tags: Optional[List[str]] = None,
        draft: Optional[bool] = None,
    ) -> Any:
        """Finalizes the working draft into an immutable version (``draft=True``: opens a draft version, see ``finalize``)."""
        body = _drop_none(name=name, description=description, tags=tags, draft=draft)
        return self._c.request("POST", path("/api/v1/datasets/{}/versions", dataset_id), json=body, cast=DatasetVersion.from_dict)

    def finalize(self, dataset_id: str, version_id: str, *, name: Optional[str] = None, description: Optional[str] = None) -> Any:
        """Finalizes a draft version: its record count and checksum are fixed."""
        body = _drop_none(name=name, description=description)
        return self._c.request(
            "POST", path("/api/v1/datasets/{}/versions/{}/finalize", dataset_id, version_id), json=body, cast=DatasetVersion.from_dict
        )

    def list(self, dataset_id: str, *, limit: Optional[int] = None) -> Any:
        return self._c._paginate(
            "GET", path("/api/v1/datasets/{}/versions", dataset_id), DatasetVersion.from_dict, query=_drop_none(limit=limit)
        )

    def get(self, dataset_id: str, version_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/datasets/{}/versions/{}", dataset_id, version_id), cast=DatasetVersion.from_dict)

    def update(self, dataset_id: str, version_id: str, **changes: Any) -> Any:
        """Only ``description`` and ``tags`` can change."""
        return self._c.request(
            "PATCH", path("/api/v1/datasets/{}/versions/{}", dataset_id, version_id), json=changes, cast=DatasetVersion.from_dict
        )

    def delete(self, dataset_id: str, version_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/datasets/{}/versions/{}", dataset_id, version_id))

    def deprecate(self, dataset_id: str, version_id: str) -> Any:
        return self._c.request(
            "POST", path("/api/v1/datasets/{}/versions/{}/deprecate", dataset_id, version_id), json={}, cast=DatasetVersion.from_dict
        )

    def diff(
        self, dataset_id: str, version_id: str, other_version_id: str, *, fields: Optional[bool] = None,
        limit: Optional[int] = None, cursor: Optional[str] = None,
    ) -> Any:
        """Record ids added, removed and modified between two versions (``"draft"`` names the working draft)."""
        return self._c.request(
            "GET",
            path("/api/v1/datasets/{}/versions/{}/diff/{}", dataset_id, version_id, other_version_id),
            query=_drop_none(fields=fields, limit=limit, cursor=cursor),
        )


class Jobs(_Resource):
    """Asynchronous work (``/api/v1/jobs/{id}``): imports, exports, anonymization runs."""

    def get(self, job_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/jobs/{}", job_id), cast=Job.from_dict)

    def wait(self, job_id: str, *, timeout: float = 300.0, interval: float = 0.25) -> Any:
        """Polls until the job succeeds (returns it) or dies (raises ``JobFailedError``)."""

        def done(job: Job) -> bool:
            if job.status == "dead":
                raise JobFailedError(f"Job {job.id} ({job.kind}) failed: {job.last_error or 'unknown error'}", job)
            return job.status == "succeeded"

        return _poll(self._c, lambda: self.get(job_id), done, timeout, interval, f"job {job_id}")


def _poll(client: Any, load: Callable[[], Any], done: Callable[[Any], bool], timeout: float, interval: float, what: str) -> Any:
    if client._is_async:

        async def run() -> Any:
            deadline = time.monotonic() + timeout
            while True:
                value = await load()
                if done(value):
                    return value
                if time.monotonic() > deadline:
                    raise LoamError(f"Timed out waiting for {what}")
                await client._sleep(interval)

        return run()
    deadline = time.monotonic() + timeout
    while True:
        value = load()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise LoamError(f"Timed out waiting for {what}")
        client._sleep(interval)


class Records(_Resource):
    """Records of a dataset (``/api/v1/datasets/{id}/records``)."""

    def insert_many(
        self,
        dataset_id: str,
        records: Sequence[Any],
        *,
        chunk_size: int = MAX_RECORDS_PER_CALL,
        on_progress: Optional[Callable[[int, int], None]] = None,
    ) -> Any:
        """Inserts any number of records — ``{"id"?, "data"}`` or bare dicts of fields — in atomic calls of
        at most 10,000, each with its own ``Idempotency-Key`` (a retried call never inserts twice)."""
        size = min(chunk_size, MAX_RECORDS_PER_CALL)
        if size < 1:
            raise LoamError("chunk_size must be at least 1")
        rows = [_as_new_record(r) for r in records]
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
        url = path("/api/v1/datasets/{}/records", dataset_id)
        result = InsertResult()
        result.raw = {}

        def add(done: InsertResult) -> None:
            result.inserted += done.inserted
            result.ids.extend(done.ids)
            result.raw = {"inserted": result.inserted, "ids": result.ids}
            if on_progress:
                on_progress(result.inserted, len(rows))

        if self._c._is_async:

            async def run() -> InsertResult:
                for chunk in chunks:
                    add(await self._c.request("POST", url, json=chunk, cast=InsertResult.from_dict))
                return result

            return run()
        for chunk in chunks:
            add(self._c.request("POST", url, json=chunk, cast=InsertResult.from_dict))
        return result

    def insert(self, dataset_id: str, data: JSON, *, id: Optional[str] = None) -> Any:
        """Inserts one record; returns the ``InsertResult`` (``ids[0]`` is its id)."""
        row = _drop_none(id=id, data=data)
        return self._c.request("POST", path("/api/v1/datasets/{}/records", dataset_id), json=[row], cast=InsertResult.from_dict)

    def get(self, dataset_id: str, record_id: str, *, version: Optional[str] = None) -> Any:
        return self._c.request(
            "GET", path("/api/v1/datasets/{}/records/{}", dataset_id, record_id), query=_drop_none(version=version), cast=Record.from_dict
        )

    def update(self, dataset_id: str, record_id: str, data: JSON, *, if_match: Optional[str] = None) -> Any:
        """Merges ``data`` into the record (a ``None`` removes a field)."""
        return self._c.request(
            "PATCH", path("/api/v1/datasets/{}/records/{}", dataset_id, record_id), json={"data": data},
            headers={"if-match": if_match}, cast=Record.from_dict,
        )

    def delete(self, dataset_id: str, record_id: str, *, if_match: Optional[str] = None) -> Any:
        return self._c.request("DELETE", path("/api/v1/datasets/{}/records/{}", dataset_id, record_id), headers={"if-match": if_match})

    def query(
        self,
        dataset_id: str,
        *,
        filter: Optional[JSON] = None,
        sort: Optional[str] = None,
        fields: Optional[List[str]] = None,
        version: Optional[str] = None,
        limit: Optional[int] = None,
        count: Optional[bool] = None,
    ) -> Any:
        """Queries with a ``$``-filter (``$eq $ne $gt $gte $lt $lte $in $nin $contains $startsWith $exists $and $or $not``);
        ``limit`` is the page size. Iterate the pager for every match."""
        body = _drop_none(filter=filter, sort=sort, fields=fields, version=version, limit=limit, count=count)
        return self._c._paginate("POST", path("/api/v1/datasets/{}/records/query", dataset_id), Record.from_dict, body=body)

    #: ``for rec in client.records.iterate(dataset_id, filter=..., limit=...)``: the same as ``query``.
    iterate = query

    def list(
        self,
        dataset_id: str,
        *,
        filter: Optional[JSON] = None,
        sort: Optional[str] = None,
        fields: Optional[List[str]] = None,
        version: Optional[str] = None,
        limit: Optional[int] = None,
        count: Optional[bool] = None,
    ) -> Any:
        """Lists records with the filter in the query string (``GET …/records?filter=<json>``)."""
        q = _drop_none(
            filter=filter, sort=sort, fields=",".join(fields) if fields else None, version=version, limit=limit, count=count
        )
        return self._c._paginate("GET", path("/api/v1/datasets/{}/records", dataset_id), Record.from_dict, query=q)

    def export(
        self, dataset_id: str, *, format: Optional[str] = None, version: Optional[str] = None, filter: Optional[JSON] = None
    ) -> Any:
        """Starts an export job; returns ``ExportJob(job, export_id)``."""
        body = _drop_none(format=format, version=version, filter=filter)

        def cast(env: Any) -> ExportJob:
            links = env.get("links") or {}
            return ExportJob(raw=env, job=Job.from_dict(env.get("data")), export_id=_last_segment(links.get("export"), "export"))

        return self._c.request("POST", path("/api/v1/datasets/{}/records/export", dataset_id), json=body, cast=cast, unwrap=False)

    def get_export(self, export_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/exports/{}", export_id), cast=DatasetExport.from_dict)

    def download_export(self, export_id: str) -> Any:
        """The bytes of a finished export, streamed: a generator (async generator on ``AsyncClient``)."""
        return self._c._stream_bytes("GET", path("/api/v1/exports/{}/download", export_id))

    def download(
        self, dataset_id: str, *, format: Optional[str] = None, version: Optional[str] = None, filter: Optional[JSON] = None,
        timeout: float = 300.0,
    ) -> Any:
        """Exports, waits for the file, and streams its bytes: ``for chunk in client.records.download(id, format="csv")``."""
        jobs = Jobs(self._c)
        if self._c._is_async:

            async def run() -> Any:
                exp = await self.export(dataset_id, format=format, version=version, filter=filter)
                await jobs.wait(exp.job.id, timeout=timeout)
                async for chunk in self.download_export(exp.export_id):
                    yield chunk

            return run()

        def gen() -> Any:
            exp = self.export(dataset_id, format=format, version=version, filter=filter)
            jobs.wait(exp.job.id, timeout=timeout)
            yield from self.download_export(exp.export_id)

        return gen()

    def import_(
        self,
        dataset_id: str,
        data: Union[bytes, str, Iterable[JSON]],
        *,
        format: Optional[str] = None,
        id_field: Optional[str] = None,
        wait: bool = False,
        timeout: float = 300.0,
    ) -> Any:
        """Imports NDJSON or CSV (bytes or text; a list of dicts is sent as NDJSON). Without ``wait`` returns
        ``ImportJob(job, import_id)``; with ``wait=True`` the finished ``DatasetImport`` (``processed``, ``failed``)."""
        import json as jsonlib

        if not isinstance(data, (bytes, str)):
            data = "".join(jsonlib.dumps(row) + "\n" for row in data)
            format = format or "ndjson"
        fmt = format or "ndjson"
        ctype = "text/csv" if fmt == "csv" else "application/x-ndjson"
        url = path("/api/v1/datasets/{}/records/import", dataset_id)

        def cast(env: Any) -> ImportJob:
            links = env.get("links") or {}
            return ImportJob(raw=env, job=Job.from_dict(env.get("data")), import_id=_last_segment(links.get("import"), "import"))

        def finished(imp: DatasetImport) -> bool:
            if imp.status == "failed":
                raise JobFailedError(f"Import {imp.id} failed: {imp.error or 'unknown error'}", imp)
            return imp.status == "succeeded"

        kwargs: Dict[str, Any] = dict(
            content=data, headers={"content-type": ctype}, query=_drop_none(id_field=id_field), cast=cast, unwrap=False
        )
        if self._c._is_async:

            async def run() -> Any:
                started = await self._c.request("POST", url, **kwargs)
                if not wait:
                    return started
                return await _poll(self._c, lambda: self.get_import(dataset_id, started.import_id), finished, timeout, 0.25, "import")

            return run()
        started = self._c.request("POST", url, **kwargs)
        if not wait:
            return started
        return _poll(self._c, lambda: self.get_import(dataset_id, started.import_id), finished, timeout, 0.25, "import")

    def get_import(self, dataset_id: str, import_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/datasets/{}/imports/{}", dataset_id, import_id), cast=DatasetImport.from_dict)

    def import_errors(self, dataset_id: str, import_id: str, *, limit: Optional[int] = None) -> Any:
        """Per-line errors of an import (``{line, field, code, message}``)."""
        return self._c._paginate(
            "GET", path("/api/v1/datasets/{}/imports/{}/errors", dataset_id, import_id), lambda d: d, query=_drop_none(limit=limit)
        )


class BoundRecords:
    """``dataset.records``: the records resource with the dataset id filled in."""

    def __init__(self, client: Any, dataset_id: str) -> None:
        self._r = Records(client)
        self.dataset_id = dataset_id

    def insert_many(self, records: Sequence[Any], **kwargs: Any) -> Any:
        return self._r.insert_many(self.dataset_id, records, **kwargs)

    def insert(self, data: JSON, **kwargs: Any) -> Any:
        return self._r.insert(self.dataset_id, data, **kwargs)

    def get(self, record_id: str, **kwargs: Any) -> Any:
        return self._r.get(self.dataset_id, record_id, **kwargs)

    def update(self, record_id: str, data: JSON, **kwargs: Any) -> Any:
        return self._r.update(self.dataset_id, record_id, data, **kwargs)

    def delete(self, record_id: str, **kwargs: Any) -> Any:
        return self._r.delete(self.dataset_id, record_id, **kwargs)

    def query(self, **kwargs: Any) -> Any:
        return self._r.query(self.dataset_id, **kwargs)

    iterate = query

    def list(self, **kwargs: Any) -> Any:
        return self._r.list(self.dataset_id, **kwargs)

    def export(self, **kwargs: Any) -> Any:
        return self._r.export(self.dataset_id, **kwargs)

    def download(self, **kwargs: Any) -> Any:
        return self._r.download(self.dataset_id, **kwargs)

    def import_(self, data: Any, **kwargs: Any) -> Any:
        return self._r.import_(self.dataset_id, data, **kwargs)


class BoundVersions:
    """``dataset.versions``: the versions resource with the dataset id filled in."""

    def __init__(self, client: Any, dataset_id: str) -> None:
        self._v = Versions(client)
        self.dataset_id = dataset_id

    def create(self, **kwargs: Any) -> Any:
        return self._v.create(self.dataset_id, **kwargs)

    def list(self, **kwargs: Any) -> Any:
        return self._v.list(self.dataset_id, **kwargs)

    def get(self, version_id: str) -> Any:
        return self._v.get(self.dataset_id, version_id)


class Recognizers(_Resource):
    """Tenant-defined PII recognizers (``/api/v1/anonymization/recognizers``)."""

    def list(self) -> Any:
        return self._c.request("GET", "/api/v1/anonymization/recognizers", cast=lambda d: [Recognizer.from_dict(r) for r in d or []])

    def create(self, name: str, entity_type: str, patterns: List[JSON], **extra: Any) -> Any:
        body = dict(name=name, entity_type=entity_type, patterns=patterns, **extra)
        return self._c.request("POST", "/api/v1/anonymization/recognizers", json=body, cast=Recognizer.from_dict)

    def get(self, recognizer_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/anonymization/recognizers/{}", recognizer_id), cast=Recognizer.from_dict)

    def update(self, recognizer_id: str, **changes: Any) -> Any:
        return self._c.request(
            "PATCH", path("/api/v1/anonymization/recognizers/{}", recognizer_id), json=changes, cast=Recognizer.from_dict
        )

    def delete(self, recognizer_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/anonymization/recognizers/{}", recognizer_id))


class Anonymization(_Resource):
    """PII detection, anonymization and privacy models (``/api/v1/anonymization/*``). Bodies are the
    server's JSON, passed as keyword arguments: ``anonymize(text=..., operators={...})``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.recognizers = Recognizers(client)

    def _post(self, sub: str, body: JSON) -> Any:
        return self._c.request("POST", "/api/v1/anonymization" + sub, json=body)

    def analyze(self, **body: Any) -> Any:
        """Finds PII in ``text``, a ``document`` or ``records``."""
        return self._post("/analyze", body)

    def anonymize(self, **body: Any) -> Any:
        """Masks, replaces, hashes, … the PII found; ``records`` + ``privacy_model`` k-anonymizes a table."""
        return self._post("/anonymize", body)

    def deanonymize(self, **body: Any) -> Any:
        return self._post("/deanonymize", body)

    def validate(self, **body: Any) -> Any:
        """k-anonymity, ℓ-diversity, re-identification risk and residual PII of a table."""
        return self._post("/validate", body)

    def aggregate(self, **body: Any) -> Any:
        """A differentially private count, sum, mean or histogram, charged to an ε budget."""
        return self._post("/aggregate", body)

    def techniques(self) -> Any:
        return self._c.request("GET", "/api/v1/anonymization/techniques")

    def budget(self, subject: str) -> Any:
        return self._c.request("GET", path("/api/v1/anonymization/budgets/{}", subject))

    def set_budget(self, subject: str, epsilon_total: float) -> Any:
        return self._c.request("PUT", path("/api/v1/anonymization/budgets/{}", subject), json={"epsilon_total": epsilon_total})

    def metrics(self) -> Any:
        return self._c.request("GET", "/api/v1/anonymization/metrics")


class ApiKeys(_Resource):
    """Tenant API keys (``/api/v1/api-keys``)."""

    def create(self, name: str, scopes: Optional[List[str]] = None, *, roles: Optional[List[str]] = None, expires_at: Optional[str] = None) -> Any:
        """The secret (``key``) is returned this once."""
        body = _drop_none(name=name, scopes=scopes or [], roles=roles, expires_at=expires_at)
        return self._c.request("POST", "/api/v1/api-keys", json=body, cast=ApiKey.from_dict)

    def list(self, *, limit: Optional[int] = None) -> Any:
        return self._c._paginate("GET", "/api/v1/api-keys", ApiKey.from_dict, query=_drop_none(limit=limit))

    def get(self, key_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/api-keys/{}", key_id), cast=ApiKey.from_dict)

    def revoke(self, key_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/api-keys/{}", key_id))

    def rotate(self, key_id: str) -> Any:
        """Replaces the secret (the old one stops working)."""
        return self._c.request("POST", path("/api/v1/api-keys/{}/rotate", key_id), cast=ApiKey.from_dict)


class Policies(_Resource):
    """Cedar access policies (``/api/v1/admin/policies``)."""

    def create(self, name: str, policy: str, *, description: Optional[str] = None) -> Any:
        body = _drop_none(name=name, policy=policy, description=description)
        return self._c.request("POST", "/api/v1/admin/policies", json=body, cast=Policy.from_dict)

    def list(self, *, limit: Optional[int] = None) -> Any:
        return self._c._paginate("GET", "/api/v1/admin/policies", Policy.from_dict, query=_drop_none(limit=limit))

    def get(self, policy_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/admin/policies/{}", policy_id), cast=Policy.from_dict)

    def update(self, policy_id: str, **changes: Any) -> Any:
        """Changes only the keys given (``name``, ``description``, ``policy``)."""
        return self._c.request("PATCH", path("/api/v1/admin/policies/{}", policy_id), json=changes, cast=Policy.from_dict)

    def replace(self, policy_id: str, name: str, policy: str, *, description: Optional[str] = None) -> Any:
        body = _drop_none(name=name, policy=policy, description=description)
        return self._c.request("PUT", path("/api/v1/admin/policies/{}", policy_id), json=body, cast=Policy.from_dict)

    def delete(self, policy_id: str) -> Any:
        return self._c.request("DELETE", path("/api/v1/admin/policies/{}", policy_id))

    def schema(self) -> Any:
        """The Cedar schema policies are checked against, and what each role grants."""
        return self._c.request("GET", "/api/v1/admin/policies/schema")


class AuditLogs(_Resource):
    """The tenant's append-only, hash-chained audit log (``/api/v1/admin/audit-logs``)."""

    def list(
        self, *, actor: Optional[str] = None, action: Optional[str] = None, resource_type: Optional[str] = None,
        resource_id: Optional[str] = None, decision: Optional[str] = None, from_: Optional[str] = None,
        to: Optional[str] = None, limit: Optional[int] = None,
    ) -> Any:
        q = _drop_none(
            actor=actor, action=action, resource_type=resource_type, resource_id=resource_id, decision=decision,
            to=to, limit=limit, **({"from": from_} if from_ else {}),
        )
        return self._c._paginate("GET", "/api/v1/admin/audit-logs", AuditEntry.from_dict, query=q)

    def get(self, entry_id: str) -> Any:
        return self._c.request("GET", path("/api/v1/admin/audit-logs/{}", entry_id), cast=AuditEntry.from_dict)

    def verify(self) -> Any:
        """Re-computes the hash chain: ``{"valid", "first_broken", ...}``."""
        return self._c.request("POST", "/api/v1/admin/audit-logs/verify", json={})


class Content(_Resource):
    """The ``/api/v1`` parts of content (the Atriumn content routes are in @loam/sdk only)."""

    def stats(self) -> Any:
        return self._c.request("GET", "/api/v1/content/stats")

    def search(self, q: str, *, limit: Optional[int] = None) -> Any:
        return self._c.request("GET", "/api/v1/content/search", query=_drop_none(q=q, limit=limit))

    def callback_secret(self) -> Any:
        return self._c.request("GET", "/api/v1/content/callback-secret")
