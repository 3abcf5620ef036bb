package loam

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// EventsService reads the tenant's event log (/api/v1/events): catalogue, lists, live stream.
type EventsService struct{ c *Client }

// CloudEvent is one event of the log in CloudEvents 1.0 structured form.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	DataSchema      string          `json:"dataschema,omitempty"`
	Data            json.RawMessage `json:"data"`
	TenantID        string          `json:"tenantid"`
	CorrelationID   string          `json:"correlationid,omitempty"`
	TraceParent     string          `json:"traceparent,omitempty"`
	Position        string          `json:"position,omitempty"`
}

// EventFilter narrows lists and streams: Type patterns take `*` (comma-separated), Since/Until are RFC 3339.
type EventFilter struct {
	Type, Subject, Since, Until string
	Limit                       int
}

// Types lists the event catalogue (every type with its data schema, version and retention).
func (s *EventsService) Types(ctx context.Context) ([]map[string]any, error) {
	var out []map[string]any
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/events/types", nil, &out)
	return out, err
}

// List iterates over the tenant's events in log order, page by page.
func (s *EventsService) List(ctx context.Context, f EventFilter) *Iter[CloudEvent] {
	return listGet[CloudEvent](ctx, s.c, "/api/v1/events", query("type", f.Type, "subject", f.Subject, "since", f.Since, "until", f.Until, "limit", itoa(f.Limit)))
}

// Get returns one event.
func (s *EventsService) Get(ctx context.Context, id string) (*CloudEvent, error) {
	var out CloudEvent
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/events/%s", id), nil, &out)
	return ret(&out, err)
}

// Stream calls onEvent with each live event (after `after` when given), once and in order, until ctx
// ends or onEvent fails; a dropped connection is resumed with Last-Event-ID.
func (s *EventsService) Stream(ctx context.Context, f EventFilter, after string, onEvent func(CloudEvent) error) error {
	last := after
	attempt := 0
	for {
		err := s.connect(ctx, f, &last, onEvent)
		if ctx.Err() != nil {
			return nil
		}
		var handler *handlerError
		if errors.As(err, &handler) {
			return handler.err
		}
		var lerr *Error
		if errors.As(err, &lerr) && lerr.Status > 0 && lerr.Status < 500 && lerr.Status != 429 {
			return err
		}
		attempt++
		delay := BackoffDelay(minInt(attempt, 6))
		if delay > maxReconnectDelay {
			delay = maxReconnectDelay
		}
		if sleep(ctx, delay) != nil {
			return nil
		}
	}
}

func (s *EventsService) connect(ctx context.Context, f EventFilter, last *string, onEvent func(CloudEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	zero := 0
	header := http.Header{"Accept": {"text/event-stream"}}
	if *last != "" {
		header.Set("Last-Event-ID", *last)
	}
	res, err := s.c.Do(ctx, http.MethodGet, "/api/v1/events/stream", &RequestOptions{
		Query: query("type", f.Type, "subject", f.Subject, "since", f.Since), Header: header, MaxRetries: &zero,
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	idle := time.AfterFunc(s.c.Timeout, cancel)
	defer idle.Stop()
	touched := func() { idle.Reset(s.c.Timeout) }
	dispatch := func(event, data string) error {
		switch event {
		case "ready":
			var ready struct {
				After string `json:"after"`
			}
			_ = json.Unmarshal([]byte(data), &ready)
			if *last == "" {
				*last = ready.After
			}
		case "error":
			var body struct {
				Status int `json:"status"`
			}
			_ = json.Unmarshal([]byte(data), &body)
			if body.Status == 0 {
				body.Status = 500
			}
			return errorFromResponse(body.Status, res.Header, []byte(data))
		default:
			var ce CloudEvent
			if err := json.Unmarshal([]byte(data), &ce); err != nil {
				return err
			}
			if err := onEvent(ce); err != nil {
				return &handlerError{err}
			}
			if ce.Position != "" {
				*last = ce.Position
			}
		}
		return nil
	}
	if err := readEvents(res.Body, touched, dispatch); err != nil {
		return err
	}
	return &Error{Kind: KindConnection, Detail: "the stream ended"}
}

// WebhooksService manages webhook endpoints and their deliveries (/api/v1/webhooks).
type WebhooksService struct{ c *Client }

// Webhook is an endpoint; Secret is set only by Create and RotateSecret (shown once).
type Webhook struct {
	ID                     string            `json:"id"`
	URL                    string            `json:"url"`
	Events                 []string          `json:"events"`
	Description            string            `json:"description"`
	Metadata               map[string]string `json:"metadata"`
	Active                 bool              `json:"active"`
	Format                 string            `json:"format"`
	RetrySchedule          []int             `json:"retry_schedule"`
	MaxConsecutiveFailures int               `json:"max_consecutive_failures"`
	Concurrency            int               `json:"concurrency"`
	ConsecutiveFailures    int               `json:"consecutive_failures"`
	DisabledReason         *string           `json:"disabled_reason"`
	CreatedAt              string            `json:"created_at"`
	UpdatedAt              string            `json:"updated_at"`
	Secret                 string            `json:"secret,omitempty"`
}

// WebhookDelivery is one event sent (or to be sent) to one endpoint, with its attempts.
type WebhookDelivery struct {
	ID        string           `json:"id"`
	WebhookID string           `json:"webhook_id"`
	EventID   string           `json:"event_id"`
	EventType string           `json:"event_type"`
	Kind      string           `json:"kind"`
	Status    string           `json:"status"`
	Attempts  []map[string]any `json:"attempts"`
	CreatedAt string           `json:"created_at"`
}

// Create makes an endpoint from the fields of CreateWebhook (url, events, format, …).
func (s *WebhooksService) Create(ctx context.Context, params map[string]any) (*Webhook, error) {
	var out Webhook
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/webhooks", &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

func (s *WebhooksService) List(ctx context.Context, limit int) *Iter[Webhook] {
	return listGet[Webhook](ctx, s.c, "/api/v1/webhooks", query("limit", itoa(limit)))
}

func (s *WebhooksService) Get(ctx context.Context, id string) (*Webhook, error) {
	var out Webhook
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/webhooks/%s", id), nil, &out)
	return ret(&out, err)
}

func (s *WebhooksService) Update(ctx context.Context, id string, changes map[string]any) (*Webhook, error) {
	var out Webhook
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/webhooks/%s", id), &RequestOptions{Body: changes}, &out)
	return ret(&out, err)
}

func (s *WebhooksService) Delete(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/webhooks/%s", id), nil, nil)
	return err
}

// RotateSecret replaces the secret; the old one also signs for graceSeconds.
func (s *WebhooksService) RotateSecret(ctx context.Context, id string, graceSeconds int) (*Webhook, error) {
	var out Webhook
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/webhooks/%s/rotate-secret", id), &RequestOptions{Body: map[string]any{"grace_period_seconds": graceSeconds}}, &out)
	return ret(&out, err)
}

// Deliveries iterates over an endpoint's deliveries, newest first (status "failed": the dead letters).
func (s *WebhooksService) Deliveries(ctx context.Context, id, status string, limit int) *Iter[WebhookDelivery] {
	return listGet[WebhookDelivery](ctx, s.c, p("/api/v1/webhooks/%s/deliveries", id), query("status", status, "limit", itoa(limit)))
}

func (s *WebhooksService) RetryDelivery(ctx context.Context, id, deliveryID string) (*WebhookDelivery, error) {
	var out WebhookDelivery
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/webhooks/%s/deliveries/%s/retry", id, deliveryID), &RequestOptions{Body: map[string]any{}}, &out)
	return ret(&out, err)
}

// Replay sends the endpoint's events since `since` (RFC 3339) again.
func (s *WebhooksService) Replay(ctx context.Context, id, since string) (map[string]any, error) {
	var out map[string]any
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/webhooks/%s/replay", id), &RequestOptions{Body: map[string]any{"since": since}}, &out)
	return out, err
}

// Test sends a webhook.test event to the endpoint.
func (s *WebhooksService) Test(ctx context.Context, id string) (*WebhookDelivery, error) {
	var out WebhookDelivery
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/webhooks/%s/test", id), &RequestOptions{Body: map[string]any{}}, &out)
	return ret(&out, err)
}

// VerifyWebhook checks a delivery's Standard Webhooks signature (webhook-id, webhook-timestamp,
// webhook-signature) against secret (whsec_…) and a 5-minute tolerance.
func VerifyWebhook(body []byte, header http.Header, secret string) error {
	id, ts, sigs := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("loam: missing webhook signature headers")
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || math.Abs(float64(time.Now().Unix()-n)) > 300 {
		return errors.New("loam: webhook timestamp outside the tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	expected := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Split(sigs, " ") {
		if v, sig, ok := strings.Cut(s, ","); ok && v == "v1" && hmac.Equal([]byte(sig), []byte(expected)) {
			return nil
		}
	}
	return errors.New("loam: no webhook signature matches")
}
