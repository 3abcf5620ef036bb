//! The transport: configuration, authentication, retries with backoff, errors, pagination.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{Stream, StreamExt};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{parse_retry_after, Error, Result};

pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// A server asking for a longer pause than this gets an error, not a silently hanging call.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A boxed stream, as every list and download returns.
pub type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// The Loam client. Cheap to clone (it shares one connection pool).
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) api_key: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) max_retries: u32,
}

/// Builds a [`Client`]; unset options come from the environment, then the defaults.
#[derive(Default, Debug)]
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    max_retries: Option<u32>,
    http: Option<reqwest::Client>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl ClientBuilder {
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// Timeout of one attempt.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// Retries of connection errors, 408, 429 and 5xx.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }
    /// Your own `reqwest::Client` (a proxy, TLS settings).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }
    pub fn build(self) -> Client {
        let base_url = self
            .base_url
            .or_else(|| env("LOAM_API_BASE_URL"))
            .or_else(|| env("LOAM_BASE_URL"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        Client {
            http: self.http.unwrap_or_default(),
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: self.api_key.or_else(|| env("LOAM_API_KEY")),
            timeout: self
                .timeout
                .or_else(|| env("LOAM_REQUEST_TIMEOUT").and_then(|v| v.parse().ok()).map(Duration::from_millis))
                .unwrap_or(DEFAULT_TIMEOUT),
            max_retries: self
                .max_retries
                .or_else(|| env("LOAM_MAX_RETRIES").and_then(|v| v.parse().ok()))
                .unwrap_or(DEFAULT_MAX_RETRIES),
        }
    }
}

/// The `/api/v1` success envelope.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Envelope {
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub links: std::collections::HashMap<String, String>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Pagination {
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; None on the last page.
    pub cursor: Option<String>,
    pub total_count: Option<u64>,
}

/// What one request sends.
#[derive(Default, Clone, Debug)]
pub struct Req {
    pub query: Vec<(String, String)>,
    pub json: Option<Value>,
    pub body: Option<(Bytes, String)>,
    pub headers: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub max_retries: Option<u32>,
}

impl Req {
    pub fn json<T: Serialize>(body: &T) -> Req {
        Req { json: Some(serde_json::to_value(body).unwrap_or(Value::Null)), ..Req::default() }
    }
    pub fn query(mut self, key: &str, value: Option<String>) -> Req {
        if let Some(v) = value {
            self.query.push((key.to_string(), v));
        }
        self
    }
}

/// 0.5 s, 1 s, 2 s … capped at 8 s, minus up to 25 % jitter.
pub fn backoff_delay(retry: u32) -> Duration {
    let base = (0.5 * 2f64.powi(retry.min(10) as i32)).min(8.0);
    Duration::from_secs_f64(base * (1.0 - 0.25 * rand::thread_rng().gen::<f64>()))
}

fn new_idempotency_key() -> String {
    let n: u128 = rand::thread_rng().gen();
    format!("sdk_{:032x}", n)
}

/// Percent-encodes one path segment.
pub(crate) fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

impl Client {
    /// `Client::new(api_key, base_url)`.
    pub fn new(api_key: impl Into<String>, base_url: impl Into<String>) -> Client {
        Client::builder().api_key(api_key).base_url(base_url).build()
    }

    /// A client from `LOAM_API_KEY`, `LOAM_API_BASE_URL`, `LOAM_REQUEST_TIMEOUT`, `LOAM_MAX_RETRIES`.
    pub fn from_env() -> Client {
        Client::builder().build()
    }

    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Any request with the client's authentication, retries and errors; the successful response, body unread.
    pub async fn send(&self, method: reqwest::Method, path: &str, req: Req) -> Result<reqwest::Response> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base_url, path)
        };
        let key = req.idempotency_key.clone().or_else(|| {
            if method == reqwest::Method::POST || method == reqwest::Method::PATCH {
                Some(new_idempotency_key())
            } else {
                None
            }
        });
        let retryable = key.is_some()
            || matches!(method, reqwest::Method::GET | reqwest::Method::PUT | reqwest::Method::DELETE | reqwest::Method::HEAD);
        let max_retries = req.max_retries.unwrap_or(self.max_retries);
        let mut attempt = 0u32;
        loop {
            let mut rb = self.http.request(method.clone(), &url).timeout(self.timeout).header("accept", "application/json");
            if !req.query.is_empty() {
                rb = rb.query(&req.query);
            }
            if let Some(k) = &self.api_key {
                rb = rb.header("x-api-key", k);
            }
            if let Some(k) = &key {
                rb = rb.header("idempotency-key", k);
            }
            if let Some(j) = &req.json {
                rb = rb.header("content-type", "application/json").body(serde_json::to_vec(j).unwrap_or_default());
            } else if let Some((b, ctype)) = &req.body {
                rb = rb.header("content-type", ctype.as_str()).body(b.clone());
            }
            for (k, v) in &req.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            let delay = match rb.send().await {
                Err(e) => {
                    let err = if e.is_timeout() { Error::Timeout(e.to_string()) } else { Error::Connection(e.to_string()) };
                    if attempt >= max_retries || !retryable {
                        return Err(err);
                    }
                    backoff_delay(attempt)
                }
                Ok(res) if res.status().is_success() => return Ok(res),
                Ok(res) => {
                    let status = res.status().as_u16();
                    let headers = res.headers().clone();
                    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(String::from);
                    let retry_after = parse_retry_after(headers.get("retry-after").and_then(|v| v.to_str().ok()));
                    let body = res.bytes().await.unwrap_or_default();
                    let err = Error::from_response(status, &body, request_id, retry_after);
                    let retry_status = status == 408 || status == 429 || status >= 500;
                    if attempt >= max_retries || !retryable || !retry_status {
                        return Err(err);
                    }
                    match retry_after {
                        Some(d) if d > MAX_RETRY_AFTER => return Err(err),
                        Some(d) => d,
                        None => backoff_delay(attempt),
                    }
                }
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Sends a request and decodes the envelope.
    pub async fn envelope(&self, method: reqwest::Method, path: &str, req: Req) -> Result<Envelope> {
        let res = self.send(method, path, req).await?;
        let body = res.bytes().await.map_err(|e| Error::Connection(e.to_string()))?;
        if body.is_empty() {
            return Ok(Envelope::default());
        }
        serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
    }

    /// Sends a request and decodes the envelope's `data` as `T`.
    pub async fn request<T: DeserializeOwned>(&self, method: reqwest::Method, path: &str, req: Req) -> Result<T> {
        let env = self.envelope(method, path, req).await?;
        serde_json::from_value(env.data).map_err(|e| Error::Decode(e.to_string()))
    }

    pub(crate) async fn page<T: DeserializeOwned>(&self, method: reqwest::Method, path: &str, req: Req) -> Result<Page<T>> {
        let env = self.envelope(method, path, req).await?;
        let items: Vec<T> = serde_json::from_value(env.data).map_err(|e| Error::Decode(e.to_string()))?;
        let p = env.pagination.unwrap_or_default();
        let cursor = if p.has_more { p.cursor } else { None };
        Ok(Page { items, cursor, total_count: p.total_count })
    }

    /// Every item of every page, fetched as the stream is polled.
    pub(crate) fn paginate<T>(&self, method: reqwest::Method, path: String, req: Req, post_body: Option<Value>) -> BoxStream<'static, Result<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        Box::pin(async_stream::try_stream! {
            let mut cursor: Option<String> = None;
            loop {
                let mut r = req.clone();
                match &post_body {
                    Some(body) => {
                        let mut b = body.clone();
                        if let (Some(c), Some(obj)) = (&cursor, b.as_object_mut()) {
                            obj.insert("cursor".into(), Value::String(c.clone()));
                        }
                        r.json = Some(b);
                    }
                    None => {
                        if let Some(c) = &cursor {
                            r.query.push(("cursor".into(), c.clone()));
                        }
                    }
                }
                let page: Page<T> = client.page(method.clone(), &path, r).await?;
                for item in page.items {
                    yield item;
                }
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        })
    }

    /// The body of a successful response as a stream of byte chunks.
    pub(crate) async fn stream_bytes(&self, path: &str) -> Result<BoxStream<'static, Result<Bytes>>> {
        let mut req = Req::default();
        req.headers.push(("accept".into(), "*/*".into()));
        let res = self.send(reqwest::Method::GET, path, req).await?;
        Ok(Box::pin(res.bytes_stream().map(|r| r.map_err(|e| Error::Connection(e.to_string())))))
    }
}
