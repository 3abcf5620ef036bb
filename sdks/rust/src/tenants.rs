//! Tenants, for platform operators (`/api/v1/admin/tenants`; platform admins only).

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{seg, BoxStream, Client, Req};
use crate::error::Result;

impl Client {
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants { c: self }
    }
}

/// Create, list, change, suspend and erase tenants; read their usage.
pub struct Tenants<'a> {
    c: &'a Client,
}

impl<'a> Tenants<'a> {
    /// `tier`: free, standard or enterprise; `quotas`: e.g. `json!({"datasets": 100})`.
    pub async fn create(&self, id: &str, name: &str, tier: Option<&str>, quotas: Option<Value>) -> Result<Value> {
        let mut body = json!({ "id": id, "name": name });
        if let Some(t) = tier {
            body["tier"] = json!(t);
        }
        if let Some(q) = quotas {
            body["quotas"] = q;
        }
        self.c.request(Method::POST, "/api/v1/admin/tenants", Req::json(&body)).await
    }
    pub fn list(&self, limit: Option<u32>) -> BoxStream<'static, Result<Value>> {
        let req = Req::default().query("limit", limit.map(|l| l.to_string()));
        self.c.paginate(Method::GET, "/api/v1/admin/tenants".into(), req, None)
    }
    pub async fn get(&self, id: &str) -> Result<Value> {
        self.c.request(Method::GET, &format!("/api/v1/admin/tenants/{}", seg(id)), Req::default()).await
    }
    /// Name, tier, quotas (merged; null lifts one) or status (`suspended` / `active`).
    pub async fn update(&self, id: &str, changes: Value) -> Result<Value> {
        self.c.request(Method::PATCH, &format!("/api/v1/admin/tenants/{}", seg(id)), Req::json(&changes)).await
    }
    /// Starts the erasure job; `jobs().get(job_id)` reports what it removed.
    pub async fn erase(&self, id: &str) -> Result<Value> {
        self.c.request(Method::DELETE, &format!("/api/v1/admin/tenants/{}", seg(id)), Req::default()).await
    }
    pub async fn usage(&self, id: &str, days: Option<u32>) -> Result<Value> {
        let req = Req::default().query("days", days.map(|d| d.to_string()));
        self.c.request(Method::GET, &format!("/api/v1/admin/tenants/{}/usage", seg(id)), req).await
    }
}

impl Client {
    pub fn governance(&self) -> Governance<'_> {
        Governance { c: self }
    }
}

/// Compliance reports and policy evaluation.
pub struct Governance<'a> {
    c: &'a Client,
}

impl<'a> Governance<'a> {
    /// Controls of `report_type` (GDPR, HIPAA, SOC2) with status, evidence and remediation.
    pub async fn compliance_report(&self, report_type: Option<&str>, dataset_id: Option<&str>) -> Result<Value> {
        let req = Req::default()
            .query("report_type", report_type.map(str::to_string))
            .query("dataset_id", dataset_id.map(str::to_string));
        self.c.request(Method::GET, "/api/v1/governance/compliance-report", req).await
    }
    /// The decision the access check would make for `request` (`{subject?, resource, action, context?}`).
    pub async fn evaluate(&self, request: Value) -> Result<Value> {
        self.c.request(Method::POST, "/api/v1/policies/evaluate", Req::json(&request)).await
    }
    /// Datasets you may read whose name, description, tags or field names contain `query`, with their versions.
    pub async fn catalog(&self, query: Option<&str>, limit: Option<u32>) -> Result<Value> {
        let req = Req::default()
            .query("query", query.map(str::to_string))
            .query("limit", limit.map(|l| l.to_string()));
        self.c.request(Method::GET, "/api/v1/catalog/datasets", req).await
    }
    /// The required techniques and PII fields of a dataset; `request` is `{dataset_id, record_schema?}`.
    pub async fn anonymization_requirements(&self, request: Value) -> Result<Value> {
        self.c.request(Method::POST, "/api/v1/policies/anonymization-requirements", Req::json(&request)).await
    }
    /// Records a custom analytics event (`{type, subject?, value?, properties?, time?}`) in your tenant.
    pub async fn record_event(&self, event: Value) -> Result<Value> {
        self.c.request(Method::POST, "/api/v1/analytics/events", Req::json(&event)).await
    }
    /// Your tenant's analytics events, filtered by `event_type` and `subject`.
    pub fn list_events(&self, event_type: Option<&str>, subject: Option<&str>, limit: Option<u32>) -> BoxStream<'static, Result<Value>> {
        let req = Req::default()
            .query("type", event_type.map(str::to_string))
            .query("subject", subject.map(str::to_string))
            .query("limit", limit.map(|l| l.to_string()));
        self.c.paginate(Method::GET, "/api/v1/analytics/events".into(), req, None)
    }
    /// The instance's operational metrics as JSON (platform admins).
    pub async fn metrics(&self) -> Result<Value> {
        self.c.request(Method::GET, "/api/v1/admin/metrics", Req::default()).await
    }
}
