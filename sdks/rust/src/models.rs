//! `serde` types of Loam's resources. Unknown fields are ignored; free-form results are `serde_json::Value`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub type Json = serde_json::Map<String, Value>;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SchemaField {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<String>,
}

impl SchemaField {
    pub fn new(name: &str, type_: &str) -> SchemaField {
        SchemaField { name: name.into(), type_: type_.into(), required: false, pii: None }
    }
    pub fn required(mut self) -> SchemaField {
        self.required = true;
        self
    }
    pub fn pii(mut self, kind: &str) -> SchemaField {
        self.pii = Some(kind.into());
        self
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DatasetSchema {
    #[serde(default)]
    pub fields: Vec<SchemaField>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dataset {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub schema: DatasetSchema,
    pub metadata: Value,
    pub tags: Vec<String>,
    pub classification: String,
    pub status: String,
    pub owner: Option<String>,
    pub record_count: u64,
    pub draft_number: u64,
    pub latest_version_id: Option<String>,
    pub derived_from: Option<Value>,
    pub insert_policy: Option<Value>,
    pub encrypted_fields: Vec<String>,
    pub resource_version: u64,
    pub created_at: String,
    pub updated_at: String,
    pub archived_at: Option<String>,
}

/// The body of `datasets().create`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateDataset {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<DatasetSchema>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insert_policy: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DatasetVersion {
    pub id: String,
    pub dataset_id: String,
    pub number: u64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub status: String,
    pub record_count: u64,
    pub checksum: String,
    pub schema: DatasetSchema,
    pub resource_version: u64,
    pub created_at: String,
    pub updated_at: String,
    pub deprecated_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VersionDiff {
    pub from: String,
    pub to: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub modified: Vec<String>,
    pub changes: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Record {
    pub id: String,
    pub data: Json,
    pub revision: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A record to insert; `id` is generated when None.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub data: Value,
}

impl NewRecord {
    pub fn new(data: Value) -> NewRecord {
        NewRecord { id: None, data }
    }
    pub fn with_id(id: &str, data: Value) -> NewRecord {
        NewRecord { id: Some(id.into()), data }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InsertResult {
    pub inserted: u64,
    pub ids: Vec<String>,
}

/// What records are selected: a `$`-filter, sort, projection, version; `limit` is the page size.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub count: bool,
}

impl RecordQuery {
    pub fn filter(filter: Value) -> RecordQuery {
        RecordQuery { filter: Some(filter), ..RecordQuery::default() }
    }
    pub fn limit(mut self, limit: u32) -> RecordQuery {
        self.limit = Some(limit);
        self
    }
    pub fn sort(mut self, sort: &str) -> RecordQuery {
        self.sort = Some(sort.into());
        self
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub result: Value,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

/// The body of `records().export`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct ExportJob {
    pub job: Job,
    pub export_id: String,
}

#[derive(Debug, Clone)]
pub struct ImportJob {
    pub job: Job,
    pub import_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DatasetExport {
    pub id: String,
    pub dataset_id: String,
    pub version_id: Option<String>,
    pub format: String,
    pub status: String,
    pub record_count: u64,
    pub bytes: u64,
    pub job_id: String,
    pub download_url: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DatasetImport {
    pub id: String,
    pub dataset_id: String,
    pub format: String,
    pub status: String,
    pub total: u64,
    pub processed: u64,
    pub failed: u64,
    pub job_id: String,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ImportError {
    pub line: u64,
    pub field: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DatasetIndex {
    pub id: String,
    pub field: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
    pub tenant_id: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The secret: only in the answers of `create` and `rotate`.
    pub key: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateApiKey {
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub effect: String,
    pub policy: String,
    pub version: u64,
    pub tenant_id: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The body of `policies().create` and `policies().replace`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyParams {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub policy: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuditEntry {
    pub id: String,
    pub seq: u64,
    pub event_id: String,
    pub time: String,
    pub action: String,
    pub actor: Option<String>,
    pub actor_kind: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub ip: Option<String>,
    pub decision: String,
    pub policy_ids: Vec<String>,
    pub reason: Option<String>,
    pub details: Value,
    pub tenant_id: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Recognizer {
    pub id: String,
    pub name: String,
    pub entity_type: String,
    pub patterns: Vec<Value>,
    pub context: Vec<String>,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}
