//! The message bus against the live Loam of tests/live.rs: batches, history pages, subscriptions that
//! resume after a dropped connection, purged positions.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use loam::{Client, Error, SendMessage, SubscriptionEvent};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::unique;

fn note(n: u64) -> SendMessage {
    SendMessage::new(json!({ "n": n })).with_type("note")
}

fn positions(ms: &[loam::BusMessage]) -> Vec<u64> {
    ms.iter().map(|m| m.position).collect()
}

pub async fn send_history_list_get_token_delete(c: &Client) {
    let prefix = format!("sdk-{}:", unique());
    let sid = format!("{}chat", prefix);
    let s = c.sessions();
    let sent = s.send(&sid, &(1..=5).map(note).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(positions(&sent), vec![1, 2, 3, 4, 5]);
    let one = s.send(&sid, &[note(6)]).await.unwrap();
    assert_eq!((one[0].position, one[0].type_.as_deref(), &one[0].data), (6, Some("note"), &json!({"n": 6})));
    assert_eq!(positions(&s.messages(&sid, 2, Some(2)).await.unwrap()), vec![3, 4]);
    let all: Vec<_> = s.history(&sid, 0, Some(2)).try_collect().await.unwrap();
    assert_eq!(positions(&all), vec![1, 2, 3, 4, 5, 6]);
    let session = s.get(&sid).await.unwrap();
    assert_eq!((session.id.as_str(), session.head, session.purged_through), (sid.as_str(), 6, 0));
    s.send(&format!("{}other", prefix), &[note(1)]).await.unwrap();
    let listed: Vec<_> = s.list(Some(&prefix), Some(1)).try_collect().await.unwrap();
    assert_eq!(listed.iter().map(|x| x.id.clone()).collect::<Vec<_>>(), vec![sid.clone(), format!("{}other", prefix)]);
    let token = s.token(&sid).await.unwrap();
    assert!(!token.token.is_empty() && token.expires_in > 0);
    s.delete(&sid).await.unwrap();
    assert!(matches!(s.get(&sid).await, Err(Error::NotFound(_))));
}

/// A TCP proxy to Loam that cuts the first /stream connection once `cut_after` messages went through it.
async fn cutting_proxy(upstream: String, cut_after: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let streams: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let seen_streams = streams.clone();
    let upstream = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        loop {
            let (mut down, _) = match listener.accept().await {
                Ok(x) => x,
                Err(_) => return,
            };
            let (streams, upstream) = (seen_streams.clone(), upstream.clone());
            tokio::spawn(async move {
                let mut up = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let mut buf = vec![0u8; 65536];
                let n = down.read(&mut buf).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string();
                let cut = line.contains("/stream") && {
                    let mut s = streams.lock().unwrap();
                    s.push(line.clone());
                    s.len() == 1
                };
                up.write_all(&buf[..n]).await.unwrap();
                let (mut down_r, mut down_w) = down.into_split();
                let (mut up_r, mut up_w) = up.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut down_r, &mut up_w).await;
                });
                let mut seen = 0;
                loop {
                    let n = match up_r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if down_w.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    seen += String::from_utf8_lossy(&buf[..n]).matches("event: message").count();
                    if cut && seen >= cut_after {
                        break;
                    }
                }
                let _ = down_w.shutdown().await;
            });
        }
    });
    (url, streams)
}

pub async fn subscribe_resumes_without_duplicates(c: &Client, url: &str, key: &str) {
    let sid = format!("sdk-{}:live", unique());
    c.sessions().send(&sid, &[note(1), note(2), note(3)]).await.unwrap(); // before the subscription
    let (proxy, streams) = cutting_proxy(url.to_string(), 2).await;
    let via_proxy = Client::new(key, &proxy);
    let mut events = via_proxy.sessions().subscribe_events(&sid, 0);
    let (mut got, mut started, mut reconnects) = (Vec::new(), Vec::new(), 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(ev) = tokio::time::timeout_at(deadline.into(), events.next()).await.expect("subscription timed out") {
        match ev.unwrap() {
            SubscriptionEvent::Started { reconnected, .. } => {
                started.push(reconnected);
                // live messages, sent once the subscription is live, and once it has resumed
                let live = if reconnected { vec![note(6)] } else { vec![note(4), note(5)] };
                c.sessions().send(&sid, &live).await.unwrap();
            }
            SubscriptionEvent::Reconnecting { .. } => reconnects += 1,
            SubscriptionEvent::Message(m) => {
                got.push(m.position);
                if m.position == 6 {
                    break;
                }
            }
        }
    }
    drop(events);
    assert_eq!(got, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!((started, reconnects), (vec![false, true], 1));
    let streams = streams.lock().unwrap().clone();
    assert_eq!(streams.len(), 2);
    assert!(streams[0].contains("after=0") && !streams[1].contains("after=0"), "{:?}", streams);

    // subscribe: only the messages; a stream is stopped by dropping it
    let firsts: Vec<_> = c.sessions().subscribe(&sid, 4).take(2).try_collect().await.unwrap();
    assert_eq!(positions(&firsts), vec![5, 6]);

    // errors a retry cannot fix end the stream
    let bad = Client::new("loam_sk_wrong", url);
    let all: Vec<_> = bad.sessions().subscribe(&sid, 0).collect().await;
    assert!(matches!(all.as_slice(), [Err(Error::Authentication(_))]), "{:?}", all);
}

pub async fn schemas_and_retention(c: &Client) {
    let s = c.sessions();
    let prefix = format!("sdk-{}-typed:", unique());
    let schema = json!({"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]});
    assert_eq!(s.put_schema(&prefix, schema.clone()).await.unwrap().schema, schema);
    assert!(s.schemas().await.unwrap().iter().any(|x| x.prefix == prefix));
    s.send(&format!("{}1", prefix), &[SendMessage::new(json!({"amount": 3}))]).await.unwrap();
    let bad = s.send(&format!("{}1", prefix), &[SendMessage::new(json!({"amount": "three"}))]).await;
    assert!(matches!(bad, Err(Error::Validation(_)) | Err(Error::BadRequest(_))), "{:?}", bad);
    s.delete_schema(&prefix).await.unwrap();
    assert!(!s.schemas().await.unwrap().iter().any(|x| x.prefix == prefix));
    let rule = s.put_retention(&prefix, Some(3600), None).await.unwrap();
    assert_eq!((rule.prefix.as_str(), rule.max_age_sec, rule.max_messages), (prefix.as_str(), Some(3600), None));
    assert!(s.retention().await.unwrap().iter().any(|r| r.prefix == prefix));
    s.delete_retention(&prefix).await.unwrap();
    assert!(!s.retention().await.unwrap().iter().any(|r| r.prefix == prefix));
}

/// The server purges once a minute (the bus.purge job): this waits for that run (spawned, so the wait
/// overlaps the tests that follow it).
pub async fn purged_positions_answer_410(c: Client) {
    let s = c.sessions();
    let prefix = format!("sdk-{}-purge:", unique());
    let sid = format!("{}1", prefix);
    s.put_retention(&prefix, None, Some(2)).await.unwrap();
    s.send(&sid, &(1..=5).map(note).collect::<Vec<_>>()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while s.get(&sid).await.unwrap().purged_through < 3 {
        assert!(Instant::now() < deadline, "the purge job did not run within 90 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    match s.messages(&sid, 0, None).await {
        Err(Error::Api(p)) => assert_eq!((p.status, p.code.as_str()), (410, "position_purged")),
        other => panic!("want 410, got {:?}", other),
    }
    let all: Vec<_> = s.subscribe(&sid, 1).collect().await;
    assert!(matches!(all.as_slice(), [Err(Error::Api(p))] if p.status == 410), "{:?}", all);
    let rest: Vec<_> = s.history(&sid, 3, None).try_collect().await.unwrap();
    assert_eq!(positions(&rest), vec![4, 5]);
    s.delete_retention(&prefix).await.unwrap();
}
