//! The LLM gateway against the live Loam of tests/live.rs, whose one provider is the OpenAI-compatible
//! double of sdks/llm-double.mjs ("echo: <prompt>", 7 prompt tokens, one completion token per word).

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use loam::{Client, Error, Generate, GenerationPart, LlmMessage, LlmModel, LlmSettingsUpdate, LlmUsage, Setting};

const MODEL: &str = "gpt-test";

pub async fn generate_stream_models_usage_settings_errors(c: &Client) {
    generate(c).await;
    stream(c).await;
    models_and_usage(c).await;
    settings(c).await;
    errors(c).await;
}

async fn generate(c: &Client) {
    let g = c.llm().generate(Generate { system: Some("Be brief.".into()), max_tokens: Some(50), ..Generate::prompt("Say hi").model(MODEL) }).await.unwrap();
    assert_eq!((g.text.as_str(), g.provider.as_str(), g.finish_reason.as_str(), g.attempts), ("echo: Say hi", "double", "stop", 1));
    assert_eq!(g.usage, LlmUsage { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    let d = c.llm().generate(Generate::messages(vec![LlmMessage::new("user", "Mail ada@example.com")]).model(MODEL).privacy("detect")).await.unwrap();
    assert_eq!((d.privacy.mode.as_str(), d.privacy.entities.get("EMAIL_ADDRESS")), ("detect", Some(&1)));
}

async fn stream(c: &Client) {
    let parts: Vec<GenerationPart> = c.llm().stream(Generate::prompt("one two three").model(MODEL)).try_collect().await.unwrap();
    assert!(matches!(&parts[0], GenerationPart::Start { provider, .. } if provider == "double"));
    let text: String = parts.iter().filter_map(|p| if let GenerationPart::Delta { text } = p { Some(text.as_str()) } else { None }).collect();
    assert_eq!(text, "echo: one two three");
    match parts.last() {
        Some(GenerationPart::Finish { usage, finish_reason, .. }) => assert!(usage.total_tokens == 11 && finish_reason == "stop"),
        other => panic!("want finish, got {:?}", other),
    }
    // Leaving early: the first part, then the stream is dropped (the connection closed).
    let mut s = c.llm().stream(Generate::prompt("a b c").model(MODEL));
    assert!(matches!(s.next().await, Some(Ok(GenerationPart::Start { .. }))));
    drop(s);
}

async fn models_and_usage(c: &Client) {
    assert_eq!(c.llm().models().await.unwrap(), vec![LlmModel { id: MODEL.into(), provider: "double".into() }]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Calls are recorded in batches, off the answer's path.
        let u = c.llm().usage(None, None).await.unwrap();
        if u.totals.calls >= 2 && u.days.iter().any(|d| d.model == MODEL) {
            assert!(u.totals.total_tokens >= 10);
            break;
        }
        assert!(Instant::now() < deadline, "usage: {:?}", u);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let old = c.llm().usage(Some("2000-01-01"), Some("2000-01-31")).await.unwrap();
    assert_eq!((old.from.as_str(), old.totals.calls), ("2000-01-01", 0));
}

async fn settings(c: &Client) {
    let before = c.llm().settings().await.unwrap();
    assert_eq!(before.privacy_mode, None);
    let s = c
        .llm()
        .update_settings(LlmSettingsUpdate { privacy_mode: Setting::Set("detect".into()), daily_token_quota: Setting::Set(1_000_000) })
        .await
        .unwrap();
    assert_eq!((s.privacy_mode.as_deref(), s.daily_token_quota), (Some("detect"), Some(1_000_000)));
    let got = c.llm().settings().await.unwrap();
    assert_eq!((got.effective.privacy_mode.as_str(), got.effective.daily_token_quota), ("detect", 1_000_000));
    // Only what is given changes; Setting::Default returns a setting to the server default.
    let s = c.llm().update_settings(LlmSettingsUpdate { privacy_mode: Setting::Default, ..Default::default() }).await.unwrap();
    assert_eq!((s.privacy_mode, s.effective.privacy_mode.as_str(), s.daily_token_quota), (None, "off", Some(1_000_000)));
    c.llm().update_settings(LlmSettingsUpdate { daily_token_quota: Setting::Default, ..Default::default() }).await.unwrap();
    assert_eq!(c.llm().settings().await.unwrap().effective.daily_token_quota, 0);
}

async fn errors(c: &Client) {
    match c.llm().generate(Generate::prompt("hi").model("no-such-model")).await {
        Err(Error::Conflict(p)) => assert!(p.code == "llm_not_configured" && p.detail.contains("no-such-model")),
        other => panic!("want llm_not_configured, got {:?}", other.map(|g| g.text)),
    }
    let first = c.llm().stream(Generate::prompt("hi").model("no-such-model")).next().await;
    assert!(matches!(first, Some(Err(Error::Conflict(_)))), "stream: {:?}", first.map(|r| r.is_ok()));
    assert!(matches!(c.llm().generate(Generate { model: Some(MODEL.into()), ..Default::default() }).await, Err(Error::Validation(_))));
}
