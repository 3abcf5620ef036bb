package loam

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// LogRecordIn is a record to ship; empty context fields come from the ExecutionContext headers.
type LogRecordIn struct {
	Time        string                 `json:"time,omitempty"`
	Level       string                 `json:"level"`
	Message     string                 `json:"message"`
	Attributes  map[string]interface{} `json:"attributes,omitempty"`
	ExecutionID string                 `json:"execution_id,omitempty"`
	SessionID   string                 `json:"session_id,omitempty"`
	WorkflowID  string                 `json:"workflow_id,omitempty"`
}

// LogRecord is a stored log record (or an OpenTelemetry span when Kind is "span").
type LogRecord struct {
	ID          string                 `json:"id"`
	Time        string                 `json:"time"`
	Level       string                 `json:"level"`
	Message     string                 `json:"message"`
	Attributes  map[string]interface{} `json:"attributes"`
	ExecutionID *string                `json:"execution_id"`
	SessionID   *string                `json:"session_id"`
	WorkflowID  *string                `json:"workflow_id"`
	TraceID     *string                `json:"trace_id"`
	SpanID      *string                `json:"span_id"`
	Source      string                 `json:"source"`
	Kind        string                 `json:"kind"`
}

// Execution sums up the records of one execution.
type Execution struct {
	ExecutionID string           `json:"execution_id"`
	SessionID   *string          `json:"session_id"`
	WorkflowID  *string          `json:"workflow_id"`
	FirstTime   string           `json:"first_time"`
	LastTime    string           `json:"last_time"`
	Counts      map[string]int64 `json:"counts"`
	Records     int64            `json:"records"`
	Status      string           `json:"status"`
}

// LogSettings is a tenant's retention and ingest quota.
type LogSettings struct {
	RetentionDays         int   `json:"retention_days"`
	QuotaRecordsPerMinute int64 `json:"quota_records_per_minute"`
}

// ExecutionContext is sent as X-Loam-* headers and traceparent with shipped records.
type ExecutionContext struct {
	ExecutionID string
	SessionID   string
	WorkflowID  string
	Traceparent string
}

func (x ExecutionContext) header() http.Header {
	h := http.Header{}
	for k, v := range map[string]string{
		"X-Loam-Execution-Id": x.ExecutionID, "X-Loam-Session-Id": x.SessionID,
		"X-Loam-Workflow-Id": x.WorkflowID, "Traceparent": x.Traceparent,
	} {
		if v != "" {
			h.Set(k, v)
		}
	}
	return h
}

// LogFilter filters List and Tail; Level means that level or worse, Q words the message contains.
type LogFilter struct {
	ExecutionID string
	SessionID   string
	WorkflowID  string
	Level       string
	Q           string
	From, To    string
	Attributes  map[string]string
	Limit       int
}

func (f LogFilter) values() url.Values {
	q := query("execution_id", f.ExecutionID, "session_id", f.SessionID, "workflow_id", f.WorkflowID,
		"level", f.Level, "q", f.Q, "from", f.From, "to", f.To, "limit", itoa(f.Limit))
	for k, v := range f.Attributes {
		q.Set("attr."+k, v)
	}
	return q
}

// LogsService: the observatory (/api/v1/logs, /api/v1/executions).
type LogsService struct{ c *Client }

// Ship ships a batch (at most 5,000 records, 1 MiB) under an execution context; returns how many were accepted.
func (s *LogsService) Ship(ctx context.Context, records []LogRecordIn, xc ExecutionContext) (int, error) {
	var out struct {
		Accepted int `json:"accepted"`
	}
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/logs", &RequestOptions{Body: JSON{"records": records}, Header: xc.header()}, &out)
	return out.Accepted, err
}

// List walks the matching records, fetching pages as needed.
func (s *LogsService) List(ctx context.Context, f LogFilter) *Iter[LogRecord] {
	return listGet[LogRecord](ctx, s.c, "/api/v1/logs", f.values())
}

// Executions walks executions, most recently active first (status "" / "ok" / "failed").
func (s *LogsService) Executions(ctx context.Context, sessionID, status string) *Iter[Execution] {
	return listGet[Execution](ctx, s.c, "/api/v1/executions", query("session_id", sessionID, "status", status))
}

// Tail calls onRecord with each matching record stored from now on until ctx is cancelled (then nil),
// the stream ends, or onRecord fails.
func (s *LogsService) Tail(ctx context.Context, f LogFilter, onRecord func(LogRecord) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	zero := 0
	q := f.values()
	q.Del("limit")
	res, err := s.c.Do(ctx, http.MethodGet, "/api/v1/logs/stream", &RequestOptions{
		Query: q, Header: http.Header{"Accept": {"text/event-stream"}}, MaxRetries: &zero,
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	err = readEvents(res.Body, func() {}, func(event, data string) error {
		switch event {
		case "log":
			var r LogRecord
			if err := json.Unmarshal([]byte(data), &r); err != nil {
				return err
			}
			return onRecord(r)
		case "error":
			return errorFromResponse(500, res.Header, []byte(data))
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Settings returns the tenant's retention and ingest quota.
func (s *LogsService) Settings(ctx context.Context) (*LogSettings, error) {
	var out LogSettings
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/logs/settings", nil, &out)
	return ret(&out, err)
}

// PutSettings changes them (zero fields are left as they are).
func (s *LogsService) PutSettings(ctx context.Context, retentionDays int, quotaPerMinute int64) (*LogSettings, error) {
	body := JSON{}
	if retentionDays > 0 {
		body["retention_days"] = retentionDays
	}
	if quotaPerMinute > 0 {
		body["quota_records_per_minute"] = quotaPerMinute
	}
	var out LogSettings
	_, err := s.c.call(ctx, http.MethodPut, "/api/v1/logs/settings", &RequestOptions{Body: body}, &out)
	return ret(&out, err)
}
