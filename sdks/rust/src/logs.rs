//! The observatory (`/api/v1/logs`, `/api/v1/executions`): ship, query and tail log records.

use futures::stream::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::client::{BoxStream, Client, Req};
use crate::error::{parse_retry_after, Error, Result};
use crate::sessions::SseDecoder;

/// A record to ship; missing context fields come from the `ExecutionContext` headers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LogRecordIn {
    pub level: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

impl LogRecordIn {
    pub fn new(level: &str, message: &str) -> LogRecordIn {
        LogRecordIn { level: level.into(), message: message.into(), ..LogRecordIn::default() }
    }
}

/// A stored record (an OpenTelemetry span when `kind` is "span").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogRecord {
    pub id: String,
    pub time: String,
    pub level: String,
    pub message: String,
    pub attributes: Map<String, Value>,
    pub execution_id: Option<String>,
    pub session_id: Option<String>,
    pub workflow_id: Option<String>,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub source: String,
    pub kind: String,
}

/// One execution: the span of its records, counts per level and status ("ok" or "failed").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Execution {
    pub execution_id: String,
    pub session_id: Option<String>,
    pub workflow_id: Option<String>,
    pub first_time: String,
    pub last_time: String,
    pub counts: Map<String, Value>,
    pub records: u64,
    pub status: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    pub retention_days: u32,
    pub quota_records_per_minute: u64,
}

/// The execution context sent as X-Loam-* headers (and `traceparent`) with shipped records.
#[derive(Debug, Clone, Default)]
pub struct ExecutionContext {
    pub execution_id: Option<String>,
    pub session_id: Option<String>,
    pub workflow_id: Option<String>,
    pub traceparent: Option<String>,
}

/// Filters of `list` and `tail`: `level` means that level or worse, `q` words the message contains.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub execution_id: Option<String>,
    pub session_id: Option<String>,
    pub level: Option<String>,
    pub q: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub limit: Option<u32>,
}

impl LogFilter {
    fn req(&self) -> Req {
        let mut req = Req::default()
            .query("execution_id", self.execution_id.clone())
            .query("session_id", self.session_id.clone())
            .query("level", self.level.clone())
            .query("q", self.q.clone())
            .query("from", self.from.clone())
            .query("to", self.to.clone())
            .query("limit", self.limit.map(|l| l.to_string()));
        for (k, v) in &self.attributes {
            req = req.query(&format!("attr.{}", k), Some(v.clone()));
        }
        req
    }
}

/// The observatory.
pub struct Logs<'a> {
    c: &'a Client,
}

impl Client {
    pub fn logs(&self) -> Logs<'_> {
        Logs { c: self }
    }
}

impl<'a> Logs<'a> {
    /// Ships a batch (at most 5,000 records, 1 MiB); returns how many were accepted.
    pub async fn ship(&self, records: &[LogRecordIn], ctx: &ExecutionContext) -> Result<u64> {
        let mut req = Req::json(&json!({ "records": records }));
        for (name, value) in [
            ("x-loam-execution-id", &ctx.execution_id),
            ("x-loam-session-id", &ctx.session_id),
            ("x-loam-workflow-id", &ctx.workflow_id),
            ("traceparent", &ctx.traceparent),
        ] {
            if let Some(v) = value {
                req.headers.push((name.to_string(), v.clone()));
            }
        }
        let out: Value = self.c.request(Method::POST, "/api/v1/logs", req).await?;
        Ok(out.get("accepted").and_then(Value::as_u64).unwrap_or(0))
    }
    /// The matching records, page by page as the stream is polled.
    pub fn list(&self, filter: &LogFilter) -> BoxStream<'static, Result<LogRecord>> {
        self.c.paginate(Method::GET, "/api/v1/logs".into(), filter.req(), None)
    }
    /// Executions, most recently active first (`status`: "ok" or "failed").
    pub fn executions(&self, session_id: Option<&str>, status: Option<&str>) -> BoxStream<'static, Result<Execution>> {
        let req = Req::default().query("session_id", session_id.map(String::from)).query("status", status.map(String::from));
        self.c.paginate(Method::GET, "/api/v1/executions".into(), req, None)
    }
    /// Matching records stored from now on, as they arrive (Server-Sent Events); an error ends the stream.
    pub fn tail(&self, filter: &LogFilter) -> BoxStream<'static, Result<LogRecord>> {
        let client = self.c.clone();
        let url = format!("{}/api/v1/logs/stream", self.c.base_url);
        let mut query = filter.req().query;
        query.retain(|(k, _)| k != "limit");
        Box::pin(async_stream::stream! {
            let mut rb = client.http.get(&url).query(&query).header("accept", "text/event-stream");
            if let Some(k) = &client.api_key {
                rb = rb.header("x-api-key", k);
            }
            let res = match rb.send().await {
                Err(e) => { yield Err(Error::Connection(e.to_string())); return; }
                Ok(res) => res,
            };
            if !res.status().is_success() {
                let status = res.status().as_u16();
                let retry_after = parse_retry_after(res.headers().get("retry-after").and_then(|v| v.to_str().ok()));
                let body = res.bytes().await.unwrap_or_default();
                yield Err(Error::from_response(status, &body, None, retry_after));
                return;
            }
            let mut body = res.bytes_stream();
            let mut decoder = SseDecoder::default();
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => { yield Err(Error::Connection(e.to_string())); return; }
                };
                for ev in decoder.feed(&chunk) {
                    match ev.event.as_str() {
                        "log" => yield serde_json::from_str::<LogRecord>(&ev.data).map_err(|e| Error::Decode(e.to_string())),
                        "error" => {
                            let body: Value = serde_json::from_str(&ev.data).unwrap_or_default();
                            let status = body.get("status").and_then(Value::as_u64).unwrap_or(500) as u16;
                            yield Err(Error::from_response(status, ev.data.as_bytes(), None, None));
                            return;
                        }
                        _ => {}
                    }
                }
            }
            yield Err(Error::Connection("the stream ended".into()));
        })
    }
    /// The tenant's retention (days) and ingest quota (records per minute).
    pub async fn settings(&self) -> Result<LogSettings> {
        self.c.request(Method::GET, "/api/v1/logs/settings", Req::default()).await
    }
    pub async fn put_settings(&self, retention_days: Option<u32>, quota_records_per_minute: Option<u64>) -> Result<LogSettings> {
        let mut body = Map::new();
        if let Some(d) = retention_days {
            body.insert("retention_days".into(), json!(d));
        }
        if let Some(q) = quota_records_per_minute {
            body.insert("quota_records_per_minute".into(), json!(q));
        }
        self.c.request(Method::PUT, "/api/v1/logs/settings", Req::json(&Value::Object(body))).await
    }
}
