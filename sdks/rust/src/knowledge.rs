//! Knowledge bases: collections, documents (the pre-signed upload flow), search, answers and embeddings.

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{seg, Client, Req};
use crate::error::Result;

/// Knowledge bases (`/api/v1/collections`).
pub struct Collections<'a> {
    c: &'a Client,
}

/// Documents of knowledge bases (`/api/v1/documents`).
pub struct Documents<'a> {
    c: &'a Client,
}

/// Search, answers with citations and embeddings.
pub struct Knowledge<'a> {
    c: &'a Client,
}

impl Client {
    pub fn collections(&self) -> Collections<'_> {
        Collections { c: self }
    }
    pub fn documents(&self) -> Documents<'_> {
        Documents { c: self }
    }
    pub fn knowledge(&self) -> Knowledge<'_> {
        Knowledge { c: self }
    }
}

impl<'a> Collections<'a> {
    /// Creates a collection: `{"name": …, "chunking"?, "embedding_model"?, "metadata"?}`.
    pub async fn create(&self, body: &Value) -> Result<Value> {
        self.c.request(Method::POST, "/api/v1/collections", Req::json(body)).await
    }
    pub async fn list(&self, limit: Option<u32>) -> Result<Vec<Value>> {
        self.c.request(Method::GET, "/api/v1/collections", Req::default().query("limit", limit.map(|l| l.to_string()))).await
    }
    pub async fn get(&self, id: &str) -> Result<Value> {
        self.c.request(Method::GET, &format!("/api/v1/collections/{}", seg(id)), Req::default()).await
    }
    pub async fn update(&self, id: &str, patch: &Value) -> Result<Value> {
        self.c.request(Method::PATCH, &format!("/api/v1/collections/{}", seg(id)), Req::json(patch)).await
    }
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/collections/{}", seg(id)), Req::default()).await.map(|_| ())
    }
    /// Adds a processed content item to the collection.
    pub async fn add_content(&self, id: &str, content_id: &str) -> Result<Value> {
        let body = json!({ "content_id": content_id });
        self.c.request(Method::POST, &format!("/api/v1/collections/{}/content", seg(id)), Req::json(&body)).await
    }
}

impl<'a> Documents<'a> {
    /// Creates a document; the answer holds a pre-signed `upload_url` to PUT the file to, then call `complete`.
    pub async fn create(&self, collection_id: &str, filename: &str, content_type: &str, size: Option<u64>) -> Result<Value> {
        let mut body = json!({ "collection_id": collection_id, "filename": filename, "content_type": content_type });
        if let Some(n) = size {
            body["size"] = json!(n);
        }
        self.c.request(Method::POST, "/api/v1/documents", Req::json(&body)).await
    }
    pub async fn list(&self, collection_id: Option<&str>) -> Result<Vec<Value>> {
        self.c.request(Method::GET, "/api/v1/documents", Req::default().query("collection_id", collection_id.map(String::from))).await
    }
    pub async fn get(&self, id: &str) -> Result<Value> {
        self.c.request(Method::GET, &format!("/api/v1/documents/{}", seg(id)), Req::default()).await
    }
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.c.send(Method::DELETE, &format!("/api/v1/documents/{}", seg(id)), Req::default()).await.map(|_| ())
    }
    pub async fn complete(&self, id: &str) -> Result<Value> {
        self.c.request(Method::POST, &format!("/api/v1/documents/{}/complete", seg(id)), Req::default()).await
    }
    pub async fn reindex(&self, id: &str) -> Result<Value> {
        self.c.request(Method::POST, &format!("/api/v1/documents/{}/reindex", seg(id)), Req::default()).await
    }
}

impl<'a> Knowledge<'a> {
    /// Ranked chunks of the collections for `q` (hybrid: BM25 and vectors fused by RRF).
    pub async fn search(&self, q: &str, collection_ids: &[&str], top_k: Option<u32>) -> Result<Value> {
        let req = Req::default()
            .query("q", Some(q.to_string()))
            .query("collection_ids", Some(collection_ids.join(",")))
            .query("top_k", top_k.map(|k| k.to_string()));
        self.c.request(Method::GET, "/api/v1/search", req).await
    }
    /// Search with a JSON body (`q`, `collection_ids`, `top_k`, `mode`, `filters`).
    pub async fn search_filtered(&self, body: &Value) -> Result<Value> {
        self.c.request(Method::POST, "/api/v1/search", Req::json(body)).await
    }
    /// The whole answer with its cited sources (`Accept: application/json`).
    pub async fn query(&self, question: &str, collection_ids: &[&str]) -> Result<Value> {
        let mut req = Req::json(&json!({ "question": question, "collection_ids": collection_ids }));
        req.headers.push(("accept".into(), "application/json".into()));
        self.c.request(Method::POST, "/api/v1/query", req).await
    }
    /// Vectors of the texts with the configured (or named) embedding model.
    pub async fn embeddings(&self, input: &[&str], model: Option<&str>) -> Result<Value> {
        let body = match model {
            Some(m) => json!({ "input": input, "model": m }),
            None => json!({ "input": input }),
        };
        self.c.request(Method::POST, "/api/v1/embeddings", Req::json(&body)).await
    }
}
