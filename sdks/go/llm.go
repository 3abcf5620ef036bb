package loam

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// LLMService: the LLM gateway (/api/v1/llm/*): any configured model through one API, with privacy
// on the way out, retries, fallback and per-tenant quotas. (OpenAI SDKs can use Loam too: their
// base URL <loam>/v1 and a Loam API key.)
type LLMService struct{ c *Client }

// LLMMessage is one message of a conversation: Role "system", "user" or "assistant".
type LLMMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// GenerateParams is a generation request: exactly one of Prompt and Messages. Model is a model id
// or "provider/model" (empty: the server's default); Privacy "off", "detect", "redact" or
// "pseudonymize" (empty: the tenant's mode).
type GenerateParams struct {
	Model       string       `json:"model,omitempty"`
	Provider    string       `json:"provider,omitempty"`
	Prompt      string       `json:"prompt,omitempty"`
	Messages    []LLMMessage `json:"messages,omitempty"`
	System      string       `json:"system,omitempty"`
	Temperature *float64     `json:"temperature,omitempty"`
	MaxTokens   int          `json:"max_tokens,omitempty"`
	TopP        *float64     `json:"top_p,omitempty"`
	Stop        []string     `json:"stop,omitempty"`
	TimeoutMs   int          `json:"timeout_ms,omitempty"`
	Privacy     string       `json:"-"`
}

func (g GenerateParams) body(stream bool) map[string]interface{} {
	raw, _ := json.Marshal(g)
	var body map[string]interface{}
	_ = json.Unmarshal(raw, &body)
	if g.Privacy != "" {
		body["privacy"] = map[string]string{"mode": g.Privacy}
	}
	if stream {
		body["stream"] = true
	}
	return body
}

// LLMUsage counts the tokens of one call.
type LLMUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// LLMPrivacy is the privacy mode applied to a call and the entities found per type (never the values).
type LLMPrivacy struct {
	Mode     string           `json:"mode"`
	Entities map[string]int64 `json:"entities"`
}

// Generation is one whole answer; Attempts counts the upstream requests (retries and fallbacks included).
type Generation struct {
	Text         string     `json:"text"`
	FinishReason string     `json:"finish_reason"`
	Usage        LLMUsage   `json:"usage"`
	Provider     string     `json:"provider"`
	Model        string     `json:"model"`
	LatencyMs    int64      `json:"latency_ms"`
	Attempts     int        `json:"attempts"`
	Privacy      LLMPrivacy `json:"privacy"`
}

// GenerationPart is a part of a streamed answer: Type "start" (Provider, Model), "delta" (Text) or
// "finish" (the fields of a Generation but Text).
type GenerationPart struct {
	Type string `json:"type"`
	Generation
}

// LLMModel is a model clients may name, and the provider tried first.
type LLMModel struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
}

// LLMUsageDay is the calls and tokens of one UTC day and model.
type LLMUsageDay struct {
	Day   string `json:"day"`
	Model string `json:"model"`
	Calls int64  `json:"calls"`
	LLMUsage
}

// LLMUsageReport is the usage from From to To (UTC days, YYYY-MM-DD).
type LLMUsageReport struct {
	From   string        `json:"from"`
	To     string        `json:"to"`
	Days   []LLMUsageDay `json:"days"`
	Totals struct {
		Calls int64 `json:"calls"`
		LLMUsage
	} `json:"totals"`
}

// LLMSettings is the tenant's privacy mode and daily token quota as set (nil: the server default)
// and as applied (Effective; quota 0 = unlimited), and the tokens used today (UTC).
type LLMSettings struct {
	PrivacyMode     *string `json:"privacy_mode"`
	DailyTokenQuota *int64  `json:"daily_token_quota"`
	Effective       struct {
		PrivacyMode     string `json:"privacy_mode"`
		DailyTokenQuota int64  `json:"daily_token_quota"`
	} `json:"effective"`
	TokensToday int64 `json:"tokens_today"`
}

// LLMSettingsUpdate changes the settings given (nil fields stay as they are); the Reset flags
// return a setting to the server default.
type LLMSettingsUpdate struct {
	PrivacyMode          *string
	DailyTokenQuota      *int64 // tokens per UTC day, 0 = unlimited
	ResetPrivacyMode     bool
	ResetDailyTokenQuota bool
}

func (u LLMSettingsUpdate) MarshalJSON() ([]byte, error) {
	body := map[string]interface{}{}
	if u.ResetPrivacyMode {
		body["privacy_mode"] = nil
	} else if u.PrivacyMode != nil {
		body["privacy_mode"] = *u.PrivacyMode
	}
	if u.ResetDailyTokenQuota {
		body["daily_token_quota"] = nil
	} else if u.DailyTokenQuota != nil {
		body["daily_token_quota"] = *u.DailyTokenQuota
	}
	return json.Marshal(body)
}

// Generate returns one whole answer.
//
//	g, err := client.LLM.Generate(ctx, loam.GenerateParams{Model: "gpt-4o-mini", Prompt: "Say hi"})
func (s *LLMService) Generate(ctx context.Context, params GenerateParams) (*Generation, error) {
	var out Generation
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/llm/generate", &RequestOptions{Body: params.body(false)}, &out)
	return ret(&out, err)
}

// Stream calls onPart with each part of a streamed answer ("start", "delta"…, "finish") and returns
// nil once the answer is complete. An error from onPart, or ctx ending, stops the stream (the
// upstream call is cancelled too) and is returned; a failure after the stream began is a *Error.
//
//	err := client.LLM.Stream(ctx, loam.GenerateParams{Model: "llama3.1", Prompt: "Tell a story"}, func(p loam.GenerationPart) error {
//		if p.Type == "delta" { fmt.Print(p.Text) }
//		return nil
//	})
func (s *LLMService) Stream(ctx context.Context, params GenerateParams, onPart func(GenerationPart) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := s.c.Do(ctx, http.MethodPost, "/api/v1/llm/generate", &RequestOptions{
		Body:   params.body(true),
		Header: http.Header{"Accept": {"text/event-stream"}},
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	finished := false
	err = readEvents(res.Body, nil, func(_, data string) error {
		var part GenerationPart
		if err := json.Unmarshal([]byte(data), &part); err != nil {
			return &Error{Kind: KindConnection, Detail: "undecodable stream part: " + err.Error(), Err: err}
		}
		if part.Type == "error" {
			var status struct {
				Status int `json:"status"`
			}
			_ = json.Unmarshal([]byte(data), &status)
			if status.Status == 0 {
				status.Status = http.StatusBadGateway
			}
			return errorFromResponse(status.Status, res.Header, []byte(data))
		}
		finished = part.Type == "finish"
		return onPart(part)
	})
	if err == nil && !finished {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Kind: KindConnection, Detail: "the stream ended before the answer was complete"}
	}
	return err
}

// Models lists the models clients may name.
func (s *LLMService) Models(ctx context.Context) ([]LLMModel, error) {
	var out []LLMModel
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/llm/models", nil, &out)
	return out, err
}

// Usage reports calls and tokens per UTC day and model from `from` to `to` (YYYY-MM-DD; empty:
// the last 30 days).
func (s *LLMService) Usage(ctx context.Context, from, to string) (*LLMUsageReport, error) {
	q := url.Values{}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	var out LLMUsageReport
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/llm/usage", &RequestOptions{Query: q}, &out)
	return ret(&out, err)
}

// Settings returns the tenant's privacy mode (a floor for calls) and daily token quota.
func (s *LLMService) Settings(ctx context.Context) (*LLMSettings, error) {
	var out LLMSettings
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/llm/settings", nil, &out)
	return ret(&out, err)
}

// UpdateSettings changes the tenant's settings (needs the llm:admin scope).
func (s *LLMService) UpdateSettings(ctx context.Context, update LLMSettingsUpdate) (*LLMSettings, error) {
	var out LLMSettings
	_, err := s.c.call(ctx, http.MethodPut, "/api/v1/llm/settings", &RequestOptions{Body: update}, &out)
	return ret(&out, err)
}
