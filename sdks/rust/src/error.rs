//! The error enum: one variant per error family, each carrying the RFC 7807 problem.

use std::time::Duration;

use serde::Deserialize;

/// One invalid field of a request (problem+json `errors`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The RFC 7807 problem Loam answered with, plus the request id and status.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Problem {
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default, rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub instance: String,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)?;
        if !self.request_id.is_empty() {
            write!(f, " (request {})", self.request_id)?;
        }
        Ok(())
    }
}

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400/422 without field errors.
    #[error("bad request: {0}")]
    BadRequest(Box<Problem>),
    /// 400/422 `validation_error`: see `problem.errors`.
    #[error("validation error: {0}")]
    Validation(Box<Problem>),
    /// 401.
    #[error("authentication failed: {0}")]
    Authentication(Box<Problem>),
    /// 403.
    #[error("permission denied: {0}")]
    PermissionDenied(Box<Problem>),
    /// 404.
    #[error("not found: {0}")]
    NotFound(Box<Problem>),
    /// 409.
    #[error("conflict: {0}")]
    Conflict(Box<Problem>),
    /// 412: `If-Match` did not match.
    #[error("precondition failed: {0}")]
    PreconditionFailed(Box<Problem>),
    /// 429: wait `retry_after`.
    #[error("rate limited: {problem}")]
    RateLimited { problem: Box<Problem>, retry_after: Option<Duration> },
    /// 5xx, after the retries.
    #[error("server error: {0}")]
    Server(Box<Problem>),
    /// Any other non-2xx status.
    #[error("API error: {0}")]
    Api(Box<Problem>),
    /// No answer (DNS, refused, reset).
    #[error("connection error: {0}")]
    Connection(String),
    /// No answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The answer was not what the SDK expected.
    #[error("cannot decode the answer: {0}")]
    Decode(String),
    /// A waited-for job or import failed.
    #[error("job failed: {0}")]
    JobFailed(String),
}

impl Error {
    /// The problem of a server answer (None for transport errors).
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::BadRequest(p)
            | Error::Validation(p)
            | Error::Authentication(p)
            | Error::PermissionDenied(p)
            | Error::NotFound(p)
            | Error::Conflict(p)
            | Error::PreconditionFailed(p)
            | Error::Server(p)
            | Error::Api(p) => Some(p),
            Error::RateLimited { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The HTTP status of a server answer.
    pub fn status(&self) -> Option<u16> {
        self.problem().map(|p| p.status)
    }

    /// The server's request id, to quote when reporting a problem.
    pub fn request_id(&self) -> Option<&str> {
        self.problem().map(|p| p.request_id.as_str()).filter(|s| !s.is_empty())
    }

    pub(crate) fn from_response(status: u16, body: &[u8], request_id: Option<String>, retry_after: Option<Duration>) -> Error {
        let mut p: Problem = serde_json::from_slice(body).unwrap_or_default();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            if p.code.is_empty() {
                p.code = v.get("error").and_then(|e| e.as_str()).unwrap_or_default().to_string();
            }
            if p.detail.is_empty() {
                p.detail = v.get("error_description").and_then(|e| e.as_str()).unwrap_or_default().to_string();
            }
        }
        p.status = status;
        if p.code.is_empty() {
            p.code = match status {
                429 => "rate_limited",
                s if s >= 500 => "internal_error",
                _ => "unknown_error",
            }
            .to_string();
        }
        if p.detail.is_empty() {
            p.detail = if p.title.is_empty() { format!("HTTP {}", status) } else { p.title.clone() };
        }
        if p.request_id.is_empty() {
            p.request_id = request_id.unwrap_or_default();
        }
        let validation = !p.errors.is_empty() || p.code == "validation_error";
        let p = Box::new(p);
        match status {
            400 | 422 if validation => Error::Validation(p),
            400 | 422 => Error::BadRequest(p),
            401 => Error::Authentication(p),
            403 => Error::PermissionDenied(p),
            404 => Error::NotFound(p),
            409 => Error::Conflict(p),
            412 => Error::PreconditionFailed(p),
            429 => Error::RateLimited { problem: p, retry_after },
            s if s >= 500 => Error::Server(p),
            _ => Error::Api(p),
        }
    }
}

/// `Retry-After` as delta-seconds (HTTP dates are read as "no hint").
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

pub type Result<T> = std::result::Result<T, Error>;
