//! Every call family against a live Loam started through sdks/testserver.mjs (needs `npm run build`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use loam::{Client, CreateApiKey, CreateDataset, DatasetSchema, Error, ExportParams, NewRecord, PolicyParams, RecordQuery, SchemaField};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../examples/quickstart.rs"]
mod quickstart;

mod bus;
mod llm;

struct Server {
    url: String,
    key: String,
    child: Option<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take()); // the launcher stops Loam when its stdin closes
            let _ = child.wait();
        }
    }
}

fn start() -> Server {
    if let Ok(url) = std::env::var("LOAM_TEST_URL") {
        return Server { url, key: std::env::var("LOAM_TEST_API_KEY").unwrap(), child: None };
    }
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let mut child = Command::new(node)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../testserver.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start sdks/testserver.mjs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).expect("testserver did not start Loam (npm run build?)");
    Server { url: info["url"].as_str().unwrap().into(), key: info["api_key"].as_str().unwrap().into(), child: Some(child) }
}

fn unique() -> String {
    format!("{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

fn schema() -> Option<DatasetSchema> {
    Some(DatasetSchema {
        fields: vec![SchemaField::new("email", "string").required().pii("email"), SchemaField::new("age", "integer"), SchemaField::new("zip", "string")],
    })
}

fn rows(n: usize) -> Vec<NewRecord> {
    (0..n).map(|i| NewRecord::new(json!({"email": format!("user{}@example.com", i), "age": 20 + i, "zip": format!("9410{}", i % 3)}))).collect()
}

fn dataset(name: String) -> CreateDataset {
    CreateDataset { name, schema: schema(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live() {
    let server = start();
    let c = Client::new(&server.key, &server.url);
    datasets(&c).await;
    records_pages_and_streams(&c).await;
    versions(&c).await;
    anonymization(&c).await;
    keys_policies_audit(&c, &server).await;
    admin(&c).await;
    // Waits for a run of the server's purge job (every second on the test server), alongside what follows.
    let purge = tokio::spawn(bus::purged_positions_answer_410(c.clone()));
    errors(&c).await;
    retries(&server).await;
    environment_and_readme(&server).await;
    bus::send_history_list_get_token_delete(&c).await;
    bus::subscribe_resumes_without_duplicates(&c, &server.url, &server.key).await;
    bus::schemas_and_retention(&c).await;
    llm::generate_stream_models_usage_settings_errors(&c).await;
    purge.await.unwrap();
}

async fn datasets(c: &Client) {
    let name = format!("ds-{}", unique());
    let ds = c.datasets().create(CreateDataset { tags: vec!["sdk".into()], ..dataset(name.clone()) }).await.unwrap();
    assert!(ds.id.starts_with("ds_") && ds.encrypted_fields == vec!["email".to_string()]);
    assert_eq!(c.datasets().get(&ds.id).await.unwrap().name, name);
    let all: Vec<_> = c.datasets().list(Some("sdk"), Some(1)).try_collect().await.unwrap();
    assert!(all.iter().any(|d| d.id == ds.id));
    assert_eq!(c.datasets().update(&ds.id, json!({"description": "described"})).await.unwrap().description.as_deref(), Some("described"));
    assert_eq!(c.datasets().archive(&ds.id).await.unwrap().status, "archived");
    assert_eq!(c.datasets().restore(&ds.id).await.unwrap().status, "active");
    c.records().insert_many(&ds.id, &rows(3)).await.unwrap();
    assert_eq!(c.datasets().stats(&ds.id, None).await.unwrap()["record_count"], json!(3));
    assert_eq!(c.datasets().lineage(&ds.id).await.unwrap()["dataset_id"], json!(ds.id));
    let idx = c.datasets().create_index(&ds.id, "age").await.unwrap();
    assert_eq!(c.datasets().list_indexes(&ds.id).await.unwrap().len(), 1);
    c.datasets().delete_index(&ds.id, &idx.id).await.unwrap();
    c.datasets().delete(&ds.id).await.unwrap();
    assert!(matches!(c.datasets().get(&ds.id).await, Err(Error::NotFound(_))));
}

async fn records_pages_and_streams(c: &Client) {
    let ds = c.datasets().create(dataset(format!("rec-{}", unique()))).await.unwrap();
    let res = c.records().insert_many_chunked(&ds.id, &rows(9), 4).await.unwrap();
    assert_eq!((res.inserted, res.ids.len()), (9, 9));
    let ages: Vec<u64> = c
        .records()
        .iterate(&ds.id, RecordQuery::filter(json!({"age": {"$gte": 22}})).limit(2))
        .map_ok(|r| r.data["age"].as_u64().unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ages, vec![22, 23, 24, 25, 26, 27, 28]);
    let first = c.records().query_page(&ds.id, RecordQuery { count: true, ..RecordQuery::default().sort("-age").limit(3) }).await.unwrap();
    assert_eq!(first.total_count, Some(9));
    assert!(first.cursor.is_some());
    assert_eq!(first.items[0].data["age"], json!(28));
    let listed: Vec<_> = c
        .records()
        .list(&ds.id, RecordQuery { fields: vec!["age".into()], ..RecordQuery::filter(json!({"age": {"$lt": 22}})).limit(1) })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].data.len(), 1);
    let rec = c.records().get(&ds.id, &res.ids[0]).await.unwrap();
    let upd = c.records().update(&ds.id, &rec.id, json!({"age": 99, "zip": null}), None).await.unwrap();
    assert_eq!(upd.data.get("zip"), None);
    assert!(matches!(c.records().update(&ds.id, &rec.id, json!({"age": 1}), Some("\"stale\"")).await, Err(Error::PreconditionFailed(_))));
    c.records().delete(&ds.id, &rec.id).await.unwrap();

    let mut chunks = c.records().download(&ds.id, ExportParams { format: Some("csv".into()), ..Default::default() }).await.unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(body).unwrap();
    assert_eq!(text.lines().count(), 9);
    assert_eq!(text.lines().next(), Some("id,email,age,zip"));
    let exp = c.records().export(&ds.id, ExportParams { filter: Some(json!({"age": {"$gte": 27}})), ..Default::default() }).await.unwrap();
    c.jobs().wait(&exp.job.id).await.unwrap();
    let info = c.records().get_export(&exp.export_id).await.unwrap();
    assert_eq!((info.status.as_str(), info.record_count), ("succeeded", 2));
    let bytes: Vec<_> = c.records().download_export(&exp.export_id).await.unwrap().try_collect().await.unwrap();
    assert_eq!(bytes.concat().iter().filter(|b| **b == b'\n').count(), 2);

    let started = c
        .records()
        .import(&ds.id, "{\"id\":\"n1\",\"email\":\"n1@example.com\"}\n{\"id\":\"n2\",\"age\":\"old\"}\n", "ndjson", None)
        .await
        .unwrap();
    c.jobs().wait(&started.job.id).await.unwrap();
    let imp = c.records().get_import(&ds.id, &started.import_id).await.unwrap();
    assert_eq!((imp.processed, imp.failed), (2, 1));
    let errs: Vec<_> = c.records().import_errors(&ds.id, &imp.id).try_collect().await.unwrap();
    assert_eq!(errs[0].line, 2);
    let csv = c.records().import_and_wait(&ds.id, "id,email,age\nc1,c1@example.com,7\n", "csv").await.unwrap();
    assert_eq!(csv.processed, 1);
}

async fn versions(c: &Client) {
    let ds = c.datasets().create(dataset(format!("ver-{}", unique()))).await.unwrap();
    c.records().insert_many(&ds.id, &[NewRecord::with_id("a", json!({"email": "a@example.com"}))]).await.unwrap();
    let v1 = c.versions().create(&ds.id, json!({"name": "v1"})).await.unwrap();
    c.records().insert_many(&ds.id, &[NewRecord::with_id("b", json!({"email": "b@example.com"}))]).await.unwrap();
    let v2 = c.versions().create(&ds.id, json!({"name": "v2"})).await.unwrap();
    let all: Vec<_> = c.versions().list(&ds.id, Some(1)).try_collect().await.unwrap();
    assert_eq!(all.iter().map(|v| v.id.clone()).collect::<Vec<_>>(), vec![v1.id.clone(), v2.id.clone()]);
    assert_eq!(c.versions().get(&ds.id, &v1.id).await.unwrap().checksum, v1.checksum);
    assert_eq!(c.versions().update(&ds.id, &v1.id, json!({"description": "first"})).await.unwrap().description.as_deref(), Some("first"));
    assert_eq!(c.versions().diff(&ds.id, &v1.id, &v2.id, false).await.unwrap().added, vec!["b".to_string()]);
    assert_eq!(c.versions().deprecate(&ds.id, &v1.id).await.unwrap().status, "deprecated");
    c.versions().delete(&ds.id, &v2.id).await.unwrap();
}

async fn anonymization(c: &Client) {
    let u = unique();
    let a = c.anonymization();
    assert!(a.analyze(json!({"text": "Mail ada@example.com"})).await.unwrap()["entities"].to_string().contains("EMAIL_ADDRESS"));
    let masked = a.anonymize(json!({"text": "Mail ada@example.com", "operators": {"EMAIL_ADDRESS": {"type": "mask", "keep_last": 4}}})).await.unwrap();
    assert!(!masked["text"].as_str().unwrap().contains("ada@"));
    let table: Vec<_> = (0..8).map(|i| json!({"age": 30 + i % 4, "zip": format!("9410{}", i % 2)})).collect();
    let k = a
        .anonymize(json!({"records": table, "privacy_model": {"k": 2, "quasi_identifiers": [{"field": "age", "type": "number"}]}}))
        .await
        .unwrap();
    assert_eq!(k["privacy"]["satisfied"], json!(true));
    a.validate(json!({"records": table, "quasi_identifiers": ["zip", "age"], "k": 2})).await.unwrap();
    let tok = a.anonymize(json!({"text": "Mail ada@example.com", "operators": {"EMAIL_ADDRESS": {"type": "tokenize"}}})).await.unwrap();
    assert_eq!(a.deanonymize(json!({"text": tok["text"]})).await.unwrap()["text"], json!("Mail ada@example.com"));
    assert!(!a.techniques().await.unwrap().is_empty());
    let budget = format!("b-{}", u);
    a.set_budget(&budget, 2.0).await.unwrap();
    a.aggregate(json!({"budget": budget, "records": table, "query": {"type": "count", "epsilon": 0.5}})).await.unwrap();
    assert_eq!(a.budget(&budget).await.unwrap()["epsilon_remaining"], json!(1.5));
    a.metrics().await.unwrap();
    let r = a
        .recognizers()
        .create(json!({"name": format!("emp-{}", u), "entity_type": "EMPLOYEE_ID", "patterns": [{"regex": "E-\\d{6}", "score": 0.8}]}))
        .await
        .unwrap();
    a.recognizers().get(&r.id).await.unwrap();
    assert!(!a.recognizers().list().await.unwrap().is_empty());
    a.recognizers().update(&r.id, json!({"context": ["employee"]})).await.unwrap();
    a.recognizers().delete(&r.id).await.unwrap();

    let ds = c.datasets().create(dataset(format!("anon-{}", u))).await.unwrap();
    c.records().insert_many(&ds.id, &rows(6)).await.unwrap();
    let job = c
        .datasets()
        .anonymize(&ds.id, json!({"policy": {"operators": {"EMAIL_ADDRESS": {"type": "mask"}}}, "name": format!("anon-out-{}", u)}))
        .await
        .unwrap();
    let done = c.jobs().wait(&job.id).await.unwrap();
    let derived = c.datasets().get(done.result["dataset_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(derived.record_count, 6);
    c.datasets().aggregate(&ds.id, json!({"query": {"type": "count", "epsilon": 0.1}})).await.unwrap();
}

async fn keys_policies_audit(c: &Client, server: &Server) {
    let u = unique();
    let key = c.api_keys().create(CreateApiKey { name: format!("key-{}", u), scopes: vec!["datasets:read".into()], ..Default::default() }).await.unwrap();
    c.api_keys().get(&key.id).await.unwrap();
    let keys: Vec<_> = c.api_keys().list(Some(1)).try_collect().await.unwrap();
    assert!(keys.len() >= 2);
    let reader = Client::new(key.key.clone().unwrap(), &server.url);
    let denied = reader.datasets().create(CreateDataset { name: format!("nope-{}", u), ..Default::default() }).await;
    match denied {
        Err(Error::PermissionDenied(p)) => assert!(p.status == 403 && !p.request_id.is_empty()),
        other => panic!("want 403, got {:?}", other.map(|d| d.id)),
    }
    let rotated = c.api_keys().rotate(&key.id).await.unwrap();
    assert_ne!(rotated.key, key.key);
    let after: Result<Vec<_>, _> = reader.datasets().list(None, None).try_collect().await;
    assert!(matches!(after, Err(Error::Authentication(_))));
    c.api_keys().revoke(&key.id).await.unwrap();

    let pol = c
        .policies()
        .create(PolicyParams {
            name: format!("pol-{}", u),
            policy: "forbid(principal, action, resource) when { resource.classification == \"restricted\" };".into(),
            description: None,
        })
        .await
        .unwrap();
    c.policies().get(&pol.id).await.unwrap();
    let _: Vec<_> = c.policies().list(None).try_collect().await.unwrap();
    assert_eq!(c.policies().update(&pol.id, json!({"description": "reviewed"})).await.unwrap().version, 2);
    let replaced = c
        .policies()
        .replace(&pol.id, PolicyParams { name: format!("pol-{}", u), policy: "permit(principal, action, resource);".into(), description: None })
        .await
        .unwrap();
    assert_eq!(replaced.effect, "permit");
    c.policies().schema().await.unwrap();
    let bad = c.policies().create(PolicyParams { name: format!("bad-{}", u), policy: "not cedar".into(), description: None }).await;
    assert!(matches!(bad, Err(Error::BadRequest(_)) | Err(Error::Validation(_))));
    c.policies().delete(&pol.id).await.unwrap();

    let entries: Vec<_> = c.audit_logs().list(&[], Some(5)).take(1).try_collect().await.unwrap();
    c.audit_logs().get(&entries[0].id).await.unwrap();
    assert_eq!(c.audit_logs().verify().await.unwrap()["valid"], json!(true));
    assert_eq!(c.whoami().await.unwrap()["kind"], json!("api_key"));
    c.content().stats().await.unwrap();
    c.content().search("anything", None).await.unwrap();
    c.content().callback_secret().await.unwrap();
}

async fn errors(c: &Client) {
    match c.datasets().create(CreateDataset { name: "".into(), ..Default::default() }).await {
        Err(Error::Validation(p)) => assert!(p.status == 400 && !p.errors.is_empty() && !p.request_id.is_empty() && !p.type_.is_empty()),
        other => panic!("want validation error, got {:?}", other.map(|d| d.id)),
    }
    let name = format!("dup-{}", unique());
    c.datasets().create(CreateDataset { name: name.clone(), ..Default::default() }).await.unwrap();
    assert!(matches!(c.datasets().create(CreateDataset { name, ..Default::default() }).await, Err(Error::Conflict(_))));
    let missing = c.records().get("ds_missing", "r1").await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert!(missing.request_id().is_some());
    let bad = Client::builder().api_key("x").base_url("http://127.0.0.1:9").max_retries(0).build();
    assert!(matches!(bad.whoami().await, Err(Error::Connection(_))));
}

/// A proxy to Loam that answers the first requests from a script of (status, Retry-After).
struct Flaky {
    url: String,
    script: Arc<Mutex<Vec<(u16, Option<&'static str>)>>>,
    keys: Arc<Mutex<Vec<Option<String>>>>,
}

async fn flaky(upstream: String) -> Flaky {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let script: Arc<Mutex<Vec<(u16, Option<&'static str>)>>> = Arc::new(Mutex::new(Vec::new()));
    let keys = Arc::new(Mutex::new(Vec::new()));
    let (s, k) = (script.clone(), keys.clone());
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let (s, k, http, upstream) = (s.clone(), k.clone(), http.clone(), upstream.clone());
            tokio::spawn(async move {
                // read the head, then the body by content-length (the client sends no chunked bodies)
                let mut buf = Vec::new();
                let mut tmp = [0u8; 8192];
                let head_end = loop {
                    let n = sock.read(&mut tmp).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.lines();
                let mut first = lines.next().unwrap().split(' ');
                let (method, path) = (first.next().unwrap().to_string(), first.next().unwrap().to_string());
                let mut headers = Vec::new();
                for l in lines {
                    if let Some((name, value)) = l.split_once(':') {
                        headers.push((name.trim().to_lowercase(), value.trim().to_string()));
                    }
                }
                let len: usize = headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.parse().unwrap()).unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut tmp).await.unwrap();
                    buf.extend_from_slice(&tmp[..n]);
                }
                let body = buf[head_end..head_end + len].to_vec();
                k.lock().unwrap().push(headers.iter().find(|(n, _)| n == "idempotency-key").map(|(_, v)| v.clone()));
                let step = {
                    let mut script = s.lock().unwrap();
                    if script.is_empty() {
                        None
                    } else {
                        Some(script.remove(0))
                    }
                };
                let (status, extra, payload) = match step {
                    Some((status, retry_after)) => {
                        let payload = json!({"status": status, "code": "injected", "detail": "injected", "request_id": "req_proxy"}).to_string();
                        let extra = retry_after.map(|r| format!("retry-after: {}\r\n", r)).unwrap_or_default();
                        (status, extra, payload.into_bytes())
                    }
                    None => {
                        let mut rb = http.request(method.parse().unwrap(), format!("{}{}", upstream, path)).body(body);
                        for (n, v) in &headers {
                            if n != "host" && n != "content-length" && n != "connection" {
                                rb = rb.header(n.as_str(), v.as_str());
                            }
                        }
                        let res = rb.send().await.unwrap();
                        let status = res.status().as_u16();
                        let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                        (status, format!("content-type: {}\r\n", ctype), res.bytes().await.unwrap().to_vec())
                    }
                };
                let head = format!("HTTP/1.1 {} X\r\n{}content-length: {}\r\nconnection: close\r\n\r\n", status, extra, payload.len());
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&payload).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Flaky { url, script, keys }
}

async fn retries(server: &Server) {
    let f = flaky(server.url.clone()).await;
    *f.script.lock().unwrap() = vec![(503, None), (429, Some("1"))];
    let c = Client::builder().api_key(&server.key).base_url(&f.url).max_retries(2).build();
    let started = Instant::now();
    let ds = c.datasets().create(CreateDataset { name: format!("retry-{}", unique()), ..Default::default() }).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
    let keys = f.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert!(keys[0].is_some() && keys.iter().all(|k| k == &keys[0]), "one Idempotency-Key for every attempt");
    Client::new(&server.key, &server.url).datasets().get(&ds.id).await.unwrap();

    *f.script.lock().unwrap() = vec![(429, Some("0")), (429, Some("2"))];
    let c1 = Client::builder().api_key(&server.key).base_url(&f.url).max_retries(1).build();
    match c1.whoami().await {
        Err(Error::RateLimited { problem, retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(2)));
            assert_eq!(problem.request_id, "req_proxy");
        }
        other => panic!("want rate limited, got {:?}", other),
    }
    *f.script.lock().unwrap() = vec![(500, None)];
    let c0 = Client::builder().api_key(&server.key).base_url(&f.url).max_retries(0).build();
    assert!(matches!(c0.whoami().await, Err(Error::Server(_))));
}

async fn environment_and_readme(server: &Server) {
    std::env::set_var("LOAM_API_KEY", &server.key);
    std::env::set_var("LOAM_API_BASE_URL", &server.url);
    std::env::set_var("LOAM_MAX_RETRIES", "0");
    let c = Client::from_env();
    assert_eq!((c.base_url(), c.max_retries()), (server.url.as_str(), 0));
    c.whoami().await.unwrap();
    std::env::remove_var("LOAM_MAX_RETRIES");

    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.rs")).unwrap();
    assert!(readme.contains(&example), "README.md must show examples/quickstart.rs verbatim");
    // The dataset name is unique per server; this server is fresh, so the example runs as written.
    quickstart::run().await.unwrap();
}

async fn admin(c: &Client) {
    let email = format!("admin-{}@example.com", unique());
    c.send(loam::Method::POST, "/auth/signup", loam::Req::json(&json!({"email": email, "password": "correct horse battery staple"}))).await.unwrap();
    let mail = c.admin().mailbox().list(Some(&email), Some(1)).await.unwrap();
    assert_eq!(mail.iter().map(|m| m.to.clone()).collect::<Vec<_>>(), vec![email.clone()]);
    let users: Vec<loam::User> = c.admin().users().list(Some(100), None).try_collect().await.unwrap();
    let user = users.into_iter().find(|u| u.email == email).expect("the new user is listed");
    assert_eq!(user.status, "unconfirmed");
    assert_eq!(c.admin().users().get(&user.id).await.unwrap().email, email);
    let changes = loam::UpdateUser { roles: Some(vec!["analyst".into()]), status: Some("disabled".into()), ..Default::default() };
    let changed = c.admin().users().update(&user.id, changes).await.unwrap();
    assert_eq!((changed.roles, changed.status.as_str()), (vec!["analyst".to_string()], "disabled"));
    assert!(matches!(c.admin().users().get("usr_missing").await, Err(Error::NotFound(_))));
    c.admin().signing_keys().list().await.unwrap();
    // The test server signs with HS256: there is no key to rotate.
    assert!(matches!(c.admin().signing_keys().rotate().await, Err(Error::Conflict(_))));
    let health = c.admin().health().await.unwrap();
    assert!(health["components"].as_array().map_or(false, |a| !a.is_empty()));
    c.admin().rotate_master_key().await.unwrap();
}
