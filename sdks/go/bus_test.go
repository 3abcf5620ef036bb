package loam_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	loam "loam.dev/loam-go"
)

func note(n int) loam.SendMessage { return loam.SendMessage{Type: "note", Data: loam.JSON{"n": n}} }

func positions(ms []loam.BusMessage) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.Position)
	}
	return out
}

func TestBusSendHistoryListGetTokenDelete(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	prefix := "sdk-" + unique() + ":"
	sid := prefix + "chat"
	sent := must(c.Sessions.Send(ctx, sid, note(1), note(2), note(3), note(4), note(5)))
	if got := positions(sent); !reflect.DeepEqual(got, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("batch positions %v", got)
	}
	one := must(c.Sessions.Send(ctx, sid, note(6)))
	var data struct{ N int }
	if err := one[0].Decode(&data); err != nil || one[0].Position != 6 || data.N != 6 || one[0].Type != "note" {
		t.Fatalf("single send %+v %v", one, err)
	}
	if got := positions(must(c.Sessions.Messages(ctx, sid, 2, 2))); !reflect.DeepEqual(got, []int64{3, 4}) {
		t.Fatalf("one page %v", got)
	}
	it := c.Sessions.History(ctx, sid, 0, 2)
	all := must(it.All())
	if got := positions(all); !reflect.DeepEqual(got, []int64{1, 2, 3, 4, 5, 6}) || it.Pages() < 3 {
		t.Fatalf("history %v in %d pages", got, it.Pages())
	}
	s := must(c.Sessions.Get(ctx, sid))
	if s.ID != sid || s.Head != 6 || s.PurgedThrough != 0 {
		t.Fatalf("session %+v", s)
	}
	must(c.Sessions.Send(ctx, prefix+"other", note(1)))
	listed := must(c.Sessions.List(ctx, loam.ListSessionsParams{Prefix: prefix, Limit: 1}).All())
	if len(listed) != 2 || listed[0].ID != sid || listed[1].ID != prefix+"other" {
		t.Fatalf("listed %+v", listed)
	}
	if tok := must(c.Sessions.Token(ctx, sid)); tok.Token == "" || tok.ExpiresIn <= 0 {
		t.Fatalf("token %+v", tok)
	}
	if err := c.Sessions.Delete(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sessions.Get(ctx, sid); !loam.IsNotFound(err) {
		t.Fatalf("deleted session: %v", err)
	}
}

// cuttingProxy forwards TCP to Loam, but cuts the first /stream connection once `cutAfter` messages went through.
type cuttingProxy struct {
	url     string
	mu      sync.Mutex
	streams []string
}

func newCuttingProxy(t *testing.T, cutAfter int) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	px := &cuttingProxy{url: "http://" + ln.Addr().String()}
	upstream := strings.TrimPrefix(serverURL, "http://")
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			go px.serve(down, upstream, cutAfter)
		}
	}()
	return px
}

func (px *cuttingProxy) serve(down net.Conn, upstream string, cutAfter int) {
	defer down.Close()
	up, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer up.Close()
	buf := make([]byte, 65536)
	n, err := down.Read(buf)
	if err != nil {
		return
	}
	line := string(bytes.SplitN(buf[:n], []byte("\r\n"), 2)[0])
	cut := false
	if strings.Contains(line, "/stream") {
		px.mu.Lock()
		px.streams = append(px.streams, line)
		cut = len(px.streams) == 1
		px.mu.Unlock()
	}
	if _, err := up.Write(buf[:n]); err != nil {
		return
	}
	go func() { _, _ = copyConn(up, down) }()
	seen := 0
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if _, werr := down.Write(buf[:n]); werr != nil {
				return
			}
			seen += bytes.Count(buf[:n], []byte("event: message"))
			if cut && seen >= cutAfter {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func copyConn(dst, src net.Conn) (int64, error) {
	buf := make([]byte, 65536)
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err != nil {
			return total, err
		}
	}
}

func TestBusSubscribeEarlierAndLiveInOrderResumingWithoutDuplicates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newClient()
	sid := "sdk-" + unique() + ":live"
	must(c.Sessions.Send(ctx, sid, note(1), note(2), note(3))) // before the subscription
	px := newCuttingProxy(t, 2)
	var started []bool
	reconnects := 0
	var got []int64
	opts := loam.SubscribeOptions{
		After: 0,
		OnStarted: func(s loam.SubscriptionStarted) {
			started = append(started, s.Reconnected)
			// live messages, sent once the subscription is live, and once it has resumed
			if s.Reconnected {
				must(c.Sessions.Send(ctx, sid, note(6)))
			} else {
				must(c.Sessions.Send(ctx, sid, note(4), note(5)))
			}
		},
		OnReconnect: func(err error, attempt int) { reconnects++ },
	}
	subCtx, stop := context.WithCancel(ctx)
	err := newClient(loam.WithBaseURL(px.url)).Sessions.Subscribe(subCtx, sid, opts, func(m loam.BusMessage) error {
		got = append(got, m.Position)
		if m.Position == 6 {
			stop()
		}
		return nil
	})
	if err != nil || ctx.Err() != nil {
		t.Fatalf("subscribe: %v (%v)", err, ctx.Err())
	}
	if !reflect.DeepEqual(got, []int64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("delivered %v", got)
	}
	if !reflect.DeepEqual(started, []bool{false, true}) || reconnects != 1 {
		t.Fatalf("started %v, reconnects %d", started, reconnects)
	}
	if len(px.streams) != 2 || !strings.Contains(px.streams[0], "after=0") || strings.Contains(px.streams[1], "after=0") {
		t.Fatalf("stream requests %v", px.streams)
	}

	// The broker: typed events; an error of the handler ends the subscription with that error.
	type noteEvent struct{ N int }
	broker := loam.NewBroker[noteEvent](c)
	must(broker.Send(ctx, sid, noteEvent{N: 7}, "note"))
	var events []int
	stopErr := errors.New("enough")
	err = broker.Subscribe(ctx, sid, nil, func(e noteEvent) error {
		events = append(events, e.N)
		if e.N == 7 {
			return stopErr
		}
		return nil
	})
	if !errors.Is(err, stopErr) || !reflect.DeepEqual(events, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("broker: %v %v", err, events)
	}
}

func TestBusSubscribeStopsOnErrorsARetryCannotFix(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad := newClient(loam.WithAPIKey("loam_sk_wrong"))
	err := bad.Sessions.Subscribe(ctx, "sdk-"+unique()+":x", loam.SubscribeOptions{}, func(loam.BusMessage) error { return nil })
	if kind(err) != loam.KindAuthentication {
		t.Fatalf("expected an authentication error, got %v", err)
	}
}

func TestBusSchemasAndRetention(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	prefix := "sdk-" + unique() + "-typed:"
	schema := loam.JSON{"type": "object", "properties": loam.JSON{"amount": loam.JSON{"type": "number"}}, "required": []string{"amount"}}
	if put := must(c.Sessions.PutSchema(ctx, prefix, schema)); put.Prefix != prefix {
		t.Fatalf("put schema %+v", put)
	}
	has := func(list []loam.ChannelSchema) bool {
		for _, s := range list {
			if s.Prefix == prefix {
				return true
			}
		}
		return false
	}
	if !has(must(c.Sessions.Schemas(ctx))) {
		t.Fatal("schema not listed")
	}
	must(c.Sessions.Send(ctx, prefix+"1", loam.SendMessage{Data: loam.JSON{"amount": 3}}))
	if _, err := c.Sessions.Send(ctx, prefix+"1", loam.SendMessage{Data: loam.JSON{"amount": "three"}}); kind(err) != loam.KindValidation && kind(err) != loam.KindBadRequest {
		t.Fatalf("invalid message: %v", err)
	}
	if err := c.Sessions.DeleteSchema(ctx, prefix); err != nil || has(must(c.Sessions.Schemas(ctx))) {
		t.Fatalf("delete schema: %v", err)
	}
	hour := int64(3600)
	rule := must(c.Sessions.PutRetention(ctx, prefix, &hour, nil))
	if rule.Prefix != prefix || rule.MaxAgeSec == nil || *rule.MaxAgeSec != 3600 || rule.MaxMessages != nil {
		t.Fatalf("put retention %+v", rule)
	}
	found := false
	for _, r := range must(c.Sessions.Retention(ctx)) {
		found = found || r.Prefix == prefix
	}
	if !found {
		t.Fatal("retention rule not listed")
	}
	if err := c.Sessions.DeleteRetention(ctx, prefix); err != nil {
		t.Fatal(err)
	}
}

// The bus.purge job runs every second on the test server (sdks/testserver.mjs): this test waits for a run.
func TestBusPurgedPositionsAnswer410(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := newClient()
	prefix := "sdk-" + unique() + "-purge:"
	sid := prefix + "1"
	two := int64(2)
	must(c.Sessions.PutRetention(ctx, prefix, nil, &two))
	defer func() { _ = c.Sessions.DeleteRetention(context.Background(), prefix) }()
	must(c.Sessions.Send(ctx, sid, note(1), note(2), note(3), note(4), note(5)))
	deadline := time.Now().Add(90 * time.Second)
	for must(c.Sessions.Get(ctx, sid)).PurgedThrough < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the purge job did not run within 90 s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	var lerr *loam.Error
	if _, err := c.Sessions.Messages(ctx, sid, 0, 0); !errors.As(err, &lerr) || lerr.Status != 410 || lerr.Code != "position_purged" {
		t.Fatalf("history after a purged position: %v", err)
	}
	err := c.Sessions.Subscribe(ctx, sid, loam.SubscribeOptions{After: 1}, func(loam.BusMessage) error { return nil })
	if !errors.As(err, &lerr) || lerr.Status != 410 {
		t.Fatalf("subscribe after a purged position: %v", err)
	}
	if got := positions(must(c.Sessions.History(ctx, sid, 3, 0).All())); !reflect.DeepEqual(got, []int64{4, 5}) {
		t.Fatalf("history after the purge %v", got)
	}
}
