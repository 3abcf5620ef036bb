//! Operator tasks (`/api/v1/admin/...`, scope `admin`): users, signing keys, the development mailbox,
//! health and master-key rotation. Mirrors `loam.admin` of @loam/sdk.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::{seg, BoxStream, Client, Req};
use crate::error::Result;

/// A user as administrators see it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub status: String,
    pub roles: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
    pub confirmed_at: Option<String>,
}

/// The body of `admin().users().update`: the keys set are applied (`roles` and `attributes` replace).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// `confirmed` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The public metadata of a token signing key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub created_at: String,
    pub retired_at: Option<String>,
}

/// A mail of the development mailbox.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MailboxMessage {
    pub id: String,
    pub tenant_id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub created_at: String,
}

/// What `admin().rotate_master_key()` answers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct KeyRotationResult {
    pub provider: String,
    pub rewrapped: u64,
}

impl Client {
    pub fn admin(&self) -> Admin<'_> {
        Admin { c: self }
    }
}

/// Operator tasks: `users()`, `signing_keys()`, `mailbox()`, `health()`, `rotate_master_key()`.
pub struct Admin<'a> {
    c: &'a Client,
}

impl<'a> Admin<'a> {
    pub fn users(&self) -> Users<'a> {
        Users { c: self.c }
    }
    pub fn signing_keys(&self) -> SigningKeys<'a> {
        SigningKeys { c: self.c }
    }
    pub fn mailbox(&self) -> Mailbox<'a> {
        Mailbox { c: self.c }
    }
    /// Components (database, Redis, jobs, events) with their versions and latency.
    pub async fn health(&self) -> Result<Value> {
        self.c.request(Method::GET, "/api/v1/admin/health", Req::default()).await
    }
    /// Re-wraps every data key under the current master key (records are not rewritten).
    pub async fn rotate_master_key(&self) -> Result<KeyRotationResult> {
        self.c.request(Method::POST, "/api/v1/admin/keys/rotate", Req::json(&json!({}))).await
    }
}

/// The users of the caller's tenant (a platform admin names another with `tenant_id`).
pub struct Users<'a> {
    c: &'a Client,
}

impl<'a> Users<'a> {
    pub fn list(&self, limit: Option<u32>, tenant_id: Option<&str>) -> BoxStream<'static, Result<User>> {
        let req = Req::default().query("limit", limit.map(|l| l.to_string())).query("tenant_id", tenant_id.map(String::from));
        self.c.paginate(Method::GET, "/api/v1/admin/users".into(), req, None)
    }
    pub async fn get(&self, id: &str) -> Result<User> {
        self.c.request(Method::GET, &format!("/api/v1/admin/users/{}", seg(id)), Req::default()).await
    }
    /// Sets roles, attributes or status; ends the user's sessions.
    pub async fn update(&self, id: &str, changes: UpdateUser) -> Result<User> {
        self.c.request(Method::PATCH, &format!("/api/v1/admin/users/{}", seg(id)), Req::json(&changes)).await
    }
}

/// The keys access tokens are signed with (public metadata only).
pub struct SigningKeys<'a> {
    c: &'a Client,
}

impl<'a> SigningKeys<'a> {
    pub async fn list(&self) -> Result<Vec<SigningKey>> {
        self.c.request(Method::GET, "/api/v1/admin/signing-keys", Req::default()).await
    }
    /// Signs with a new key from now on; the old one verifies until its tokens expire (409 with HS256).
    pub async fn rotate(&self) -> Result<Vec<SigningKey>> {
        self.c.request(Method::POST, "/api/v1/admin/signing-keys/rotate", Req::json(&json!({}))).await
    }
}

/// The development mailbox: mail Loam would have sent (404 with SMTP configured or in production).
pub struct Mailbox<'a> {
    c: &'a Client,
}

impl<'a> Mailbox<'a> {
    /// Newest first.
    pub async fn list(&self, to: Option<&str>, limit: Option<u32>) -> Result<Vec<MailboxMessage>> {
        let req = Req::default().query("to", to.map(String::from)).query("limit", limit.map(|l| l.to_string()));
        self.c.request(Method::GET, "/api/v1/admin/mailbox", req).await
    }
}
