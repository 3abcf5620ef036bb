"""The LLM gateway against a live Loam whose one provider is the OpenAI-compatible double of
sdks/llm-double.mjs (it answers "echo: <prompt>", 7 prompt tokens, one completion token per word)."""

from __future__ import annotations

import asyncio
import time
from typing import Dict, List

import pytest

import loam

MODEL = "gpt-test"


def test_generate_with_usage(client: loam.Client) -> None:
    r = client.llm.generate("Say hi", model=MODEL, system="Be brief.", max_tokens=50)
    assert isinstance(r, loam.Generation)
    assert r.text == "echo: Say hi"
    assert (r.provider, r.model, r.finish_reason, r.attempts) == ("double", MODEL, "stop", 1)
    assert r.usage == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert r.privacy["mode"] == "off"

    chat = client.llm.generate(model=MODEL, messages=[{"role": "user", "content": "Mail ada@example.com"}], privacy="detect")
    assert chat.text == "echo: Mail ada@example.com"
    assert chat.privacy == {"mode": "detect", "entities": {"EMAIL_ADDRESS": 1}}


def test_stream_collects_text_deltas(client: loam.Client) -> None:
    parts = list(client.llm.stream("one two three", model=MODEL))
    assert [p.type for p in parts][0] == "start" and parts[0].provider == "double"
    assert "".join(p.text for p in parts if p.type == "delta") == "echo: one two three"
    finish = parts[-1]
    assert finish.type == "finish" and finish.finish_reason == "stop"
    assert finish.usage == {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}


def test_async_generate_and_stream(server: Dict[str, str]) -> None:
    async def run() -> None:
        async with loam.AsyncClient(api_key=server["api_key"], base_url=server["url"]) as c:
            r = await c.llm.generate("async", model=MODEL)
            assert r.text == "echo: async"
            deltas: List[str] = [p.text async for p in c.llm.stream("a b", model=MODEL) if p.type == "delta"]
            assert "".join(deltas) == "echo: a b"

    asyncio.run(run())


def test_models_and_usage(client: loam.Client) -> None:
    assert [(m.id, m.provider) for m in client.llm.models()] == [(MODEL, "double")]
    client.llm.generate("count me", model=MODEL)
    deadline = time.monotonic() + 10
    while True:  # calls are recorded in batches, off the answer's path
        report = client.llm.usage()
        if report.totals.get("calls", 0) >= 1 and any(d["model"] == MODEL for d in report.days):
            break
        assert time.monotonic() < deadline, report
        time.sleep(0.05)
    assert report.totals["total_tokens"] >= 10
    assert report.from_ <= report.to
    assert client.llm.usage(from_="2000-01-01", to="2000-01-31").totals["calls"] == 0


def test_settings_round_trip(client: loam.Client) -> None:
    before = client.llm.settings()
    assert before.daily_token_quota is None and before.effective["privacy_mode"] == "off"
    try:
        s = client.llm.update_settings(privacy_mode="detect", daily_token_quota=1_000_000)
        assert (s.privacy_mode, s.daily_token_quota) == ("detect", 1_000_000)
        assert client.llm.settings().effective == {"privacy_mode": "detect", "daily_token_quota": 1_000_000}
        # Only what is given changes; None returns a setting to the server default (here 0: unlimited).
        # (The server currently stores a null quota as 0, ajv coercing null to an integer: same effect here.)
        s = client.llm.update_settings(daily_token_quota=None)
        assert (s.privacy_mode, s.effective["daily_token_quota"]) == ("detect", 0)
    finally:
        client.llm.update_settings(privacy_mode=None, daily_token_quota=None)
    assert client.llm.settings().privacy_mode is None


def test_unknown_model_is_an_error(client: loam.Client) -> None:
    with pytest.raises(loam.ConflictError) as e:
        client.llm.generate("hi", model="no-such-model")
    assert e.value.status == 409 and e.value.code == "llm_not_configured"
    assert "no-such-model" in e.value.detail
    with pytest.raises(loam.ConflictError):
        list(client.llm.stream("hi", model="no-such-model"))
    with pytest.raises(loam.ValidationError):
        client.llm.generate(model=MODEL)  # neither prompt nor messages
