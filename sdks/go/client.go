// Package loam is the Go client for Loam's /api/v1: datasets, versions, records, anonymization,
// API keys, policies, audit logs and the message bus (sessions). It uses the standard library only.
//
//	client := loam.NewClient(loam.WithAPIKey(key), loam.WithBaseURL("http://127.0.0.1:8080"))
//	ds, err := client.Datasets.Create(ctx, loam.CreateDatasetParams{Name: "customers"})
package loam

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	DefaultBaseURL    = "http://127.0.0.1:8080"
	DefaultTimeout    = 60 * time.Second
	DefaultMaxRetries = 2
	initialBackoff    = 500 * time.Millisecond
	maxBackoff        = 8 * time.Second
	// A server asking for a longer pause than this gets an error, not a silently hanging call.
	maxRetryAfter = 60 * time.Second
)

// Client talks to one Loam. Create it with NewClient; it is safe for concurrent use.
type Client struct {
	BaseURL    string
	APIKey     string
	Timeout    time.Duration
	MaxRetries int
	HTTPClient *http.Client
	Headers    http.Header

	Datasets      *DatasetsService
	Versions      *VersionsService
	Records       *RecordsService
	Jobs          *JobsService
	Anonymization *AnonymizationService
	APIKeys       *APIKeysService
	Policies      *PoliciesService
	AuditLogs     *AuditLogsService
	Content       *ContentService
	Sessions      *SessionsService
	Events        *EventsService
	Webhooks      *WebhooksService
	LLM           *LLMService
	Admin         *AdminService
	Logs          *LogsService
	Tenants       *TenantsService
	Governance    *GovernanceService
	Collections   *CollectionsService
	Documents     *DocumentsService
	Knowledge     *KnowledgeService
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sets the API key (default: LOAM_API_KEY).
func WithAPIKey(key string) Option { return func(c *Client) { c.APIKey = key } }

// WithBaseURL sets where Loam listens (default: LOAM_API_BASE_URL, else http://127.0.0.1:8080).
func WithBaseURL(u string) Option { return func(c *Client) { c.BaseURL = strings.TrimRight(u, "/") } }

// WithTimeout sets the timeout of one attempt (default: LOAM_REQUEST_TIMEOUT ms, else 60 s).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.Timeout = d } }

// WithMaxRetries sets how often connection errors, 408, 429 and 5xx are retried (default: LOAM_MAX_RETRIES, else 2).
func WithMaxRetries(n int) Option { return func(c *Client) { c.MaxRetries = n } }

// WithHTTPClient uses your own *http.Client (a proxy, a transport).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.HTTPClient = h } }

// WithHeader adds a header to every request.
func WithHeader(key, value string) Option { return func(c *Client) { c.Headers.Set(key, value) } }

// NewClient builds a client from the environment (LOAM_API_KEY, LOAM_API_BASE_URL,
// LOAM_REQUEST_TIMEOUT, LOAM_MAX_RETRIES), then applies opts.
func NewClient(opts ...Option) *Client {
	c := &Client{
		BaseURL:    strings.TrimRight(firstNonEmpty(env("LOAM_API_BASE_URL"), env("LOAM_BASE_URL"), DefaultBaseURL), "/"),
		APIKey:     env("LOAM_API_KEY"),
		Timeout:    DefaultTimeout,
		MaxRetries: DefaultMaxRetries,
		Headers:    http.Header{},
	}
	if ms, err := strconv.Atoi(env("LOAM_REQUEST_TIMEOUT")); err == nil && ms > 0 {
		c.Timeout = time.Duration(ms) * time.Millisecond
	}
	if n, err := strconv.Atoi(env("LOAM_MAX_RETRIES")); err == nil && n >= 0 {
		c.MaxRetries = n
	}
	for _, o := range opts {
		o(c)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	c.Datasets = &DatasetsService{c}
	c.Versions = &VersionsService{c}
	c.Records = &RecordsService{c}
	c.Jobs = &JobsService{c}
	c.Anonymization = &AnonymizationService{c: c, Recognizers: &RecognizersService{c}}
	c.APIKeys = &APIKeysService{c}
	c.Policies = &PoliciesService{c}
	c.AuditLogs = &AuditLogsService{c}
	c.Content = &ContentService{c}
	c.Sessions = &SessionsService{c}
	c.Events = &EventsService{c}
	c.Webhooks = &WebhooksService{c}
	c.LLM = &LLMService{c}
	c.Admin = &AdminService{c: c, Users: &UsersService{c}, SigningKeys: &SigningKeysService{c}, Mailbox: &MailboxService{c}}
	c.Logs = &LogsService{c}
	c.Tenants = &TenantsService{c}
	c.Governance = &GovernanceService{c}
	c.Collections = &CollectionsService{c}
	c.Documents = &DocumentsService{c}
	c.Knowledge = &KnowledgeService{c}
	return c
}

func env(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// RequestOptions tunes one call made with Client.Do.
type RequestOptions struct {
	Query          url.Values
	Body           interface{} // JSON-encoded unless RawBody is set
	RawBody        []byte
	ContentType    string
	Header         http.Header
	IdempotencyKey string // generated for POST and PATCH when empty
	MaxRetries     *int
}

// Envelope is the /api/v1 success envelope.
type Envelope struct {
	RequestID  string                 `json:"request_id"`
	Status     string                 `json:"status"`
	Data       json.RawMessage        `json:"data"`
	Metadata   map[string]interface{} `json:"metadata"`
	Links      map[string]string      `json:"links"`
	Pagination *struct {
		Cursor     string `json:"cursor"`
		HasMore    bool   `json:"has_more"`
		PageSize   int    `json:"page_size"`
		TotalCount *int   `json:"total_count"`
	} `json:"pagination"`
}

// BackoffDelay is the pause before retry number `retry` (from 0): 0.5 s, 1 s, 2 s … capped at 8 s, minus up to 25 % jitter.
func BackoffDelay(retry int) time.Duration {
	base := initialBackoff << uint(retry)
	if base > maxBackoff || base <= 0 {
		base = maxBackoff
	}
	return time.Duration(float64(base) * (1 - 0.25*mathrand.Float64()))
}

func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "sdk_" + hex.EncodeToString(b)
}

// Do sends any request with the client's authentication, retries and errors, and returns the
// successful response with its body unread (the caller closes it).
func (c *Client) Do(ctx context.Context, method, path string, o *RequestOptions) (*http.Response, error) {
	if o == nil {
		o = &RequestOptions{}
	}
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.BaseURL + path
	}
	if len(o.Query) > 0 {
		u += "?" + o.Query.Encode()
	}
	body := o.RawBody
	contentType := o.ContentType
	if body == nil && o.Body != nil {
		b, err := json.Marshal(o.Body)
		if err != nil {
			return nil, err
		}
		body, contentType = b, "application/json"
	}
	key := o.IdempotencyKey
	if key == "" && (method == http.MethodPost || method == http.MethodPatch) {
		key = newIdempotencyKey()
	}
	retryable := key != "" || method == http.MethodGet || method == http.MethodPut || method == http.MethodDelete || method == http.MethodHead
	maxRetries := c.MaxRetries
	if o.MaxRetries != nil {
		maxRetries = *o.MaxRetries
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		for k, vs := range c.Headers {
			req.Header[k] = vs
		}
		if c.APIKey != "" {
			req.Header.Set("X-API-Key", c.APIKey)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		for k, vs := range o.Header {
			req.Header[http.CanonicalHeaderKey(k)] = vs
		}
		res, err := c.attempt(req)
		var delay time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if attempt >= maxRetries || !retryable {
				return nil, err
			}
			delay = BackoffDelay(attempt)
		} else {
			if res.StatusCode < 300 {
				return res, nil
			}
			data, _ := io.ReadAll(res.Body)
			res.Body.Close()
			apiErr := errorFromResponse(res.StatusCode, res.Header, data)
			retryStatus := res.StatusCode == 408 || res.StatusCode == 429 || res.StatusCode >= 500
			if attempt >= maxRetries || !retryable || !retryStatus {
				return nil, apiErr
			}
			delay = BackoffDelay(attempt)
			if d, ok := parseRetryAfter(res.Header.Get("Retry-After")); ok {
				if d > maxRetryAfter {
					return nil, apiErr
				}
				delay = d
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// attempt runs one exchange; the timeout covers waiting for the response headers.
func (c *Client) attempt(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(c.Timeout, cancel)
	res, err := c.HTTPClient.Do(req.WithContext(ctx))
	timedOut := !timer.Stop()
	if err != nil {
		cancel()
		kind := KindConnection
		if timedOut {
			kind = KindTimeout
		}
		return nil, &Error{Kind: kind, Detail: fmt.Sprintf("%s %s: %v", req.Method, req.URL.Redacted(), err), Err: err}
	}
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
	return res, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// call sends a request and decodes the envelope; `out` receives `data` (nil: ignored).
func (c *Client) call(ctx context.Context, method, path string, o *RequestOptions, out interface{}) (*Envelope, error) {
	res, err := c.Do(ctx, method, path, o)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, &Error{Kind: KindConnection, Detail: err.Error(), Err: err}
	}
	if res.StatusCode == http.StatusNoContent || len(data) == 0 {
		return &Envelope{}, nil
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("loam: decoding %s %s: %w", method, path, err)
	}
	if out != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return nil, fmt.Errorf("loam: decoding %s %s: %w", method, path, err)
		}
	}
	return &env, nil
}

// Whoami answers the caller as Loam sees it (tenant, subject, scopes, roles).
func (c *Client) Whoami(ctx context.Context) (map[string]interface{}, error) {
	var out map[string]interface{}
	_, err := c.call(ctx, http.MethodGet, "/api/v1/whoami", nil, &out)
	return out, err
}

// p builds a path with every value percent-encoded: p("/api/v1/datasets/%s", id).
func p(format string, values ...string) string {
	args := make([]interface{}, len(values))
	for i, v := range values {
		args[i] = url.PathEscape(v)
	}
	return fmt.Sprintf(format, args...)
}

// query builds url.Values from pairs, skipping empty values.
func query(pairs ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	return q
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func btoa(b bool) string {
	if !b {
		return ""
	}
	return "true"
}

func jsonUnmarshal(data []byte, v interface{}) error {
	if len(data) == 0 {
		return errors.New("empty")
	}
	return json.Unmarshal(data, v)
}
