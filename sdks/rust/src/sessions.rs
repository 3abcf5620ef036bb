//! The message bus (`/api/v1/sessions`, `/api/v1/bus`): send, history, subscriptions that resume by themselves.

use std::time::Duration;

use futures::stream::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::{backoff_delay, seg, BoxStream, Client, Req};
use crate::error::{parse_retry_after, Error, Result};

/// The longest pause between two reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);

/// A message of a session; `position` orders it within the session (1, 2, 3 …).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BusMessage {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub position: u64,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub time: String,
}

/// A message to send: `SendMessage::new(json!({...})).with_type("note")`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SendMessage {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    pub data: Value,
}

impl SendMessage {
    pub fn new(data: Value) -> SendMessage {
        SendMessage { type_: None, data }
    }
    pub fn with_type(mut self, type_: &str) -> SendMessage {
        self.type_ = Some(type_.into());
        self
    }
}

/// A session: `head` is its newest position, `purged_through` the last purged one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Session {
    pub id: String,
    pub head: u64,
    pub purged_through: u64,
    pub created_at: String,
    pub last_activity_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelSchema {
    pub prefix: String,
    pub schema: Value,
    pub created_at: String,
}

/// A retention rule (None: no limit); prefix `""` (`*` in the path) is the tenant default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Retention {
    pub prefix: String,
    pub max_age_sec: Option<u64>,
    pub max_messages: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SessionToken {
    pub token: String,
    pub expires_in: u64,
}

/// What a subscription reports, in order.
#[derive(Debug, Clone)]
pub enum SubscriptionEvent {
    /// The subscription is live: nothing sent from now on can be missed (on each (re)connection).
    Started { head: u64, after: u64, reconnected: bool },
    /// The next message, once, in position order.
    Message(BusMessage),
    /// A connection failed (the error's text); the subscription reconnects after a pause.
    Reconnecting { error: String, attempt: u32 },
}

/// Sessions of the message bus.
pub struct Sessions<'a> {
    c: &'a Client,
}

impl Client {
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { c: self }
    }
}

fn messages_path(session_id: &str) -> String {
    format!("/api/v1/sessions/{}/messages", seg(session_id))
}

impl<'a> Sessions<'a> {
    /// Sends one message or a batch (stored at consecutive positions); returns them as stored.
    pub async fn send(&self, session_id: &str, messages: &[SendMessage]) -> Result<Vec<BusMessage>> {
        let req = if messages.len() == 1 { Req::json(&messages[0]) } else { Req::json(&messages) };
        let sent: Value = self.c.request(Method::POST, &messages_path(session_id), req).await?;
        serde_json::from_value(sent.get("messages").cloned().unwrap_or_default()).map_err(|e| Error::Decode(e.to_string()))
    }
    /// One page of history after `after`, oldest first. A purged `after` is an `Error::Api` with status 410.
    pub async fn messages(&self, session_id: &str, after: u64, limit: Option<u32>) -> Result<Vec<BusMessage>> {
        let req = Req::default().query("after", Some(after.to_string())).query("limit", limit.map(|l| l.to_string()));
        self.c.request(Method::GET, &messages_path(session_id), req).await
    }
    /// Every message after `after`, page by page (`page_size`, default 500) as the stream is polled.
    pub fn history(&self, session_id: &str, after: u64, page_size: Option<u32>) -> BoxStream<'static, Result<BusMessage>> {
        let client = self.c.clone();
        let session_id = session_id.to_string();
        let limit = page_size.unwrap_or(500).max(1);
        Box::pin(async_stream::try_stream! {
            let mut after = after;
            loop {
                let page = client.sessions().messages(&session_id, after, Some(limit)).await?;
                let full = page.len() == limit as usize;
                for m in page {
                    after = m.position;
                    yield m;
                }
                if !full {
                    break;
                }
            }
        })
    }
    /// Every session (`prefix` filters by name), page by page; `limit` is the page size.
    pub fn list(&self, prefix: Option<&str>, limit: Option<u32>) -> BoxStream<'static, Result<Session>> {
        let req = Req::default().query("prefix", prefix.map(String::from)).query("limit", limit.map(|l| l.to_string()));
        self.c.paginate(Method::GET, "/api/v1/sessions".into(), req, None)
    }
    pub async fn get(&self, session_id: &str) -> Result<Session> {
        self.c.request(Method::GET, &format!("/api/v1/sessions/{}", seg(session_id)), Req::default()).await
    }
    /// Deletes the session and its messages.
    pub async fn delete(&self, session_id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/sessions/{}", seg(session_id)), Req::default()).await.map(|_| ())
    }
    /// A short-lived token for a browser's EventSource or WebSocket (`?token=`).
    pub async fn token(&self, session_id: &str) -> Result<SessionToken> {
        self.c.request(Method::POST, &format!("/api/v1/sessions/{}/tokens", seg(session_id)), Req::json(&json!({}))).await
    }
    /// Every message after `after`, then live ones, each once and in position order, for as long as the
    /// stream is polled. A dropped connection is resumed after the last delivered position; an error a
    /// retry cannot fix (401, 403, 404, 410) is the stream's last item. Server-Sent Events on
    /// `GET …/stream` (what the WebSocket route offers to receivers).
    pub fn subscribe(&self, session_id: &str, after: u64) -> BoxStream<'static, Result<BusMessage>> {
        Box::pin(self.subscribe_events(session_id, after).filter_map(|e| async move {
            match e {
                Ok(SubscriptionEvent::Message(m)) => Some(Ok(m)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        }))
    }
    /// `subscribe`, with the moments the subscription starts (is live) and reconnects.
    pub fn subscribe_events(&self, session_id: &str, after: u64) -> BoxStream<'static, Result<SubscriptionEvent>> {
        let client = self.c.clone();
        let url = format!("{}/api/v1/sessions/{}/stream", self.c.base_url, seg(session_id));
        Box::pin(async_stream::stream! {
            let mut last = after;
            let mut attempt = 0u32;
            let mut reconnected = false;
            loop {
                let failure = match open_stream(&client, &url, last).await {
                    Err(e) => e,
                    Ok(res) => {
                        let mut body = res.bytes_stream();
                        let mut decoder = SseDecoder::default();
                        let failure: Error;
                        'connection: loop {
                            // No byte for this long (the server sends a heartbeat every 15 s by default): a dead connection.
                            let chunk = match tokio::time::timeout(client.timeout, body.next()).await {
                                Err(_) => { failure = Error::Timeout("the stream went silent".into()); break; }
                                Ok(None) => { failure = Error::Connection("the stream ended".into()); break; }
                                Ok(Some(Err(e))) => { failure = Error::Connection(format!("the stream broke: {}", e)); break; }
                                Ok(Some(Ok(chunk))) => chunk,
                            };
                            for ev in decoder.feed(&chunk) {
                                match ev.event.as_str() {
                                    "ready" => {
                                        attempt = 0;
                                        let ready: Value = serde_json::from_str(&ev.data).unwrap_or_default();
                                        let head = ready.get("head").and_then(Value::as_u64).unwrap_or(0);
                                        let from = ready.get("after").and_then(Value::as_u64).unwrap_or(last);
                                        yield Ok(SubscriptionEvent::Started { head, after: from, reconnected });
                                    }
                                    "message" => match serde_json::from_str::<BusMessage>(&ev.data) {
                                        Ok(m) if m.position <= last => {}
                                        Ok(m) => {
                                            last = m.position;
                                            yield Ok(SubscriptionEvent::Message(m));
                                        }
                                        Err(e) => { failure = Error::Decode(e.to_string()); break 'connection; }
                                    },
                                    "error" => {
                                        let body: Value = serde_json::from_str(&ev.data).unwrap_or_default();
                                        let status = body.get("status").and_then(Value::as_u64).unwrap_or(500) as u16;
                                        failure = Error::from_response(status, ev.data.as_bytes(), None, None);
                                        break 'connection;
                                    }
                                    _ => {}
                                }
                            }
                        }
                        failure
                    }
                };
                if !retryable(&failure) {
                    yield Err(failure);
                    break;
                }
                attempt += 1;
                reconnected = true;
                yield Ok(SubscriptionEvent::Reconnecting { error: failure.to_string(), attempt });
                tokio::time::sleep(backoff_delay(attempt.min(6)).min(MAX_RECONNECT_DELAY)).await;
            }
        })
    }

    // ---- channel schemas and retention ------------------------------------------------------

    pub async fn schemas(&self) -> Result<Vec<ChannelSchema>> {
        self.c.request(Method::GET, "/api/v1/bus/schemas", Req::default()).await
    }
    /// Every message sent to a session named `prefix…` must match this JSON Schema (else 400).
    pub async fn put_schema(&self, prefix: &str, schema: Value) -> Result<ChannelSchema> {
        self.c.request(Method::PUT, &format!("/api/v1/bus/schemas/{}", seg(prefix)), Req::json(&json!({ "schema": schema }))).await
    }
    pub async fn delete_schema(&self, prefix: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/bus/schemas/{}", seg(prefix)), Req::default()).await.map(|_| ())
    }
    pub async fn retention(&self) -> Result<Vec<Retention>> {
        self.c.request(Method::GET, "/api/v1/bus/retention", Req::default()).await
    }
    /// Keeps messages of sessions named `prefix…` (`*`: the tenant default) at most `max_age_sec` and at
    /// most the newest `max_messages` (None: no limit).
    pub async fn put_retention(&self, prefix: &str, max_age_sec: Option<u64>, max_messages: Option<u64>) -> Result<Retention> {
        let body = json!({ "max_age_sec": max_age_sec, "max_messages": max_messages });
        self.c.request(Method::PUT, &format!("/api/v1/bus/retention/{}", seg(prefix)), Req::json(&body)).await
    }
    pub async fn delete_retention(&self, prefix: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/bus/retention/{}", seg(prefix)), Req::default()).await.map(|_| ())
    }
}

/// Network failures, 5xx and 429 are retried; other answers (401, 403, 404, 410 …) end the subscription.
fn retryable(e: &Error) -> bool {
    matches!(e, Error::Connection(_) | Error::Timeout(_) | Error::Decode(_) | Error::Server(_) | Error::RateLimited { .. })
}

/// Opens one stream connection (the client's timeout bounds the wait for the headers, not the stream).
async fn open_stream(client: &Client, url: &str, after: u64) -> Result<reqwest::Response> {
    let mut rb = client.http.get(url).query(&[("after", after.to_string())]).header("accept", "text/event-stream");
    if let Some(k) = &client.api_key {
        rb = rb.header("x-api-key", k);
    }
    let res = match tokio::time::timeout(client.timeout, rb.send()).await {
        Err(_) => return Err(Error::Timeout(format!("no answer from {} in time", url))),
        Ok(Err(e)) => return Err(Error::Connection(e.to_string())),
        Ok(Ok(res)) => res,
    };
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status().as_u16();
    let request_id = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(String::from);
    let retry_after = parse_retry_after(res.headers().get("retry-after").and_then(|v| v.to_str().ok()));
    let body = res.bytes().await.unwrap_or_default();
    Err(Error::from_response(status, &body, request_id, retry_after))
}

/// One Server-Sent Event.
pub(crate) struct SseEvent {
    pub(crate) event: String,
    pub(crate) data: String,
}

/// Decodes Server-Sent Events from byte chunks split anywhere.
#[derive(Default)]
pub(crate) struct SseDecoder {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseDecoder {
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    out.push(SseEvent { event: std::mem::take(&mut self.event), data: self.data.join("\n") });
                    self.data.clear();
                }
                self.event.clear();
            } else if !line.starts_with(':') {
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match name {
                    "event" => self.event = value.to_string(),
                    "data" => self.data.push(value.to_string()),
                    _ => {}
                }
            }
        }
        out
    }
}
