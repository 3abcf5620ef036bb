//! Loam's Rust SDK: an async client (tokio + reqwest) for `/api/v1`.
//!
//! ```no_run
//! # async fn run() -> loam::Result<()> {
//! let client = loam::Client::new("loam_sk_…", "http://127.0.0.1:8080");
//! let ds = client.datasets().create(loam::CreateDataset { name: "customers".into(), ..Default::default() }).await?;
//! # Ok(()) }
//! ```

mod admin;
mod client;
mod error;
mod knowledge;
mod llm;
mod logs;
mod models;
mod resources;
mod sessions;
mod events;
mod tenants;
mod webhooks;

pub use admin::*;
pub use client::{backoff_delay, BoxStream, Client, ClientBuilder, Envelope, Page, Pagination, Req};
pub use error::{Error, FieldError, Problem, Result};
pub use knowledge::*;
pub use llm::*;
pub use logs::*;
pub use models::*;
pub use resources::*;
pub use sessions::*;
pub use events::*;
pub use tenants::*;
pub use webhooks::{verify_webhook_at, verify_webhook_signature, WebhookVerificationError, DEFAULT_WEBHOOK_TOLERANCE_SECS};
pub use reqwest::Method;
