//! The LLM gateway (`/api/v1/llm/*`): any configured model through one API, with privacy on the way
//! out, retries, fallback and per-tenant quotas. (OpenAI SDKs can use Loam too: their base URL
//! `<loam>/v1` and a Loam API key.)

use std::collections::BTreeMap;

use futures::stream::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::client::{BoxStream, Client, Req};
use crate::error::{Error, Result};
use crate::sessions::SseDecoder;

/// One message of a conversation: role `system`, `user` or `assistant`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LlmMessage {
    pub role: String,
    pub content: String,
}

impl LlmMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> LlmMessage {
        LlmMessage { role: role.into(), content: content.into() }
    }
}

/// The privacy mode of a call: `{"mode": "off" | "detect" | "redact" | "pseudonymize"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PrivacyRequest {
    pub mode: String,
}

/// A generation request: exactly one of `prompt` and `messages`. `model` is a model id or
/// `provider/model` (None: the server's default).
///
/// ```
/// let g = loam::Generate { model: Some("gpt-4o-mini".into()), ..loam::Generate::prompt("Say hi") };
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct Generate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<LlmMessage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// This call's deadline, retries included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<PrivacyRequest>,
}

impl Generate {
    /// A request with this prompt (a single user message).
    pub fn prompt(prompt: impl Into<String>) -> Generate {
        Generate { prompt: Some(prompt.into()), ..Generate::default() }
    }
    /// A request with these messages.
    pub fn messages(messages: Vec<LlmMessage>) -> Generate {
        Generate { messages: Some(messages), ..Generate::default() }
    }
    pub fn model(mut self, model: impl Into<String>) -> Generate {
        self.model = Some(model.into());
        self
    }
    /// `off`, `detect`, `redact` or `pseudonymize` (at least as protective as the tenant's mode).
    pub fn privacy(mut self, mode: impl Into<String>) -> Generate {
        self.privacy = Some(PrivacyRequest { mode: mode.into() });
        self
    }
}

/// The tokens of one call.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct LlmUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// The privacy mode applied to a call and the entities found per type (never the values).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct LlmPrivacy {
    pub mode: String,
    #[serde(default)]
    pub entities: BTreeMap<String, u64>,
}

/// One whole answer; `attempts` counts the upstream requests (retries and fallbacks included).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Generation {
    pub text: String,
    pub finish_reason: String,
    pub usage: LlmUsage,
    pub provider: String,
    pub model: String,
    pub latency_ms: u64,
    pub attempts: u32,
    pub privacy: LlmPrivacy,
}

/// A part of a streamed answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum GenerationPart {
    Start {
        provider: String,
        model: String,
    },
    Delta {
        text: String,
    },
    /// The end: the fields of a `Generation` but `text`.
    Finish {
        finish_reason: String,
        usage: LlmUsage,
        provider: String,
        model: String,
        latency_ms: u64,
        attempts: u32,
        privacy: LlmPrivacy,
    },
}

/// A model clients may name, and the provider tried first.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LlmModel {
    pub id: String,
    pub provider: String,
}

/// The calls and tokens of one UTC day and model.
#[derive(Debug, Clone, Deserialize)]
pub struct LlmUsageDay {
    pub day: String,
    pub model: String,
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// The totals of a usage report.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LlmUsageTotals {
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// Usage from `from` to `to` (UTC days, `YYYY-MM-DD`).
#[derive(Debug, Clone, Deserialize)]
pub struct LlmUsageReport {
    pub from: String,
    pub to: String,
    pub days: Vec<LlmUsageDay>,
    pub totals: LlmUsageTotals,
}

/// The settings as applied (`daily_token_quota` 0 = unlimited).
#[derive(Debug, Clone, Deserialize)]
pub struct LlmEffectiveSettings {
    pub privacy_mode: String,
    pub daily_token_quota: u64,
}

/// The tenant's privacy mode and daily token quota as set (None: the server default) and as
/// applied, and the tokens used today (UTC).
#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub privacy_mode: Option<String>,
    pub daily_token_quota: Option<u64>,
    pub effective: LlmEffectiveSettings,
    pub tokens_today: u64,
}

/// A change of one setting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Setting<T> {
    /// Left as it is.
    #[default]
    Keep,
    /// Back to the server default.
    Default,
    Set(T),
}

impl<T: Serialize> Serialize for Setting<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Setting::Set(v) => v.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

/// What `update_settings` changes (fields left at `Setting::Keep` stay as they are).
#[derive(Debug, Clone, Default)]
pub struct LlmSettingsUpdate {
    /// `off`, `detect`, `redact` or `pseudonymize`: a floor for every call of the tenant.
    pub privacy_mode: Setting<String>,
    /// Tokens per UTC day, 0 = unlimited.
    pub daily_token_quota: Setting<u64>,
}

impl LlmSettingsUpdate {
    fn body(&self) -> Value {
        let mut body = Map::new();
        if self.privacy_mode != Setting::Keep {
            body.insert("privacy_mode".into(), serde_json::to_value(&self.privacy_mode).unwrap_or(Value::Null));
        }
        if self.daily_token_quota != Setting::Keep {
            body.insert("daily_token_quota".into(), serde_json::to_value(&self.daily_token_quota).unwrap_or(Value::Null));
        }
        Value::Object(body)
    }
}

/// `client.llm()`: generate, stream, models, usage, settings.
pub struct Llm<'a> {
    pub(crate) c: &'a Client,
}

impl Client {
    pub fn llm(&self) -> Llm<'_> {
        Llm { c: self }
    }
}

const GENERATE: &str = "/api/v1/llm/generate";

impl<'a> Llm<'a> {
    /// One whole answer: `client.llm().generate(Generate::prompt("Say hi").model("gpt-4o-mini")).await?`.
    pub async fn generate(&self, params: Generate) -> Result<Generation> {
        self.c.request(Method::POST, GENERATE, Req::json(&params)).await
    }

    /// A streamed answer: `Start`, `Delta`…, `Finish` (with usage). Dropping the stream closes the
    /// connection (the upstream call is cancelled too); a failure after the stream began is its last
    /// item. The client's timeout bounds the whole answer.
    pub fn stream(&self, params: Generate) -> BoxStream<'static, Result<GenerationPart>> {
        let client = self.c.clone();
        let mut body = serde_json::to_value(&params).unwrap_or_else(|_| Value::Object(Map::new()));
        body["stream"] = Value::Bool(true);
        Box::pin(async_stream::try_stream! {
            let req = Req { json: Some(body), headers: vec![("accept".into(), "text/event-stream".into())], ..Req::default() };
            let res = client.send(Method::POST, GENERATE, req).await?;
            let mut chunks = res.bytes_stream();
            let mut decoder = SseDecoder::default();
            let mut finished = false;
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|e| Error::Connection(format!("the stream broke: {}", e)))?;
                for ev in decoder.feed(&chunk) {
                    let value: Value = serde_json::from_str(&ev.data).map_err(|e| Error::Decode(e.to_string()))?;
                    if value.get("type").and_then(Value::as_str) == Some("error") {
                        let status = value.get("status").and_then(Value::as_u64).unwrap_or(502) as u16;
                        Err(Error::from_response(status, ev.data.as_bytes(), None, None))?;
                    }
                    let part: GenerationPart = serde_json::from_value(value).map_err(|e| Error::Decode(e.to_string()))?;
                    finished = matches!(part, GenerationPart::Finish { .. });
                    yield part;
                }
            }
            if !finished {
                Err(Error::Connection("the stream ended before the answer was complete".into()))?;
            }
        })
    }

    /// The models clients may name.
    pub async fn models(&self) -> Result<Vec<LlmModel>> {
        self.c.request(Method::GET, "/api/v1/llm/models", Req::default()).await
    }

    /// Calls and tokens per UTC day and model, `from` … `to` (`YYYY-MM-DD`; None: the last 30 days).
    pub async fn usage(&self, from: Option<&str>, to: Option<&str>) -> Result<LlmUsageReport> {
        let req = Req::default().query("from", from.map(String::from)).query("to", to.map(String::from));
        self.c.request(Method::GET, "/api/v1/llm/usage", req).await
    }

    /// The tenant's privacy mode (a floor for calls) and daily token quota.
    pub async fn settings(&self) -> Result<LlmSettings> {
        self.c.request(Method::GET, "/api/v1/llm/settings", Req::default()).await
    }

    /// Changes the tenant's settings (needs the `llm:admin` scope).
    pub async fn update_settings(&self, update: LlmSettingsUpdate) -> Result<LlmSettings> {
        self.c.request(Method::PUT, "/api/v1/llm/settings", Req { json: Some(update.body()), ..Req::default() }).await
    }
}
