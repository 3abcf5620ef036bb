package loam

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// BusMessage is a message of a session; Position orders it within the session (1, 2, 3 …).
type BusMessage struct {
	ID       string          `json:"id"`
	Position int64           `json:"position"`
	Type     string          `json:"type,omitempty"`
	Data     json.RawMessage `json:"data"`
	Time     string          `json:"time"`
}

// Decode unmarshals the message's data into v.
func (m BusMessage) Decode(v interface{}) error { return json.Unmarshal(m.Data, v) }

// SendMessage is a message to send: Data is any JSON-encodable value, Type is optional.
type SendMessage struct {
	Type string      `json:"type,omitempty"`
	Data interface{} `json:"data"`
}

// Session is a session of the message bus: Head is its newest position, PurgedThrough the last purged one.
type Session struct {
	ID             string `json:"id"`
	Head           int64  `json:"head"`
	PurgedThrough  int64  `json:"purged_through"`
	CreatedAt      string `json:"created_at"`
	LastActivityAt string `json:"last_activity_at"`
}

type ChannelSchema struct {
	Prefix    string `json:"prefix"`
	Schema    JSON   `json:"schema"`
	CreatedAt string `json:"created_at"`
}

// Retention is a retention rule; nil fields are unlimited. Prefix "" (`*` in the path) is the tenant default.
type Retention struct {
	Prefix      string `json:"prefix"`
	MaxAgeSec   *int64 `json:"max_age_sec"`
	MaxMessages *int64 `json:"max_messages"`
}

type SessionToken struct {
	Token     string `json:"token"`
	ExpiresIn int    `json:"expires_in"`
}

// SubscriptionStarted tells that a subscription is live: nothing sent from now on can be missed.
type SubscriptionStarted struct {
	Head        int64
	After       int64
	Reconnected bool
}

// SubscribeOptions tunes Subscribe.
type SubscribeOptions struct {
	// After is the position to start after (0: from the first message).
	After int64
	// OnStarted is called on each (re)connection once the subscription is live.
	OnStarted func(SubscriptionStarted)
	// OnReconnect is called when a connection failed and will be retried.
	OnReconnect func(err error, attempt int)
}

// maxReconnectDelay bounds the pause between two reconnection attempts.
const maxReconnectDelay = 10 * time.Second

// SessionsService: the message bus (/api/v1/sessions, /api/v1/bus).
type SessionsService struct{ c *Client }

// Send sends one message or a batch (stored at consecutive positions) and returns them as stored.
func (s *SessionsService) Send(ctx context.Context, sessionID string, messages ...SendMessage) ([]BusMessage, error) {
	var body interface{} = messages
	if len(messages) == 1 {
		body = messages[0]
	}
	var out struct {
		Messages []BusMessage `json:"messages"`
	}
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/sessions/%s/messages", sessionID), &RequestOptions{Body: body}, &out)
	return out.Messages, err
}

// Messages returns one page of history after position `after`, oldest first (limit 0: the server's default).
// A purged `after` answers a 410 *Error with Code "position_purged".
func (s *SessionsService) Messages(ctx context.Context, sessionID string, after int64, limit int) ([]BusMessage, error) {
	var out []BusMessage
	q := query("after", strconv.FormatInt(after, 10), "limit", itoa(limit))
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/sessions/%s/messages", sessionID), &RequestOptions{Query: q}, &out)
	return out, err
}

// History walks every message after `after`, fetching pages of pageSize (0: 500) as needed.
func (s *SessionsService) History(ctx context.Context, sessionID string, after int64, pageSize int) *Iter[BusMessage] {
	if pageSize <= 0 {
		pageSize = 500
	}
	return newIter(ctx, func(ctx context.Context, cursor string) (*Page[BusMessage], error) {
		from := after
		if cursor != "" {
			from, _ = strconv.ParseInt(cursor, 10, 64)
		}
		items, err := s.Messages(ctx, sessionID, from, pageSize)
		if err != nil {
			return nil, err
		}
		page := &Page[BusMessage]{Items: items}
		if len(items) == pageSize {
			page.Cursor = strconv.FormatInt(items[len(items)-1].Position, 10)
		}
		return page, nil
	})
}

// ListSessionsParams filters List; Limit is the page size.
type ListSessionsParams struct {
	Prefix string
	Limit  int
}

// List walks every session (by name), fetching pages as needed.
func (s *SessionsService) List(ctx context.Context, params ListSessionsParams) *Iter[Session] {
	return listGet[Session](ctx, s.c, "/api/v1/sessions", query("prefix", params.Prefix, "limit", itoa(params.Limit)))
}

func (s *SessionsService) Get(ctx context.Context, sessionID string) (*Session, error) {
	var out Session
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/sessions/%s", sessionID), nil, &out)
	return ret(&out, err)
}

// Delete deletes the session and its messages.
func (s *SessionsService) Delete(ctx context.Context, sessionID string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/sessions/%s", sessionID), nil, nil)
	return err
}

// Token returns a short-lived token for a browser's EventSource or WebSocket (`?token=`).
func (s *SessionsService) Token(ctx context.Context, sessionID string) (*SessionToken, error) {
	var out SessionToken
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/sessions/%s/tokens", sessionID), &RequestOptions{Body: JSON{}}, &out)
	return ret(&out, err)
}

// Subscribe calls onMessage with every message after opts.After, then with live ones, each once and in
// position order, until ctx is cancelled (then it returns nil). A dropped connection is resumed after the
// last delivered position. It returns the error of onMessage, or an error a retry cannot fix (401, 403,
// 404, 410). Server-Sent Events on GET …/stream (what the WebSocket route offers to receivers).
func (s *SessionsService) Subscribe(ctx context.Context, sessionID string, opts SubscribeOptions, onMessage func(BusMessage) error) error {
	sub := &subscription{s: s, sessionID: sessionID, last: opts.After, opts: opts, onMessage: onMessage}
	attempt := 0
	for {
		err := sub.connect(ctx)
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
		if sub.live { // the failed connection had started: count the attempts afresh
			attempt, sub.live = 0, false
		}
		attempt++
		sub.reconnected = true
		if opts.OnReconnect != nil {
			opts.OnReconnect(err, attempt)
		}
		delay := BackoffDelay(minInt(attempt, 6))
		if delay > maxReconnectDelay {
			delay = maxReconnectDelay
		}
		if sleep(ctx, delay) != nil {
			return nil
		}
	}
}

// handlerError carries the error of onMessage, which ends the subscription.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

type subscription struct {
	s           *SessionsService
	sessionID   string
	last        int64
	reconnected bool
	live        bool // the current connection has sent `ready`
	opts        SubscribeOptions
	onMessage   func(BusMessage) error
}

// connect runs one connection until it fails; the error says why.
func (sub *subscription) connect(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	zero := 0
	res, err := sub.s.c.Do(ctx, http.MethodGet, p("/api/v1/sessions/%s/stream", sub.sessionID), &RequestOptions{
		Query:      query("after", strconv.FormatInt(sub.last, 10)),
		Header:     http.Header{"Accept": {"text/event-stream"}},
		MaxRetries: &zero,
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	// No byte for this long (the server sends a heartbeat every 15 s by default): the connection is dead.
	idle := time.AfterFunc(sub.s.c.Timeout, cancel)
	defer idle.Stop()
	touched := func() { idle.Reset(sub.s.c.Timeout) }
	dispatch := func(event, data string) error { return sub.dispatch(event, data, res.Header) }
	if err := readEvents(res.Body, touched, dispatch); err != nil {
		return err
	}
	return &Error{Kind: KindConnection, Detail: "the stream ended"}
}

func (sub *subscription) dispatch(event, data string, header http.Header) error {
	switch event {
	case "ready":
		var ready struct {
			Head  int64 `json:"head"`
			After int64 `json:"after"`
		}
		_ = json.Unmarshal([]byte(data), &ready)
		sub.live = true
		if sub.opts.OnStarted != nil {
			sub.opts.OnStarted(SubscriptionStarted{Head: ready.Head, After: ready.After, Reconnected: sub.reconnected})
		}
	case "message":
		var m BusMessage
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			return &Error{Kind: KindConnection, Detail: "undecodable message: " + err.Error(), Err: err}
		}
		if m.Position <= sub.last {
			return nil
		}
		if err := sub.onMessage(m); err != nil {
			return &handlerError{err}
		}
		sub.last = m.Position
	case "error":
		var body struct {
			Status int `json:"status"`
		}
		_ = json.Unmarshal([]byte(data), &body)
		if body.Status == 0 {
			body.Status = 500
		}
		return errorFromResponse(body.Status, header, []byte(data))
	}
	return nil
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// ---- channel schemas and retention ----------------------------------------------------------

func (s *SessionsService) Schemas(ctx context.Context) ([]ChannelSchema, error) {
	var out []ChannelSchema
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/bus/schemas", nil, &out)
	return out, err
}

// PutSchema makes every message sent to a session named `prefix…` match the JSON Schema (else 400).
func (s *SessionsService) PutSchema(ctx context.Context, prefix string, schema JSON) (*ChannelSchema, error) {
	var out ChannelSchema
	_, err := s.c.call(ctx, http.MethodPut, p("/api/v1/bus/schemas/%s", prefix), &RequestOptions{Body: JSON{"schema": schema}}, &out)
	return ret(&out, err)
}

func (s *SessionsService) DeleteSchema(ctx context.Context, prefix string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/bus/schemas/%s", prefix), nil, nil)
	return err
}

func (s *SessionsService) Retention(ctx context.Context) ([]Retention, error) {
	var out []Retention
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/bus/retention", nil, &out)
	return out, err
}

// PutRetention keeps messages of sessions named `prefix…` (`*`: the tenant default) at most maxAgeSec
// seconds and at most the newest maxMessages (nil: no limit).
func (s *SessionsService) PutRetention(ctx context.Context, prefix string, maxAgeSec, maxMessages *int64) (*Retention, error) {
	var out Retention
	body := JSON{"max_age_sec": maxAgeSec, "max_messages": maxMessages}
	_, err := s.c.call(ctx, http.MethodPut, p("/api/v1/bus/retention/%s", prefix), &RequestOptions{Body: body}, &out)
	return ret(&out, err)
}

func (s *SessionsService) DeleteRetention(ctx context.Context, prefix string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/bus/retention/%s", prefix), nil, nil)
	return err
}

// Broker is the Integrail-style broker over sessions: Send a typed event, Subscribe to receive them.
//
//	broker := loam.NewBroker[ChatEvent](client)
//	go broker.Subscribe(ctx, "chat:1", func() { /* started */ }, func(e ChatEvent) error { return nil })
//	broker.Send(ctx, "chat:1", ChatEvent{Text: "hello"}, "said")
type Broker[T any] struct{ s *SessionsService }

func NewBroker[T any](c *Client) *Broker[T] { return &Broker[T]{c.Sessions} }

// Send sends evt as the data of one message of type typ ("" for none).
func (b *Broker[T]) Send(ctx context.Context, sessionID string, evt T, typ string) (*BusMessage, error) {
	sent, err := b.s.Send(ctx, sessionID, SendMessage{Type: typ, Data: evt})
	if err != nil {
		return nil, err
	}
	return &sent[0], nil
}

// Subscribe delivers every event of the session from its first message on, then live ones, until ctx is
// cancelled; onStarted runs once the subscription is live.
func (b *Broker[T]) Subscribe(ctx context.Context, sessionID string, onStarted func(), onMessage func(T) error) error {
	opts := SubscribeOptions{}
	if onStarted != nil {
		opts.OnStarted = func(s SubscriptionStarted) {
			if !s.Reconnected {
				onStarted()
			}
		}
	}
	return b.s.Subscribe(ctx, sessionID, opts, func(m BusMessage) error {
		var evt T
		if err := m.Decode(&evt); err != nil {
			return err
		}
		return onMessage(evt)
	})
}
