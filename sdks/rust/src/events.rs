//! The event log (`/api/v1/events`) and webhook endpoints (`/api/v1/webhooks`).

use std::time::Duration;

use futures::stream::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{backoff_delay, seg, BoxStream, Client, Req};
use crate::error::{Error, Result};
use crate::sessions::SseDecoder;

const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);

/// Filters of lists and streams: `type_` patterns take `*` (comma-separated), times are RFC 3339.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub type_: Option<String>,
    pub subject: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl EventFilter {
    fn req(&self) -> Req {
        Req::default()
            .query("type", self.type_.clone())
            .query("subject", self.subject.clone())
            .query("since", self.since.clone())
            .query("until", self.until.clone())
    }
}

impl Client {
    pub fn events(&self) -> Events<'_> {
        Events { c: self }
    }
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { c: self }
    }
}

/// The tenant's events: catalogue, lists, a live stream that resumes by itself.
pub struct Events<'a> {
    c: &'a Client,
}

impl<'a> Events<'a> {
    /// Every event type with its data schema, version and retention.
    pub async fn types(&self) -> Result<Vec<Value>> {
        self.c.request(Method::GET, "/api/v1/events/types", Req::default()).await
    }
    /// The tenant's events (CloudEvents) in log order, page by page.
    pub fn list(&self, filter: &EventFilter) -> BoxStream<'static, Result<Value>> {
        self.c.paginate(Method::GET, "/api/v1/events".into(), filter.req(), None)
    }
    pub async fn get(&self, id: &str) -> Result<Value> {
        self.c.request(Method::GET, &format!("/api/v1/events/{}", seg(id)), Req::default()).await
    }
    /// Live events (after `after` when given), each once and in order; a dropped connection resumes with Last-Event-ID.
    pub fn stream(&self, filter: &EventFilter, after: Option<String>) -> BoxStream<'static, Result<Value>> {
        let client = self.c.clone();
        let url = format!("{}/api/v1/events/stream", self.c.base_url);
        let query: Vec<(&'static str, String)> = [("type", filter.type_.clone()), ("subject", filter.subject.clone()), ("since", filter.since.clone())]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        Box::pin(async_stream::stream! {
            let mut last = after;
            let mut attempt = 0u32;
            loop {
                let mut rb = client.http.get(&url).query(&query).header("accept", "text/event-stream");
                if let Some(k) = &client.api_key { rb = rb.header("x-api-key", k); }
                if let Some(l) = &last { rb = rb.header("last-event-id", l); }
                let failure = match tokio::time::timeout(client.timeout, rb.send()).await {
                    Err(_) => Error::Timeout("no answer in time".into()),
                    Ok(Err(e)) => Error::Connection(e.to_string()),
                    Ok(Ok(res)) if !res.status().is_success() => {
                        let status = res.status().as_u16();
                        let body = res.bytes().await.unwrap_or_default();
                        Error::from_response(status, &body, None, None)
                    }
                    Ok(Ok(res)) => {
                        attempt = 0;
                        let mut body = res.bytes_stream();
                        let mut decoder = SseDecoder::default();
                        let failure: Error;
                        'connection: loop {
                            let chunk = match tokio::time::timeout(client.timeout, body.next()).await {
                                Err(_) => { failure = Error::Timeout("the stream went silent".into()); break; }
                                Ok(None) => { failure = Error::Connection("the stream ended".into()); break; }
                                Ok(Some(Err(e))) => { failure = Error::Connection(format!("the stream broke: {}", e)); break; }
                                Ok(Some(Ok(chunk))) => chunk,
                            };
                            for ev in decoder.feed(&chunk) {
                                let v: Value = match serde_json::from_str(&ev.data) {
                                    Ok(v) => v,
                                    Err(e) => { failure = Error::Decode(e.to_string()); break 'connection; }
                                };
                                match ev.event.as_str() {
                                    "ready" => if last.is_none() { last = v.get("after").and_then(Value::as_str).map(String::from); },
                                    "error" => {
                                        let status = v.get("status").and_then(Value::as_u64).unwrap_or(500) as u16;
                                        failure = Error::from_response(status, ev.data.as_bytes(), None, None);
                                        break 'connection;
                                    }
                                    _ => {
                                        if let Some(p) = v.get("position").and_then(Value::as_str) { last = Some(p.to_string()); }
                                        yield Ok(v);
                                    }
                                }
                            }
                        }
                        failure
                    }
                };
                if !matches!(failure, Error::Connection(_) | Error::Timeout(_) | Error::Server(_) | Error::RateLimited { .. }) {
                    yield Err(failure);
                    break;
                }
                attempt += 1;
                tokio::time::sleep(backoff_delay(attempt.min(6)).min(MAX_RECONNECT_DELAY)).await;
            }
        })
    }
}

/// Webhook endpoints and their deliveries; the secret (`whsec_…`) is shown by `create` and `rotate_secret` only.
pub struct Webhooks<'a> {
    c: &'a Client,
}

impl<'a> Webhooks<'a> {
    /// `params`: the fields of CreateWebhook (`url`, `events`, `format`, …).
    pub async fn create(&self, params: Value) -> Result<Value> {
        self.c.request(Method::POST, "/api/v1/webhooks", Req::json(&params)).await
    }
    pub fn list(&self, limit: Option<u32>) -> BoxStream<'static, Result<Value>> {
        self.c.paginate(Method::GET, "/api/v1/webhooks".into(), Req::default().query("limit", limit.map(|l| l.to_string())), None)
    }
    pub async fn get(&self, id: &str) -> Result<Value> {
        self.c.request(Method::GET, &format!("/api/v1/webhooks/{}", seg(id)), Req::default()).await
    }
    pub async fn update(&self, id: &str, changes: Value) -> Result<Value> {
        self.c.request(Method::PATCH, &format!("/api/v1/webhooks/{}", seg(id)), Req::json(&changes)).await
    }
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/webhooks/{}", seg(id)), Req::default()).await.map(|_| ())
    }
    /// A new secret; the old one also signs for `grace_period_seconds`.
    pub async fn rotate_secret(&self, id: &str, grace_period_seconds: Option<u64>) -> Result<Value> {
        let body = json!({ "grace_period_seconds": grace_period_seconds });
        let body = if grace_period_seconds.is_none() { json!({}) } else { body };
        self.c.request(Method::POST, &format!("/api/v1/webhooks/{}/rotate-secret", seg(id)), Req::json(&body)).await
    }
    /// Deliveries, newest first, with their attempts (`status`: `failed` lists the dead letters).
    pub fn deliveries(&self, id: &str, status: Option<&str>) -> BoxStream<'static, Result<Value>> {
        let req = Req::default().query("status", status.map(String::from));
        self.c.paginate(Method::GET, format!("/api/v1/webhooks/{}/deliveries", seg(id)), req, None)
    }
    pub async fn retry_delivery(&self, id: &str, delivery_id: &str) -> Result<Value> {
        let p = format!("/api/v1/webhooks/{}/deliveries/{}/retry", seg(id), seg(delivery_id));
        self.c.request(Method::POST, &p, Req::json(&json!({}))).await
    }
    /// Sends the endpoint's events since `since` (RFC 3339) again.
    pub async fn replay(&self, id: &str, since: &str) -> Result<Value> {
        self.c.request(Method::POST, &format!("/api/v1/webhooks/{}/replay", seg(id)), Req::json(&json!({ "since": since }))).await
    }
    /// Sends a `webhook.test` event.
    pub async fn test(&self, id: &str) -> Result<Value> {
        self.c.request(Method::POST, &format!("/api/v1/webhooks/{}/test", seg(id)), Req::json(&json!({}))).await
    }
}

/// Checks a delivery's Standard Webhooks signature (see `verify_webhook_signature`) and returns
/// its parsed body (the CloudEvent, or the `llm-vault` body). In a receiver:
/// `let event = loam::verify_webhook(&body, &headers, &secret)?;`
pub fn verify_webhook<K: AsRef<str>, V: AsRef<str>>(
    body: &str,
    headers: &[(K, V)],
    secret: &str,
) -> std::result::Result<serde_json::Value, crate::WebhookVerificationError> {
    crate::verify_webhook_signature(body, headers, secret)?;
    serde_json::from_str(body).map_err(|e| crate::WebhookVerificationError(format!("the body is not JSON: {}", e)))
}
