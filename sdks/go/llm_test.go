package loam_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	loam "loam.dev/loam-go"
)

// The test server's one LLM provider is the OpenAI-compatible double of sdks/llm-double.mjs: it
// answers "echo: <prompt>" with 7 prompt tokens and one completion token per word.
const llmModel = "gpt-test"

func TestLLMGenerateAndStream(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	g, err := c.LLM.Generate(ctx, loam.GenerateParams{Model: llmModel, Prompt: "Say hi", System: "Be brief.", MaxTokens: 50})
	if err != nil {
		t.Fatal(err)
	}
	if g.Text != "echo: Say hi" || g.Provider != "double" || g.FinishReason != "stop" || g.Attempts != 1 {
		t.Fatalf("generation: %+v", g)
	}
	if g.Usage != (loam.LLMUsage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}) {
		t.Fatalf("usage: %+v", g.Usage)
	}
	d, err := c.LLM.Generate(ctx, loam.GenerateParams{Model: llmModel, Messages: []loam.LLMMessage{{Role: "user", Content: "Mail ada@example.com"}}, Privacy: "detect"})
	if err != nil || d.Privacy.Mode != "detect" || d.Privacy.Entities["EMAIL_ADDRESS"] != 1 {
		t.Fatalf("privacy: %+v %v", d, err)
	}

	var types []string
	var text strings.Builder
	var finish loam.GenerationPart
	err = c.LLM.Stream(ctx, loam.GenerateParams{Model: llmModel, Prompt: "one two three"}, func(p loam.GenerationPart) error {
		types = append(types, p.Type)
		if p.Type == "delta" {
			text.WriteString(p.Text)
		}
		finish = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if types[0] != "start" || text.String() != "echo: one two three" || finish.Type != "finish" || finish.Usage.TotalTokens != 11 {
		t.Fatalf("stream: %v %q %+v", types, text.String(), finish)
	}
	// The handler's error stops the stream and comes back as is.
	stop := errors.New("enough")
	err = c.LLM.Stream(ctx, loam.GenerateParams{Model: llmModel, Prompt: "a b c"}, func(loam.GenerationPart) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("want the handler's error, got %v", err)
	}
}

func TestLLMModelsUsageSettings(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	models, err := c.LLM.Models(ctx)
	if err != nil || len(models) != 1 || models[0] != (loam.LLMModel{ID: llmModel, Provider: "double"}) {
		t.Fatalf("models: %+v %v", models, err)
	}
	must(c.LLM.Generate(ctx, loam.GenerateParams{Model: llmModel, Prompt: "count me"}))
	deadline := time.Now().Add(10 * time.Second)
	for { // calls are recorded in batches, off the answer's path
		u, err := c.LLM.Usage(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if u.Totals.Calls >= 1 && len(u.Days) > 0 && u.Totals.TotalTokens >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage: %+v", u)
		}
		time.Sleep(50 * time.Millisecond)
	}
	old, err := c.LLM.Usage(ctx, "2000-01-01", "2000-01-31")
	if err != nil || old.Totals.Calls != 0 || old.From != "2000-01-01" {
		t.Fatalf("old usage: %+v %v", old, err)
	}

	mode, quota := "detect", int64(1_000_000)
	defer func() {
		_, _ = c.LLM.UpdateSettings(ctx, loam.LLMSettingsUpdate{ResetPrivacyMode: true, ResetDailyTokenQuota: true})
	}()
	s, err := c.LLM.UpdateSettings(ctx, loam.LLMSettingsUpdate{PrivacyMode: &mode, DailyTokenQuota: &quota})
	if err != nil || s.PrivacyMode == nil || *s.PrivacyMode != "detect" || s.DailyTokenQuota == nil || *s.DailyTokenQuota != quota {
		t.Fatalf("update: %+v %v", s, err)
	}
	got, err := c.LLM.Settings(ctx)
	if err != nil || got.Effective.PrivacyMode != "detect" || got.Effective.DailyTokenQuota != quota {
		t.Fatalf("settings: %+v %v", got, err)
	}
	s, err = c.LLM.UpdateSettings(ctx, loam.LLMSettingsUpdate{ResetPrivacyMode: true})
	if err != nil || s.PrivacyMode != nil || s.Effective.PrivacyMode != "off" || s.Effective.DailyTokenQuota != quota {
		t.Fatalf("reset: %+v %v", s, err)
	}
}

func TestLLMUnknownModel(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	_, err := c.LLM.Generate(ctx, loam.GenerateParams{Model: "no-such-model", Prompt: "hi"})
	var lerr *loam.Error
	if !errors.As(err, &lerr) || lerr.Kind != loam.KindConflict || lerr.Code != "llm_not_configured" || !strings.Contains(lerr.Detail, "no-such-model") {
		t.Fatalf("want llm_not_configured, got %v", err)
	}
	err = c.LLM.Stream(ctx, loam.GenerateParams{Model: "no-such-model", Prompt: "hi"}, func(loam.GenerationPart) error { return nil })
	if kind(err) != loam.KindConflict {
		t.Fatalf("stream: want conflict, got %v", err)
	}
}
