//! Resources: one struct per API area, one method per endpoint, mirroring @loam/sdk.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{seg, BoxStream, Client, Req};
use crate::error::{Error, Result};
use crate::models::*;

/// The server's per-call limit: larger inserts are split into calls of this size.
pub const MAX_RECORDS_PER_CALL: usize = 10_000;

impl Client {
    pub fn datasets(&self) -> Datasets<'_> {
        Datasets { c: self }
    }
    pub fn versions(&self) -> Versions<'_> {
        Versions { c: self }
    }
    pub fn records(&self) -> Records<'_> {
        Records { c: self }
    }
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs { c: self }
    }
    pub fn anonymization(&self) -> Anonymization<'_> {
        Anonymization { c: self }
    }
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys { c: self }
    }
    pub fn policies(&self) -> Policies<'_> {
        Policies { c: self }
    }
    pub fn audit_logs(&self) -> AuditLogs<'_> {
        AuditLogs { c: self }
    }
    pub fn content(&self) -> Content<'_> {
        Content { c: self }
    }

    /// The caller as Loam sees it (tenant, subject, scopes, roles).
    pub async fn whoami(&self) -> Result<Value> {
        self.request(Method::GET, "/api/v1/whoami", Req::default()).await
    }
}

fn last_segment(link: Option<&String>, what: &str) -> Result<String> {
    link.and_then(|l| l.split('?').next())
        .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
        .filter(|s| !s.is_empty())
        .map(String::from)
        .ok_or_else(|| Error::Decode(format!("the server did not say where the {} is", what)))
}

/// Private datasets (`/api/v1/datasets`).
pub struct Datasets<'a> {
    c: &'a Client,
}

impl<'a> Datasets<'a> {
    pub async fn create(&self, params: CreateDataset) -> Result<Dataset> {
        self.c.request(Method::POST, "/api/v1/datasets", Req::json(&params)).await
    }
    /// Every dataset, page by page as the stream is polled. `limit` is the page size.
    pub fn list(&self, tag: Option<&str>, limit: Option<u32>) -> BoxStream<'static, Result<Dataset>> {
        let req = Req::default().query("tag", tag.map(String::from)).query("limit", limit.map(|l| l.to_string()));
        self.c.paginate(Method::GET, "/api/v1/datasets".into(), req, None)
    }
    pub async fn get(&self, id: &str) -> Result<Dataset> {
        self.c.request(Method::GET, &format!("/api/v1/datasets/{}", seg(id)), Req::default()).await
    }
    /// Changes the keys given (`description`, `schema`, `tags`, …).
    pub async fn update(&self, id: &str, changes: Value) -> Result<Dataset> {
        self.c.request(Method::PATCH, &format!("/api/v1/datasets/{}", seg(id)), Req::json(&changes)).await
    }
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/datasets/{}", seg(id)), Req::default()).await.map(|_| ())
    }
    pub async fn archive(&self, id: &str) -> Result<Dataset> {
        self.c.request(Method::POST, &format!("/api/v1/datasets/{}/archive", seg(id)), Req::json(&json!({}))).await
    }
    pub async fn restore(&self, id: &str) -> Result<Dataset> {
        self.c.request(Method::POST, &format!("/api/v1/datasets/{}/restore", seg(id)), Req::json(&json!({}))).await
    }
    pub async fn stats(&self, id: &str, version: Option<&str>) -> Result<Value> {
        let req = Req::default().query("version", version.map(String::from));
        self.c.request(Method::GET, &format!("/api/v1/datasets/{}/stats", seg(id)), req).await
    }
    pub async fn lineage(&self, id: &str) -> Result<Value> {
        self.c.request(Method::GET, &format!("/api/v1/datasets/{}/lineage", seg(id)), Req::default()).await
    }
    /// Anonymizes a version into a new derived dataset: `{policy, version?, name?}`; answers the job.
    pub async fn anonymize(&self, id: &str, body: Value) -> Result<Job> {
        self.c.request(Method::POST, &format!("/api/v1/datasets/{}/anonymize", seg(id)), Req::json(&body)).await
    }
    /// A differentially private aggregate: `{query, version?}`.
    pub async fn aggregate(&self, id: &str, body: Value) -> Result<Value> {
        self.c.request(Method::POST, &format!("/api/v1/datasets/{}/aggregate", seg(id)), Req::json(&body)).await
    }
    pub async fn create_index(&self, id: &str, field: &str) -> Result<DatasetIndex> {
        self.c.request(Method::POST, &format!("/api/v1/datasets/{}/indexes", seg(id)), Req::json(&json!({ "field": field }))).await
    }
    pub async fn list_indexes(&self, id: &str) -> Result<Vec<DatasetIndex>> {
        self.c.request(Method::GET, &format!("/api/v1/datasets/{}/indexes", seg(id)), Req::default()).await
    }
    pub async fn delete_index(&self, id: &str, index_id: &str) -> Result<()> {
        let path = format!("/api/v1/datasets/{}/indexes/{}", seg(id), seg(index_id));
        self.c.send(Method::DELETE, &path, Req::default()).await.map(|_| ())
    }
}

/// Immutable dataset versions.
pub struct Versions<'a> {
    c: &'a Client,
}

impl<'a> Versions<'a> {
    /// Finalizes the working draft: `{name?, description?, tags?}`.
    pub async fn create(&self, dataset_id: &str, body: Value) -> Result<DatasetVersion> {
        self.c.request(Method::POST, &format!("/api/v1/datasets/{}/versions", seg(dataset_id)), Req::json(&body)).await
    }
    pub fn list(&self, dataset_id: &str, limit: Option<u32>) -> BoxStream<'static, Result<DatasetVersion>> {
        let req = Req::default().query("limit", limit.map(|l| l.to_string()));
        self.c.paginate(Method::GET, format!("/api/v1/datasets/{}/versions", seg(dataset_id)), req, None)
    }
    pub async fn get(&self, dataset_id: &str, version_id: &str) -> Result<DatasetVersion> {
        let path = format!("/api/v1/datasets/{}/versions/{}", seg(dataset_id), seg(version_id));
        self.c.request(Method::GET, &path, Req::default()).await
    }
    pub async fn update(&self, dataset_id: &str, version_id: &str, changes: Value) -> Result<DatasetVersion> {
        let path = format!("/api/v1/datasets/{}/versions/{}", seg(dataset_id), seg(version_id));
        self.c.request(Method::PATCH, &path, Req::json(&changes)).await
    }
    pub async fn delete(&self, dataset_id: &str, version_id: &str) -> Result<()> {
        let path = format!("/api/v1/datasets/{}/versions/{}", seg(dataset_id), seg(version_id));
        self.c.send(Method::DELETE, &path, Req::default()).await.map(|_| ())
    }
    /// Finalizes a draft version (one created with `{"draft": true}`): its record count and checksum are fixed.
    pub async fn finalize(&self, dataset_id: &str, version_id: &str) -> Result<DatasetVersion> {
        let path = format!("/api/v1/datasets/{}/versions/{}/finalize", seg(dataset_id), seg(version_id));
        self.c.request(Method::POST, &path, Req::json(&json!({}))).await
    }
    pub async fn deprecate(&self, dataset_id: &str, version_id: &str) -> Result<DatasetVersion> {
        let path = format!("/api/v1/datasets/{}/versions/{}/deprecate", seg(dataset_id), seg(version_id));
        self.c.request(Method::POST, &path, Req::json(&json!({}))).await
    }
    pub async fn diff(&self, dataset_id: &str, version_id: &str, other: &str, fields: bool) -> Result<VersionDiff> {
        let path = format!("/api/v1/datasets/{}/versions/{}/diff/{}", seg(dataset_id), seg(version_id), seg(other));
        let req = Req::default().query("fields", if fields { Some("true".into()) } else { None });
        self.c.request(Method::GET, &path, req).await
    }
}

/// Asynchronous work (`/api/v1/jobs/{id}`).
pub struct Jobs<'a> {
    c: &'a Client,
}

impl<'a> Jobs<'a> {
    pub async fn get(&self, id: &str) -> Result<Job> {
        self.c.request(Method::GET, &format!("/api/v1/jobs/{}", seg(id)), Req::default()).await
    }
    /// Polls until the job succeeds (returns it) or dies (`Error::JobFailed`).
    pub async fn wait(&self, id: &str) -> Result<Job> {
        loop {
            let job = self.get(id).await?;
            match job.status.as_str() {
                "succeeded" => return Ok(job),
                "dead" => {
                    return Err(Error::JobFailed(format!("job {} ({}): {}", job.id, job.kind, job.last_error.unwrap_or_default())))
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
}

/// Records of a dataset.
pub struct Records<'a> {
    c: &'a Client,
}

impl<'a> Records<'a> {
    /// Inserts any number of records in atomic calls of at most 10,000, each with its own Idempotency-Key.
    pub async fn insert_many(&self, dataset_id: &str, records: &[NewRecord]) -> Result<InsertResult> {
        self.insert_many_chunked(dataset_id, records, MAX_RECORDS_PER_CALL).await
    }
    pub async fn insert_many_chunked(&self, dataset_id: &str, records: &[NewRecord], chunk_size: usize) -> Result<InsertResult> {
        let size = chunk_size.clamp(1, MAX_RECORDS_PER_CALL);
        let path = format!("/api/v1/datasets/{}/records", seg(dataset_id));
        let mut total = InsertResult::default();
        for chunk in records.chunks(size) {
            let done: InsertResult = self.c.request(Method::POST, &path, Req::json(&chunk)).await?;
            total.inserted += done.inserted;
            total.ids.extend(done.ids);
        }
        Ok(total)
    }
    pub async fn get(&self, dataset_id: &str, record_id: &str) -> Result<Record> {
        let path = format!("/api/v1/datasets/{}/records/{}", seg(dataset_id), seg(record_id));
        self.c.request(Method::GET, &path, Req::default()).await
    }
    /// Merges `data` into the record (a null removes a field); `if_match` fails with 412 on a concurrent change.
    pub async fn update(&self, dataset_id: &str, record_id: &str, data: Value, if_match: Option<&str>) -> Result<Record> {
        let path = format!("/api/v1/datasets/{}/records/{}", seg(dataset_id), seg(record_id));
        let mut req = Req::json(&json!({ "data": data }));
        if let Some(tag) = if_match {
            req.headers.push(("if-match".into(), tag.into()));
        }
        self.c.request(Method::PATCH, &path, req).await
    }
    pub async fn delete(&self, dataset_id: &str, record_id: &str) -> Result<()> {
        let path = format!("/api/v1/datasets/{}/records/{}", seg(dataset_id), seg(record_id));
        self.c.send(Method::DELETE, &path, Req::default()).await.map(|_| ())
    }
    /// `POST …/records/query`: every match, page by page as the stream is polled.
    pub fn query(&self, dataset_id: &str, query: RecordQuery) -> BoxStream<'static, Result<Record>> {
        let body = serde_json::to_value(&query).unwrap_or_else(|_| json!({}));
        self.c.paginate(Method::POST, format!("/api/v1/datasets/{}/records/query", seg(dataset_id)), Req::default(), Some(body))
    }
    /// The same as [`Records::query`] (the name the other SDKs use for walking every match).
    pub fn iterate(&self, dataset_id: &str, query: RecordQuery) -> BoxStream<'static, Result<Record>> {
        self.query(dataset_id, query)
    }
    /// `GET …/records?filter=<json>`.
    pub fn list(&self, dataset_id: &str, query: RecordQuery) -> BoxStream<'static, Result<Record>> {
        let req = Req::default()
            .query("filter", query.filter.as_ref().map(|f| f.to_string()))
            .query("sort", query.sort.clone())
            .query("fields", if query.fields.is_empty() { None } else { Some(query.fields.join(",")) })
            .query("version", query.version.clone())
            .query("limit", query.limit.map(|l| l.to_string()));
        self.c.paginate(Method::GET, format!("/api/v1/datasets/{}/records", seg(dataset_id)), req, None)
    }
    /// First page only, with `total_count` when `query.count` is set.
    pub async fn query_page(&self, dataset_id: &str, query: RecordQuery) -> Result<crate::client::Page<Record>> {
        let path = format!("/api/v1/datasets/{}/records/query", seg(dataset_id));
        self.c.page(Method::POST, &path, Req::json(&query)).await
    }
    pub async fn export(&self, dataset_id: &str, params: ExportParams) -> Result<ExportJob> {
        let path = format!("/api/v1/datasets/{}/records/export", seg(dataset_id));
        let env = self.c.envelope(Method::POST, &path, Req::json(&params)).await?;
        let export_id = last_segment(env.links.get("export"), "export")?;
        let job = serde_json::from_value(env.data).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(ExportJob { job, export_id })
    }
    pub async fn get_export(&self, export_id: &str) -> Result<DatasetExport> {
        self.c.request(Method::GET, &format!("/api/v1/exports/{}", seg(export_id)), Req::default()).await
    }
    /// The bytes of a finished export, as a stream of chunks.
    pub async fn download_export(&self, export_id: &str) -> Result<BoxStream<'static, Result<Bytes>>> {
        self.c.stream_bytes(&format!("/api/v1/exports/{}/download", seg(export_id))).await
    }
    /// Exports, waits for the file and streams its bytes.
    pub async fn download(&self, dataset_id: &str, params: ExportParams) -> Result<BoxStream<'static, Result<Bytes>>> {
        let exp = self.export(dataset_id, params).await?;
        self.c.jobs().wait(&exp.job.id).await?;
        self.download_export(&exp.export_id).await
    }
    /// Imports NDJSON (`format` "ndjson") or CSV ("csv") bytes as a job.
    pub async fn import(&self, dataset_id: &str, data: impl Into<Bytes>, format: &str, id_field: Option<&str>) -> Result<ImportJob> {
        let ctype = if format == "csv" { "text/csv" } else { "application/x-ndjson" };
        let req = Req { body: Some((data.into(), ctype.into())), ..Req::default() }.query("id_field", id_field.map(String::from));
        let env = self.c.envelope(Method::POST, &format!("/api/v1/datasets/{}/records/import", seg(dataset_id)), req).await?;
        let import_id = last_segment(env.links.get("import"), "import")?;
        let job = serde_json::from_value(env.data).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(ImportJob { job, import_id })
    }
    /// Imports and polls until the import has finished.
    pub async fn import_and_wait(&self, dataset_id: &str, data: impl Into<Bytes>, format: &str) -> Result<DatasetImport> {
        let started = self.import(dataset_id, data, format, None).await?;
        loop {
            let imp = self.get_import(dataset_id, &started.import_id).await?;
            match imp.status.as_str() {
                "succeeded" => return Ok(imp),
                "failed" => return Err(Error::JobFailed(format!("import {}: {}", imp.id, imp.error.unwrap_or_default()))),
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
    pub async fn get_import(&self, dataset_id: &str, import_id: &str) -> Result<DatasetImport> {
        let path = format!("/api/v1/datasets/{}/imports/{}", seg(dataset_id), seg(import_id));
        self.c.request(Method::GET, &path, Req::default()).await
    }
    pub fn import_errors(&self, dataset_id: &str, import_id: &str) -> BoxStream<'static, Result<ImportError>> {
        let path = format!("/api/v1/datasets/{}/imports/{}/errors", seg(dataset_id), seg(import_id));
        self.c.paginate(Method::GET, path, Req::default(), None)
    }
}

/// PII detection, anonymization and privacy models; bodies are the server's JSON.
pub struct Anonymization<'a> {
    c: &'a Client,
}

impl<'a> Anonymization<'a> {
    async fn post(&self, sub: &str, body: Value) -> Result<Value> {
        self.c.request(Method::POST, &format!("/api/v1/anonymization{}", sub), Req::json(&body)).await
    }
    pub async fn analyze(&self, body: Value) -> Result<Value> {
        self.post("/analyze", body).await
    }
    /// Masks, replaces, … the PII found; `records` + `privacy_model` k-anonymizes a table.
    pub async fn anonymize(&self, body: Value) -> Result<Value> {
        self.post("/anonymize", body).await
    }
    pub async fn deanonymize(&self, body: Value) -> Result<Value> {
        self.post("/deanonymize", body).await
    }
    pub async fn validate(&self, body: Value) -> Result<Value> {
        self.post("/validate", body).await
    }
    pub async fn aggregate(&self, body: Value) -> Result<Value> {
        self.post("/aggregate", body).await
    }
    pub async fn techniques(&self) -> Result<Vec<Value>> {
        self.c.request(Method::GET, "/api/v1/anonymization/techniques", Req::default()).await
    }
    pub async fn budget(&self, subject: &str) -> Result<Value> {
        self.c.request(Method::GET, &format!("/api/v1/anonymization/budgets/{}", seg(subject)), Req::default()).await
    }
    pub async fn set_budget(&self, subject: &str, epsilon_total: f64) -> Result<Value> {
        let path = format!("/api/v1/anonymization/budgets/{}", seg(subject));
        self.c.request(Method::PUT, &path, Req::json(&json!({ "epsilon_total": epsilon_total }))).await
    }
    pub async fn metrics(&self) -> Result<Value> {
        self.c.request(Method::GET, "/api/v1/anonymization/metrics", Req::default()).await
    }
    pub fn recognizers(&self) -> Recognizers<'a> {
        Recognizers { c: self.c }
    }
}

/// Tenant-defined PII recognizers.
pub struct Recognizers<'a> {
    c: &'a Client,
}

impl<'a> Recognizers<'a> {
    pub async fn list(&self) -> Result<Vec<Recognizer>> {
        self.c.request(Method::GET, "/api/v1/anonymization/recognizers", Req::default()).await
    }
    /// `{name, entity_type, patterns: [{regex, score}], context?}`.
    pub async fn create(&self, body: Value) -> Result<Recognizer> {
        self.c.request(Method::POST, "/api/v1/anonymization/recognizers", Req::json(&body)).await
    }
    pub async fn get(&self, id: &str) -> Result<Recognizer> {
        self.c.request(Method::GET, &format!("/api/v1/anonymization/recognizers/{}", seg(id)), Req::default()).await
    }
    pub async fn update(&self, id: &str, changes: Value) -> Result<Recognizer> {
        self.c.request(Method::PATCH, &format!("/api/v1/anonymization/recognizers/{}", seg(id)), Req::json(&changes)).await
    }
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/anonymization/recognizers/{}", seg(id)), Req::default()).await.map(|_| ())
    }
}

/// Tenant API keys.
pub struct ApiKeys<'a> {
    c: &'a Client,
}

impl<'a> ApiKeys<'a> {
    /// The secret (`key`) is returned this once.
    pub async fn create(&self, params: CreateApiKey) -> Result<ApiKey> {
        self.c.request(Method::POST, "/api/v1/api-keys", Req::json(&params)).await
    }
    pub fn list(&self, limit: Option<u32>) -> BoxStream<'static, Result<ApiKey>> {
        self.c.paginate(Method::GET, "/api/v1/api-keys".into(), Req::default().query("limit", limit.map(|l| l.to_string())), None)
    }
    pub async fn get(&self, id: &str) -> Result<ApiKey> {
        self.c.request(Method::GET, &format!("/api/v1/api-keys/{}", seg(id)), Req::default()).await
    }
    pub async fn revoke(&self, id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/api-keys/{}", seg(id)), Req::default()).await.map(|_| ())
    }
    /// Replaces the secret (the old one stops working).
    pub async fn rotate(&self, id: &str) -> Result<ApiKey> {
        self.c.request(Method::POST, &format!("/api/v1/api-keys/{}/rotate", seg(id)), Req::default()).await
    }
}

/// Cedar access policies.
pub struct Policies<'a> {
    c: &'a Client,
}

impl<'a> Policies<'a> {
    pub async fn create(&self, params: PolicyParams) -> Result<Policy> {
        self.c.request(Method::POST, "/api/v1/admin/policies", Req::json(&params)).await
    }
    pub fn list(&self, limit: Option<u32>) -> BoxStream<'static, Result<Policy>> {
        let req = Req::default().query("limit", limit.map(|l| l.to_string()));
        self.c.paginate(Method::GET, "/api/v1/admin/policies".into(), req, None)
    }
    pub async fn get(&self, id: &str) -> Result<Policy> {
        self.c.request(Method::GET, &format!("/api/v1/admin/policies/{}", seg(id)), Req::default()).await
    }
    pub async fn update(&self, id: &str, changes: Value) -> Result<Policy> {
        self.c.request(Method::PATCH, &format!("/api/v1/admin/policies/{}", seg(id)), Req::json(&changes)).await
    }
    pub async fn replace(&self, id: &str, params: PolicyParams) -> Result<Policy> {
        self.c.request(Method::PUT, &format!("/api/v1/admin/policies/{}", seg(id)), Req::json(&params)).await
    }
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/admin/policies/{}", seg(id)), Req::default()).await.map(|_| ())
    }
    pub async fn schema(&self) -> Result<Value> {
        self.c.request(Method::GET, "/api/v1/admin/policies/schema", Req::default()).await
    }
}

/// The hash-chained audit log.
pub struct AuditLogs<'a> {
    c: &'a Client,
}

impl<'a> AuditLogs<'a> {
    /// Entries, oldest first; `filters` are query pairs such as `("action", "access.denied")`.
    pub fn list(&self, filters: &[(&str, &str)], limit: Option<u32>) -> BoxStream<'static, Result<AuditEntry>> {
        let mut req = Req::default().query("limit", limit.map(|l| l.to_string()));
        for (k, v) in filters {
            req.query.push((k.to_string(), v.to_string()));
        }
        self.c.paginate(Method::GET, "/api/v1/admin/audit-logs".into(), req, None)
    }
    pub async fn get(&self, id: &str) -> Result<AuditEntry> {
        self.c.request(Method::GET, &format!("/api/v1/admin/audit-logs/{}", seg(id)), Req::default()).await
    }
    pub async fn verify(&self) -> Result<Value> {
        self.c.request(Method::POST, "/api/v1/admin/audit-logs/verify", Req::json(&json!({}))).await
    }
}

/// The `/api/v1` parts of content.
pub struct Content<'a> {
    c: &'a Client,
}

impl<'a> Content<'a> {
    pub async fn stats(&self) -> Result<Value> {
        self.c.request(Method::GET, "/api/v1/content/stats", Req::default()).await
    }
    pub async fn search(&self, q: &str, limit: Option<u32>) -> Result<Vec<Value>> {
        let req = Req::default().query("q", Some(q.to_string())).query("limit", limit.map(|l| l.to_string()));
        self.c.request(Method::GET, "/api/v1/content/search", req).await
    }
    pub async fn callback_secret(&self) -> Result<Value> {
        self.c.request(Method::GET, "/api/v1/content/callback-secret", Req::default()).await
    }
}
