package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/leakcheck"
	"github.com/confab/confab/internal/push"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// receiver is the customer's HTTP server on 127.0.0.1: it records every
// notification and fails the first `fail` of them with HTTP 500.
type receiver struct {
	ts   *httptest.Server
	fail atomic.Int32

	mu     sync.Mutex // guards the following
	bodies []map[string]any
	raw    []string
	oks    int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("notification is not JSON: %v %q", err, b)
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, m)
		r.raw = append(r.raw, string(b))
		ok := r.fail.Add(-1) < 0
		if ok {
			r.oks++
		}
		r.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(r.ts.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func (r *receiver) body(i int) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[i]
}

// eventually polls cond (with a real-time deadline) for an asynchronous
// effect such as a POST arriving; it never stands in for a timer.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle checks that nothing more arrives: the sender has no job left.
func settle(t *testing.T, svc *push.Service) {
	t.Helper()
	eventually(t, "the queue to drain", func() bool {
		st := svc.Stats()
		return st.Delivered+st.GivenUp+st.Skipped == st.Queued
	})
}

type fixture struct {
	t      *testing.T
	clk    *clock.Fake
	rcv    *receiver
	cfg    atomic.Pointer[config.Config]
	svc    *push.Service
	engine *chat.Engine
	conn   atomic.Bool
}

func newFixture(t *testing.T, ini string, outbox store.Outbox) *fixture {
	f := &fixture{t: t, clk: clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), rcv: newReceiver(t)}
	cfg, _, err := config.Parse("t.ini", []byte(fmt.Sprintf("[settings]\nflex-push-enabled = true\nflex-push-on-join = true\n%s\n[push]\ncustomhttp.url = %s/notify\n", ini, f.rcv.ts.URL)))
	if err != nil {
		t.Fatal(err)
	}
	f.cfg.Store(cfg)
	f.start(outbox)
	return f
}

func (f *fixture) start(outbox store.Outbox) {
	f.svc = push.New(push.Options{
		Config: f.cfg.Load, Clock: f.clk, Outbox: outbox, Alias: "7",
		Connected: func(string) bool { return f.conn.Load() },
		Secret: func(sessionID, userID string) string {
			s, err := f.engine.Get(sessionID)
			if err != nil {
				return ""
			}
			p, _ := s.Participant(userID)
			return p.Secret
		},
		Encode: func(dst []byte, ev *chat.Event) ([]byte, bool) {
			if ev.Kind == chat.Notice && ev.Notice == chat.IdleSet {
				return dst, false
			}
			return fmt.Appendf(dst, `{"index":%d,"text":%q}`, ev.ID(), ev.Text), true
		},
	})
	f.t.Cleanup(func() { f.svc.Close(context.Background()) })
	f.engine = chat.New(chat.Options{Clock: f.clk, Journal: f.svc})
}

var subscribe = kv.Map{push.KeySubscribe: "true", push.KeyDeviceID: "dev-1", push.KeyDeviceType: "customhttp"}

func with(m kv.Map, kvs ...string) kv.Map {
	out := m.Clone()
	for i := 0; i < len(kvs); i += 2 {
		out[kvs[i]] = kvs[i+1]
	}
	return out
}

func (f *fixture) chat(ud kv.Map) (*chat.Session, chat.Participant, chat.Participant) {
	f.t.Helper()
	s, me, _, err := f.engine.Create(chat.CreateRequest{UserData: ud, Creator: chat.JoinRequest{Nick: "Ann", Type: chat.Client, Protocol: chat.Flex, Secret: "sekrit"}})
	if err != nil {
		f.t.Fatal(err)
	}
	agent, _, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})
	if err != nil {
		f.t.Fatal(err)
	}
	return s, me, agent
}

func path(m map[string]any, keys ...any) any {
	var v any = m
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

// TestPushPayloadAndVisibility: with payload, each event the customer may
// see is posted with the event; INT, VIP, the customer's own and events
// without a customer form are not; a connected customer gets none.
func TestPushPayloadAndVisibility(t *testing.T) {
	f := newFixture(t, "flex-push-content = session-id,user-id,app-dbid", nil)
	s, me, agent := f.chat(with(subscribe, push.KeyIncludePayload, "true"))
	// The agent's join was the first notification.
	eventually(t, "the join notification", func() bool { return f.rcv.count() == 1 })
	sup, _, err := s.Join(chat.JoinRequest{Nick: "Boss", Type: chat.Supervisor, Protocol: chat.Basic, Visibility: chat.VisVIP})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		from string
		msg  chat.Msg
	}{
		{agent.UserID, chat.Msg{Text: "internal", Visibility: chat.VisInt}},
		{sup.UserID, chat.Msg{Text: "supervisors", Visibility: chat.VisVIP}},
		{agent.UserID, chat.Msg{Text: "hello"}},
	} {
		if _, err := s.Send(m.from, m.msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Send(me.UserID, chat.Msg{Text: "my own"}); err != nil {
		t.Fatal(err)
	}
	settle(t, f.svc)
	if n := f.rcv.count(); n != 2 {
		t.Fatalf("%d notifications, want the join and the ALL message: %v", n, f.rcv.raw)
	}
	b := f.rcv.body(1)
	if path(b, "deviceId") != "dev-1" || path(b, "message", "messages", 0, "text") != "hello" ||
		path(b, "message", "userData", "session-id") != s.ID() || path(b, "message", "userData", "user-id") != me.UserID ||
		path(b, "message", "userData", "app-dbid") != "7" || path(b, "message", "chatEnded") != false ||
		path(b, "message", "nextPosition") != float64(7) || path(b, "message", "secureKey") != nil {
		t.Fatalf("payload notification: %s", f.rcv.raw[1])
	}
	f.conn.Store(true)
	s.Send(agent.UserID, chat.Msg{Text: "while connected"})
	settle(t, f.svc)
	if n := f.rcv.count(); n != 2 || f.svc.Stats().Skipped != 1 {
		t.Fatalf("a connected customer was pushed to: %d, %+v", n, f.svc.Stats())
	}
}

// TestPushWithoutPayload: the body is the device id alone; with
// GCTI_GMS_NotifyRequestor the customer's own events are pushed too.
func TestPushWithoutPayload(t *testing.T) {
	f := newFixture(t, "", nil)
	s, me, _ := f.chat(with(subscribe, push.KeyNotifyRequstor, "true"))
	s.Send(me.UserID, chat.Msg{Text: "mine"})
	eventually(t, "two notifications", func() bool { return f.rcv.count() == 2 })
	settle(t, f.svc)
	for _, raw := range f.rcv.raw {
		if raw != `{"deviceId":"dev-1"}` {
			t.Fatalf("notification without payload: %s", raw)
		}
	}
}

// TestPushNotSubscribed: no subscription, push off, on-join off.
func TestPushNotSubscribed(t *testing.T) {
	for name, c := range map[string]struct {
		ini string
		ud  kv.Map
	}{
		"no subscribe key":  {"", kv.Map{push.KeyDeviceID: "d"}},
		"no device id":      {"", kv.Map{push.KeySubscribe: "true"}},
		"other device type": {"", with(subscribe, push.KeyDeviceType, "fcm")},
		"on-join off":       {"flex-push-on-join = false", subscribe},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, c.ini, nil)
			s, _, agent := f.chat(c.ud)
			s.Send(agent.UserID, chat.Msg{Text: "hi"})
			if st := f.svc.Stats(); st.Subscribed != 0 || st.Queued != 0 {
				t.Fatalf("%+v", st)
			}
		})
	}
	f := newFixture(t, "", nil)
	c := f.cfg.Load()
	off := *c
	off.Settings.FlexPushEnabled = false
	f.cfg.Store(&off)
	s, _, agent := f.chat(subscribe)
	s.Send(agent.UserID, chat.Msg{Text: "hi"})
	if st := f.svc.Stats(); st.Queued != 0 {
		t.Fatalf("flex-push-enabled = false still queued: %+v", st)
	}
}

// TestPushRetryBackoff fails the first three POSTs and checks the retry
// schedule on the fake clock: 1 s, 2 s, 4 s after each failure.
func TestPushRetryBackoff(t *testing.T) {
	f := newFixture(t, "", nil)
	f.rcv.fail.Store(3)
	f.chat(subscribe) // the agent's join is the notification
	eventually(t, "the first POST", func() bool { return f.rcv.count() == 1 })
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		eventually(t, "the retry to be scheduled", func() bool { return f.clk.Pending() == 1 })
		f.clk.Advance(wait - time.Millisecond)
		time.Sleep(20 * time.Millisecond) // give a wrongly early retry the chance to show
		if n := f.rcv.count(); n != i+1 {
			t.Fatalf("POST %d came before %v", n, wait)
		}
		f.clk.Advance(time.Millisecond)
		eventually(t, fmt.Sprintf("POST %d", i+2), func() bool { return f.rcv.count() == i+2 })
	}
	settle(t, f.svc)
	st := f.svc.Stats()
	if st.Attempts != 4 || st.Failures != 3 || st.Delivered != 1 || st.GivenUp != 0 || st.LatencyCount != 1 || f.clk.Pending() != 0 {
		t.Fatalf("stats %+v, %d timers", st, f.clk.Pending())
	}
}

// TestPushGivesUp: a destination that always fails is given up after
// delivery-attempts, counted, and the chat goes on.
func TestPushGivesUp(t *testing.T) {
	f := newFixture(t, "", nil)
	cfg := *f.cfg.Load()
	cfg.Push.DeliveryAttempts = 2
	f.cfg.Store(&cfg)
	f.rcv.fail.Store(1000)
	s, me, agent := f.chat(subscribe)
	eventually(t, "the first POST", func() bool { return f.rcv.count() == 1 })
	eventually(t, "the retry to be scheduled", func() bool { return f.clk.Pending() == 1 })
	f.clk.Advance(time.Second)
	eventually(t, "the given-up count", func() bool { return f.svc.Stats().GivenUp == 1 })
	if _, err := s.Send(agent.UserID, chat.Msg{Text: "still here"}); err != nil {
		t.Fatalf("the chat after a dead push URL: %v", err)
	}
	if evs, _, _, _ := s.Read(me.UserID, 0, nil); evs[len(evs)-1].Text != "still here" {
		t.Fatal("the message was not appended")
	}
}

// TestPushReliable checks the reliable mode's JSON, the resend schedule
// (every flex-push-resend-delay, flex-push-resend-attempts times) and the
// acknowledgement by a refresh.
func TestPushReliable(t *testing.T) {
	f := newFixture(t, "flex-push-resend-attempts = 2\nflex-push-resend-delay = 30\nflex-push-content = session-id,user-id,app-dbid,secure-key", nil)
	s, me, agent := f.chat(with(subscribe, push.KeyResend, "true", push.KeyIncludePayload, "true"))
	eventually(t, "the trigger", func() bool { return f.rcv.count() == 1 })
	var got map[string]any
	json.Unmarshal([]byte(f.rcv.raw[0]), &got)
	want := map[string]any{
		"deviceId": "dev-1",
		"message": map[string]any{
			"secureKey": "sekrit", "chatId": "deprecated", "nextPosition": 3.0, "alias": "7", "chatEnded": false,
			"userId": "deprecated", "statusCode": 0.0, "monitored": false,
			"messages": []any{map[string]any{
				"from":  map[string]any{"nickname": "", "participantId": 0.0, "type": "Client"},
				"index": 0.0, "text": "PUSH-NOTIFICATION", "type": "PushUrl", "utcTime": float64(f.clk.Now().UnixMilli()),
				"userData": map[string]any{"notify-attempt": "0", "notify-position": "2", "secure-key": "sekrit",
					"app-dbid": "7", "user-id": me.UserID, "session-id": s.ID()},
			}},
		},
	}
	if a, b := fmt.Sprint(got), fmt.Sprint(want); a != b {
		t.Fatalf("reliable notification\n got %s\nwant %s", a, b)
	}
	// More events while the trigger is out announce nothing new.
	s.Send(agent.UserID, chat.Msg{Text: "two"})
	settle(t, f.svc)
	if f.rcv.count() != 1 {
		t.Fatal("a second trigger before any refresh")
	}
	for attempt := 1; attempt <= 2; attempt++ {
		f.clk.Advance(30*time.Second - time.Millisecond)
		settle(t, f.svc)
		if f.rcv.count() != attempt {
			t.Fatalf("resend %d before the delay", attempt)
		}
		f.clk.Advance(time.Millisecond)
		eventually(t, "the resend", func() bool { return f.rcv.count() == attempt+1 })
		b := f.rcv.body(attempt)
		if path(b, "message", "messages", 0, "userData", "notify-attempt") != fmt.Sprint(attempt) ||
			path(b, "message", "messages", 0, "userData", "notify-position") != "2" || path(b, "message", "nextPosition") != 4.0 {
			t.Fatalf("resend %d: %s", attempt, f.rcv.raw[attempt])
		}
	}
	f.clk.Advance(time.Minute)
	settle(t, f.svc)
	if st := f.svc.Stats(); f.rcv.count() != 3 || st.Expired != 1 || st.Resends != 2 || st.Pending != 0 {
		t.Fatalf("after the resends ran out: %d POSTs, %+v", f.rcv.count(), st)
	}
	// A new event starts a new trigger; a refresh acknowledges it.
	s.Send(agent.UserID, chat.Msg{Text: "three"})
	eventually(t, "the new trigger", func() bool { return f.rcv.count() == 4 })
	if p := path(f.rcv.body(3), "message", "messages", 0, "userData", "notify-position"); p != "4" {
		t.Fatalf("new trigger's notify-position %v", p)
	}
	f.svc.Refreshed(s.ID(), me.UserID, 4)
	f.clk.Advance(time.Hour)
	settle(t, f.svc)
	if st := f.svc.Stats(); f.rcv.count() != 4 || st.Acked != 1 {
		t.Fatalf("after a refresh: %d POSTs, %+v", f.rcv.count(), st)
	}
	// Closing tells the reliable subscriber the chat ended.
	s.Close(chat.CloseRequest{Reason: chat.RemovedByServer})
	eventually(t, "the closing trigger", func() bool { return f.rcv.count() == 5 })
	b := f.rcv.body(4)
	if path(b, "message", "chatEnded") != true || path(b, "message", "messages", 0, "userData", "notify-position") != "-1" {
		t.Fatalf("closing trigger: %s", f.rcv.raw[4])
	}
	if st := f.svc.Stats(); st.Subscribed != 0 {
		t.Fatalf("subscription outlived the chat: %+v", st)
	}
}

// TestPushRestartDuringResend stops the service while a reliable
// notification waits for its refresh and starts a new one on the reopened
// store: the resends go on from the attempt reached.
func TestPushRestartDuringResend(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "flex-push-resend-attempts = 5\nflex-push-resend-delay = 30", st)
	s, me, _ := f.chat(with(subscribe, push.KeyResend, "true"))
	eventually(t, "the trigger", func() bool { return f.rcv.count() == 1 })
	f.clk.Advance(30 * time.Second)
	eventually(t, "resend 1", func() bool { return f.rcv.count() == 2 })
	f.clk.Advance(10 * time.Second)
	eventually(t, "the outbox record", func() bool {
		items, _ := st.ListOutbox(context.Background(), push.OutboxKind)
		return len(items) == 1 && strings.Contains(string(items[0].Value), `"attempt":1`)
	})
	f.svc.Close(context.Background())
	st.Close(context.Background())

	st, err = sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	f.start(st)
	n, err := f.svc.Load(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Load = %d, %v", n, err)
	}
	f.clk.Advance(20*time.Second - time.Millisecond)
	settle(t, f.svc)
	if f.rcv.count() != 2 {
		t.Fatal("a resend before its time after the restart")
	}
	f.clk.Advance(time.Millisecond)
	eventually(t, "resend 2 after the restart", func() bool { return f.rcv.count() == 3 })
	b := f.rcv.body(2)
	if path(b, "message", "messages", 0, "userData", "notify-attempt") != "2" ||
		path(b, "message", "messages", 0, "userData", "session-id") != s.ID() {
		t.Fatalf("resend after restart: %s", f.rcv.raw[2])
	}
	f.svc.Refreshed(s.ID(), me.UserID, 3)
	eventually(t, "the outbox record to go", func() bool {
		items, _ := st.ListOutbox(context.Background(), push.OutboxKind)
		return len(items) == 0
	})
}

// TestPushPing: the flex-push-timeout ping reaches a subscribed customer
// even while connected.
func TestPushPing(t *testing.T) {
	f := newFixture(t, "", nil)
	s, _, _ := f.chat(subscribe)
	eventually(t, "the join notification", func() bool { return f.rcv.count() == 1 })
	if f.svc.Ping("nope") {
		t.Fatal("ping of an unknown session")
	}
	if !f.svc.Ping(s.ID()) {
		t.Fatal("ping refused")
	}
	eventually(t, "the ping", func() bool { return f.rcv.count() == 2 })
}

// TestPushQueueBound: a destination's queue holds queue-size
// notifications; more are dropped and counted, never blocking the chat.
func TestPushQueueBound(t *testing.T) {
	block := make(chan struct{})
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer ts.Close()
	defer once.Do(func() { close(block) })
	f := newFixture(t, "", nil)
	cfg := *f.cfg.Load()
	cfg.Push.CustomHTTPURL, cfg.Push.QueueSize = ts.URL, 3
	f.cfg.Store(&cfg)
	s, _, agent := f.chat(subscribe)
	for i := range 10 {
		if _, err := s.Send(agent.UserID, chat.Msg{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	st := f.svc.Stats()
	if st.Queued+st.Dropped != 11 || st.Dropped < 11-4 {
		t.Fatalf("11 notifications against a stuck destination with a queue of 3: %+v", st)
	}
	once.Do(func() { close(block) })
}

// TestPushSubscribeLater: with flex-push-on-join off the creation's keys
// do not subscribe, nor does an unrelated update of the session; an Update
// Data with new keys does, and GCTI_Chat_PushSubscribe=false ends it.
func TestPushSubscribeLater(t *testing.T) {
	f := newFixture(t, "flex-push-on-join = false", nil)
	s, me, agent := f.chat(subscribe)
	if err := s.SetLanguage("fr"); err != nil {
		t.Fatal(err)
	}
	s.Send(agent.UserID, chat.Msg{Text: "one"})
	if st := f.svc.Stats(); st.Subscribed != 0 || st.Queued != 0 {
		t.Fatalf("subscribed without flex-push-on-join: %+v", st)
	}
	if err := s.UpdateUserData(me.UserID, kv.Map{push.KeyDeviceID: "dev-2"}); err != nil {
		t.Fatal(err)
	}
	s.Send(agent.UserID, chat.Msg{Text: "two"})
	eventually(t, "the notification after the update", func() bool { return f.rcv.count() == 1 })
	if f.rcv.raw[0] != `{"deviceId":"dev-2"}` {
		t.Fatalf("after the update: %s", f.rcv.raw[0])
	}
	if err := s.UpdateUserData(me.UserID, kv.Map{push.KeySubscribe: "false"}); err != nil {
		t.Fatal(err)
	}
	s.Send(agent.UserID, chat.Msg{Text: "three"})
	settle(t, f.svc)
	if st := f.svc.Stats(); f.rcv.count() != 1 || st.Subscribed != 0 {
		t.Fatalf("after unsubscribing: %d POSTs, %+v", f.rcv.count(), st)
	}
}
