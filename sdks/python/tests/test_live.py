"""Every call family of the SDK against a live Loam."""

from __future__ import annotations

import asyncio
import json

import pytest

import loam

SCHEMA = {
    "fields": [
        {"name": "email", "type": "string", "required": True, "pii": "email"},
        {"name": "age", "type": "integer"},
        {"name": "zip", "type": "string"},
    ]
}


def rows(n: int):
    return [{"email": f"user{i}@example.com", "age": 20 + i, "zip": f"9410{i % 3}"} for i in range(n)]


def test_datasets(client: loam.Client, unique: str) -> None:
    ds = client.datasets.create(name=f"ds-{unique}", schema=SCHEMA, tags=["sdk"], classification="confidential")
    assert isinstance(ds, loam.Dataset) and ds.id.startswith("ds_") and ds.encrypted_fields == ["email"]
    assert client.datasets.get(ds.id).name == f"ds-{unique}"
    ids = [d.id for d in client.datasets.list(tag="sdk", limit=1)]
    assert ds.id in ids
    updated = client.datasets.update(ds.id, description="described")
    assert updated.description == "described" and updated.resource_version > ds.resource_version
    assert client.datasets.archive(ds.id).status == "archived"
    assert client.datasets.restore(ds.id).status == "active"
    ds.records.insert_many(rows(3))
    assert client.datasets.stats(ds.id)["record_count"] == 3
    assert client.datasets.lineage(ds.id)["dataset_id"] == ds.id
    idx = client.datasets.create_index(ds.id, "age")
    assert [i.field for i in client.datasets.list_indexes(ds.id)] == ["age"]
    client.datasets.delete_index(ds.id, idx.id)
    assert client.datasets.list_indexes(ds.id) == []
    client.datasets.delete(ds.id)
    with pytest.raises(loam.NotFoundError):
        client.datasets.get(ds.id)


def test_records_query_iterate_pages(client: loam.Client, unique: str) -> None:
    ds = client.datasets.create(name=f"rec-{unique}", schema=SCHEMA)
    res = ds.records.insert_many(rows(9), chunk_size=4)  # three calls
    assert res.inserted == 9 and len(res.ids) == 9
    pager = client.records.iterate(ds.id, filter={"age": {"$gte": 22}, "zip": {"$in": ["94100", "94101"]}}, limit=2)
    pages = list(pager.pages())
    assert len(pages) > 1 and all(len(p) <= 2 for p in pages)
    ages = [r.data["age"] for r in client.records.iterate(ds.id, filter={"age": {"$gte": 22}, "zip": {"$in": ["94100", "94101"]}}, limit=2)]
    assert ages == [r["age"] for r in rows(9) if r["age"] >= 22 and r["zip"] in ("94100", "94101")]
    first = client.records.query(ds.id, sort="-age", limit=3, count=True).first_page()
    assert first.total_count == 9 and [r.data["age"] for r in first] == [28, 27, 26]
    listed = client.records.list(ds.id, filter={"age": {"$lt": 22}}, fields=["age"], limit=1).to_list()
    assert [r.data for r in listed] == [{"age": 20}, {"age": 21}]
    rec = client.records.get(ds.id, res.ids[0])
    assert rec.data["email"] == "user0@example.com"
    rec2 = client.records.update(ds.id, rec.id, {"age": 99, "zip": None})
    assert rec2.data == {"email": "user0@example.com", "age": 99} and rec2.revision > rec.revision
    with pytest.raises(loam.PreconditionFailedError):
        client.records.update(ds.id, rec.id, {"age": 1}, if_match='"stale"')
    client.records.delete(ds.id, rec.id)
    with pytest.raises(loam.NotFoundError):
        client.records.get(ds.id, rec.id)
    one = client.records.insert(ds.id, {"email": "solo@example.com"}, id="solo-1")
    assert one.ids == ["solo-1"]


def test_export_download_stream_and_import(client: loam.Client, unique: str) -> None:
    ds = client.datasets.create(name=f"io-{unique}", schema=SCHEMA)
    ds.records.insert_many([{"id": f"r{i}", "data": row} for i, row in enumerate(rows(5))])
    chunks = client.records.download(ds.id, format="ndjson")
    assert hasattr(chunks, "__next__")  # a generator: bytes arrive as they are read
    lines = b"".join(chunks).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"r{i}" for i in range(5)]
    exp = client.records.export(ds.id, format="csv", filter={"age": {"$gte": 23}})
    client.jobs.wait(exp.job.id)
    info = client.records.get_export(exp.export_id)
    assert info.status == "succeeded" and info.record_count == 2
    assert b"".join(client.records.download_export(exp.export_id)).decode().splitlines()[0] == "id,email,age,zip"

    started = client.records.import_(ds.id, '{"id":"n1","email":"n1@example.com","age":5}\n{"id":"n2","age":"old"}\n')
    assert started.import_id.startswith("imp_")
    client.jobs.wait(started.job.id)
    imp = client.records.get_import(ds.id, started.import_id)
    assert (imp.processed, imp.failed) == (2, 1)
    errs = client.records.import_errors(ds.id, imp.id).to_list()
    assert errs and errs[0]["line"] == 2
    csv = client.records.import_(ds.id, "id,email,age\nc1,c1@example.com,7\n", format="csv", wait=True)
    assert csv.status == "succeeded" and client.records.get(ds.id, "c1").data["age"] == 7


def test_versions(client: loam.Client, unique: str) -> None:
    ds = client.datasets.create(name=f"ver-{unique}", schema=SCHEMA)
    ds.records.insert_many([{"id": "a", "data": rows(1)[0]}])
    v1 = ds.versions.create(name="v1")
    assert v1.number == 1 and v1.record_count == 1
    client.records.insert_many(ds.id, [{"id": "b", "data": rows(2)[1]}])
    v2 = client.versions.create(ds.id, name="v2", tags=["x"])
    assert [v.id for v in client.versions.list(ds.id, limit=1)] == [v1.id, v2.id]
    assert client.versions.get(ds.id, v1.id).checksum == v1.checksum
    assert client.versions.update(ds.id, v1.id, description="first").description == "first"
    assert client.versions.diff(ds.id, v1.id, v2.id)["added"] == ["b"]
    assert client.versions.deprecate(ds.id, v1.id).status == "deprecated"
    client.versions.delete(ds.id, v2.id)
    with pytest.raises(loam.NotFoundError):
        client.versions.get(ds.id, v2.id)


def test_anonymization(client: loam.Client, unique: str) -> None:
    found = client.anonymization.analyze(text="Mail ada@example.com")
    assert any(e["type"] == "EMAIL_ADDRESS" for e in found["entities"])
    masked = client.anonymization.anonymize(
        text="Mail ada@example.com", operators={"EMAIL_ADDRESS": {"type": "mask", "keep_last": 4}}
    )
    assert masked["text"].endswith(".com") and "ada@" not in masked["text"]
    table = [{"age": 30 + i % 4, "zip": f"9410{i % 2}", "diagnosis": "flu" if i % 2 else "cold"} for i in range(8)]
    k = client.anonymization.anonymize(
        records=table, privacy_model={"k": 2, "quasi_identifiers": [{"field": "age", "type": "number"}, {"field": "zip", "type": "postcode"}]}
    )
    assert k["privacy"]["satisfied"] is True
    report = client.anonymization.validate(records=table, quasi_identifiers=["zip", "age"], k=2)
    assert "k_satisfied" in report
    tok = client.anonymization.anonymize(text="Mail ada@example.com", operators={"EMAIL_ADDRESS": {"type": "tokenize"}})
    assert client.anonymization.deanonymize(text=tok["text"])["text"] == "Mail ada@example.com"
    assert any(t["name"] == "mask" for t in client.anonymization.techniques())
    client.anonymization.set_budget(f"b-{unique}", 2)
    agg = client.anonymization.aggregate(budget=f"b-{unique}", records=table, query={"type": "count", "epsilon": 0.5})
    assert "value" in agg
    assert client.anonymization.budget(f"b-{unique}")["epsilon_remaining"] == pytest.approx(1.5)
    assert isinstance(client.anonymization.metrics(), dict)
    rec = client.anonymization.recognizers.create(name=f"emp-{unique}", entity_type="EMPLOYEE_ID", patterns=[{"regex": "E-\\d{6}", "score": 0.8}])
    assert client.anonymization.recognizers.get(rec.id).name == f"emp-{unique}"
    assert rec.id in [r.id for r in client.anonymization.recognizers.list()]
    assert client.anonymization.recognizers.update(rec.id, context=["employee"]).context == ["employee"]
    client.anonymization.recognizers.delete(rec.id)

    ds = client.datasets.create(name=f"anon-{unique}", schema=SCHEMA)
    ds.records.insert_many(rows(6))
    job = client.datasets.anonymize(ds.id, {"operators": {"EMAIL_ADDRESS": {"type": "mask", "keep_last": 4}}}, name=f"anon-{unique}-out")
    done = client.jobs.wait(job.id)
    derived = client.datasets.get(done.result["dataset_id"])
    assert derived.record_count == 6
    assert "value" in client.datasets.aggregate(ds.id, {"type": "count", "epsilon": 0.1})


def test_api_keys_and_auth_errors(client: loam.Client, server, unique: str) -> None:
    created = client.api_keys.create(f"key-{unique}", ["datasets:read"])
    assert created.key and created.key.startswith("loam_")
    assert client.api_keys.get(created.id).name == f"key-{unique}"
    assert created.id in [k.id for k in client.api_keys.list(limit=1)]
    reader = loam.Client(api_key=created.key, base_url=server["url"])
    with pytest.raises(loam.PermissionDeniedError) as denied:
        reader.datasets.create(name=f"nope-{unique}")
    assert denied.value.status == 403 and denied.value.request_id
    rotated = client.api_keys.rotate(created.id)
    assert rotated.key != created.key
    with pytest.raises(loam.AuthenticationError):
        reader.datasets.list().first_page()
    client.api_keys.revoke(created.id)
    assert client.api_keys.get(created.id).revoked_at is not None


def test_policies(client: loam.Client, unique: str) -> None:
    p = client.policies.create(f"pol-{unique}", 'forbid(principal, action, resource) when { resource.classification == "restricted" };')
    assert p.effect == "forbid" and p.version == 1
    assert client.policies.get(p.id).name == f"pol-{unique}"
    assert p.id in [x.id for x in client.policies.list()]
    assert client.policies.update(p.id, description="reviewed").version == 2
    assert client.policies.replace(p.id, f"pol-{unique}", "permit(principal, action, resource);").effect == "permit"
    assert "schema" in client.policies.schema()
    with pytest.raises(loam.BadRequestError):
        client.policies.create(f"bad-{unique}", "this is not cedar")
    client.policies.delete(p.id)


def test_audit_logs(client: loam.Client) -> None:
    entries = client.audit_logs.list(limit=5).first_page()
    assert entries.items
    assert client.audit_logs.get(entries.items[0].id).hash == entries.items[0].hash
    assert client.audit_logs.verify()["valid"] is True


def test_whoami_and_content(client: loam.Client) -> None:
    assert client.whoami()["kind"] == "api_key"
    assert isinstance(client.content.stats(), dict)
    assert isinstance(client.content.search("anything"), list)
    assert "secret" in json.dumps(client.content.callback_secret())


def test_error_families(client: loam.Client, unique: str) -> None:
    with pytest.raises(loam.ValidationError) as bad:
        client.datasets.create(name="")
    assert bad.value.status == 400 and bad.value.errors and bad.value.request_id
    assert bad.value.type and bad.value.type.startswith("https://")
    client.datasets.create(name=f"dup-{unique}")
    with pytest.raises(loam.ConflictError) as conflict:
        client.datasets.create(name=f"dup-{unique}")
    assert conflict.value.code
    with pytest.raises(loam.NotFoundError) as missing:
        client.records.get("ds_missing", "r1")
    assert missing.value.status == 404 and missing.value.instance


def test_retries_503_then_429_retry_after(client: loam.Client, flaky, server, unique: str) -> None:
    flaky.script = [503, (429, "1")]
    c = loam.Client(api_key=server["api_key"], base_url=flaky.url, max_retries=2)
    ds = c.datasets.create(name=f"retry-{unique}")
    posts = [h for h in flaky.seen if h[":method"] == "POST"]
    assert len(posts) == 3
    assert len({h["idempotency-key"] for h in posts}) == 1  # one key for all attempts
    assert client.datasets.get(ds.id).name == f"retry-{unique}"
    assert len([d for d in client.datasets.list() if d.name == f"retry-{unique}"]) == 1


def test_errors_after_retries(flaky, server) -> None:
    c = loam.Client(api_key=server["api_key"], base_url=flaky.url, max_retries=1)
    flaky.script = [(429, "0"), (429, "2")]
    with pytest.raises(loam.RateLimitError) as limited:
        c.datasets.list().first_page()
    assert limited.value.retry_after == 2 and limited.value.request_id == "req_proxy"
    flaky.script = [500]
    with pytest.raises(loam.InternalServerError):
        c.whoami() if False else c.request("GET", "/api/v1/whoami", max_retries=0)
    with pytest.raises(loam.APIConnectionError):
        loam.Client(api_key="x", base_url="http://127.0.0.1:9", max_retries=0).whoami()


def test_environment_configuration(server, monkeypatch) -> None:
    monkeypatch.setenv("LOAM_API_KEY", server["api_key"])
    monkeypatch.setenv("LOAM_API_BASE_URL", server["url"])
    monkeypatch.setenv("LOAM_MAX_RETRIES", "0")
    c = loam.Client()
    assert c.base_url == server["url"] and c.max_retries == 0
    assert c.whoami()["kind"] == "api_key"


def test_async_client(server, unique: str) -> None:
    async def run() -> None:
        async with loam.AsyncClient(api_key=server["api_key"], base_url=server["url"]) as c:
            ds = await c.datasets.create(name=f"async-{unique}", schema=SCHEMA)
            await ds.records.insert_many(rows(5))
            ages = [r.data["age"] async for r in c.records.iterate(ds.id, filter={"age": {"$gte": 21}}, limit=2)]
            assert ages == [21, 22, 23, 24]
            npages = 0
            async for _ in c.records.query(ds.id, limit=2).pages():
                npages += 1
            assert npages == 3
            body = b"".join([chunk async for chunk in c.records.download(ds.id, format="csv")])
            assert body.decode().count("\n") == 6
            with pytest.raises(loam.NotFoundError):
                await c.datasets.get("ds_missing")
            imp = await c.records.import_(ds.id, [{"id": "z", "email": "z@example.com"}], wait=True)
            assert imp.processed == 1

    asyncio.run(run())


def test_admin(client: loam.Client, unique: str) -> None:
    email = f"admin-{unique}@example.com"
    client.request("POST", "/auth/signup", json={"email": email, "password": "correct horse battery staple"}, unwrap=False)
    mail = client.admin.mailbox.list(to=email, limit=1)
    assert [m.to for m in mail] == [email]
    user = next(u for u in client.admin.users.list(limit=100) if u.email == email)
    assert user.status == "unconfirmed"
    assert client.admin.users.get(user.id).email == email
    changed = client.admin.users.update(user.id, roles=["analyst"], status="disabled")
    assert changed.roles == ["analyst"] and changed.status == "disabled"
    with pytest.raises(loam.NotFoundError):
        client.admin.users.get("usr_missing")
    assert isinstance(client.admin.signing_keys.list(), list)
    with pytest.raises(loam.ConflictError):  # the test server signs with HS256: no key to rotate
        client.admin.signing_keys.rotate()
    assert "database" in [c["name"] for c in client.admin.health()["components"]]
    assert isinstance(client.admin.rotate_master_key()["rewrapped"], int)
