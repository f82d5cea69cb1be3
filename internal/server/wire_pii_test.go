package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

const (
	piiCard   = "4111 1111 1111 1111"
	piiMasked = "**** **** **** ****"
)

// cardCopy says which copy of the card number a text carries: "clear",
// "masked", or "" for neither.
func cardCopy(text string) string {
	switch {
	case strings.Contains(text, piiCard):
		return "clear"
	case strings.Contains(text, piiMasked):
		return "masked"
	}
	return ""
}

func want(masked bool) string {
	if masked {
		return "masked"
	}
	return "clear"
}

// hasCleanup reports whether event attributes carry GCTI_SYSTEM.pii-cleanup.
func hasCleanup(attrs map[string]any) bool {
	sys, _ := attrs["GCTI_SYSTEM"].(map[string]any)
	_, ok := sys["pii-cleanup"].(map[string]any)
	return ok
}

// agentSawCard waits for the agent's copy of the customer's card message.
func agentSawCard(t *testing.T, c *wire.Client) wire.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("agent connection ended: %v", c.Err())
			}
			for _, ev := range f.Events {
				if ev.Kind == "message" && cardCopy(ev.Text) != "" {
					return ev
				}
			}
		case <-timeout:
			t.Fatal("the agent never got the card message")
		}
	}
}

// TestApplyAreaEveryPlace sends a card number under each apply-area and
// reads every place it surfaces: the customer's refresh and push, the
// agent's events, the intermediate stored events and the final stored
// transcript. "always" is set with its pre-8.5.103 [settings] name.
func TestApplyAreaEveryPlace(t *testing.T) {
	for _, tt := range []struct {
		area, ini                 string
		live, intermediate, final bool
	}{
		{"always", "[settings]\ntranscript-cleanup-apply = always\n", true, true, true},
		{"history-all", "[transcript-cleanup]\napply-area = history-all\n", false, true, true},
		{"history-final", "[transcript-cleanup]\napply-area = history-final\n", false, false, true},
		{"never", "[transcript-cleanup]\napply-area = never\n", false, false, false},
	} {
		t.Run(tt.area, func(t *testing.T) {
			dir := t.TempDir()
			n := startNode(t, dir, "[settings]\ntranscript-auto-save = 1\n"+tt.ini, slog.New(slog.DiscardHandler))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cust := chatv2.New(n.chatURL, chatv2.Options{})
			defer cust.CloseIdleConnections()
			ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
			if err != nil {
				t.Fatal(err)
			}
			sub, err := ch.Subscribe(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			alice := n.dial(t, "tok-alice")
			if _, err := alice.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := ch.Send(ctx, "my card is "+piiCard, nil); err != nil {
				t.Fatal(err)
			}

			// 1. The customer's refresh.
			resp, err := ch.Refresh(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range resp.Messages {
				if m.Type == chatv2.TypeMessage {
					got = append(got, cardCopy(m.Text))
					if hasCleanup(m.EventAttributes) != tt.live {
						t.Errorf("refresh: pii-cleanup attributes %v, want %v", m.EventAttributes, tt.live)
					}
				}
			}
			if len(got) != 1 || got[0] != want(tt.live) {
				t.Errorf("refresh: %v, want %s", got, want(tt.live))
			}
			// 2. The customer's push channel.
			pushed := ""
			for pushed == "" {
				fr, err := sub.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range fr.Messages {
					if m.Type == chatv2.TypeMessage {
						pushed = cardCopy(m.Text)
					}
				}
			}
			if pushed != want(tt.live) {
				t.Errorf("push: %s, want %s", pushed, want(tt.live))
			}
			// 3. The agent's events.
			ev := agentSawCard(t, alice)
			if cardCopy(ev.Text) != want(tt.live) || hasCleanup(ev.EventAttributes) != tt.live {
				t.Errorf("agent: %q %v, want %s", ev.Text, ev.EventAttributes, want(tt.live))
			}
			// 4. The intermediate stored events.
			st, err := sqlite.Open(ctx, dir, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(context.Background())
			rows, err := st.LoadEvents(ctx, ch.ID)
			if err != nil {
				t.Fatal(err)
			}
			stored := ""
			for _, r := range rows {
				if c := cardCopy(string(r.Data)); c != "" {
					stored = c
					if strings.Contains(string(r.Data), `"pii-cleanup"`) != tt.intermediate {
						t.Errorf("intermediate row %s: pii-cleanup attributes, want %v", r.Data, tt.intermediate)
					}
				}
			}
			if stored != want(tt.intermediate) {
				t.Errorf("intermediate transcript: %q, want %s", stored, want(tt.intermediate))
			}
			// 5. The final stored transcript.
			if _, err := ch.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := alice.Release(ctx, ch.ID, "FORCE_CLOSE", ""); err != nil && !strings.Contains(err.Error(), "closed") {
				t.Fatal(err)
			}
			var final string
			until(t, "the final transcript", func() bool {
				rec, err := st.GetInteraction(ctx, ch.ID)
				if err != nil || rec.Status != store.StatusClosed {
					return false
				}
				final = string(rec.Transcript)
				return true
			})
			if cardCopy(final) != want(tt.final) || strings.Contains(final, `"pii-cleanup"`) != tt.final {
				t.Errorf("final transcript %s, want %s", final, want(tt.final))
			}
		})
	}
}

// recorder is a debug-level log handler that keeps every record as text,
// LogValuers resolved.
type recorder struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (r *recorder) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// chatScenario runs a chat that puts customer text and user data through
// every path: creation with user data and subject, typing preview,
// messages, a custom notice, updateData, an agent and a coach, and the
// close.
func chatScenario(t *testing.T, n *e2eNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", Subject: "subject-secret-s1",
		UserData: map[string]string{"EmailAddress": "kim.secret@example.com", "OrderId": "ORD-SECRET-77"}})
	if err != nil {
		t.Fatal(err)
	}
	alice := n.dial(t, "tok-alice")
	if _, err := alice.Accept(ctx, ch.ID, wire.JoinOptions{UserData: map[string]any{"AgentNote": "agent-secret-note"}}); err != nil {
		t.Fatal(err)
	}
	bob := n.dial(t, "tok-bob") // alice asks bob to coach her
	if err := bob.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := alice.Invite(ctx, ch.ID, "bob", "INT"); err != nil {
		t.Fatal(err)
	}
	waitOffer(t, bob, ch.ID)
	if _, err := bob.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { _, err := ch.StartTyping(ctx, "typing-secret-t1"); return err },
		func() error { _, err := ch.Send(ctx, "message-secret-m1 "+piiCard, nil); return err },
		func() error { _, err := ch.CustomNotice(ctx, "notice-secret-n1", nil); return err },
		func() error { _, err := ch.UpdateData(ctx, map[string]string{"Extra": "update-secret-u1"}); return err },
		func() error {
			_, err := alice.Send(ctx, ch.ID, wire.Message{Text: "reply-secret-r1", EventAttributes: map[string]any{"a": "attr-secret-a1"}})
			return err
		},
		func() error {
			_, err := bob.Send(ctx, ch.ID, wire.Message{Text: "coach-secret-c1", Visibility: "INT"})
			return err
		},
		func() error { _, err := ch.Disconnect(ctx); return err },
	}
	// Refused input must not reach the log either.
	ch.PushURL(ctx, "pushurl-secret-p1")
	alice.Send(ctx, ch.ID, wire.Message{Text: "refused-secret-x1", Visibility: "VIP"})
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	s, _ := n.srv.Engine().Get(ch.ID)
	until(t, "the agents to see the customer leave", func() bool {
		evs, _, _ := s.ReadAll(0, nil)
		return len(evs) >= 9
	})
	alice.Release(ctx, ch.ID, "FORCE_CLOSE", "")
}

var secrets = []string{
	"kim.secret@example.com", "ORD-SECRET-77", "subject-secret-s1", "typing-secret-t1", "message-secret-m1",
	piiCard, "notice-secret-n1", "update-secret-u1", "reply-secret-r1", "attr-secret-a1", "coach-secret-c1",
	"agent-secret-note", "pushurl-secret-p1", "refused-secret-x1",
}

// TestLogHygiene runs the chat scenario with debug logging into a
// recording handler. With the defaults (message-log-print-size 0,
// hide-attached-data true) no message text and no user-data value may
// reach the log by any path; with printing allowed the same run does log
// them, which shows the message log is on and that the check can fail.
func TestLogHygiene(t *testing.T) {
	t.Run("hidden", func(t *testing.T) {
		rec := &recorder{}
		n := startNode(t, t.TempDir(), "[log]\nverbose = debug\n", rec.logger())
		chatScenario(t, n)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.srv.Shutdown(ctx)
		log := rec.String()
		if !strings.Contains(log, "chat: event") || !strings.Contains(log, "[truncated from size=") {
			t.Fatalf("the message log did not run:\n%s", log)
		}
		for _, s := range secrets {
			if strings.Contains(log, s) {
				t.Errorf("%q reached the log:\n%s", s, log)
			}
		}
	})
	t.Run("printed", func(t *testing.T) {
		rec := &recorder{}
		n := startNode(t, t.TempDir(), "[log]\nverbose = debug\n[settings]\nmessage-log-print-size = 1000\nhide-attached-data = false\n[log-filter-data]\nOrderId = hide-last-6\n", rec.logger())
		chatScenario(t, n)
		log := rec.String()
		for _, s := range []string{"kim.secret@example.com", "message-secret-m1", "reply-secret-r1", "attr-secret-a1", "ORD-SEC******"} {
			if !strings.Contains(log, s) {
				t.Errorf("%q was not logged with printing allowed", s)
			}
		}
		if strings.Contains(log, "ORD-SECRET-77") {
			t.Error("OrderId = hide-last-6 was not applied")
		}
	})
}

// TestRuleAPI manages stored rules over the admin API under
// apply-config=ucs: a rule that does not compile is refused naming the
// field and position, a good one masks the next message at once, and a
// removed one stops masking.
func TestRuleAPI(t *testing.T) {
	n := startNode(t, t.TempDir(), "[transcript-cleanup]\napply-area = always\napply-config = ucs\n", slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, n.agentURL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(data, &out)
		return resp.StatusCode, out
	}
	if code, _ := call("GET", "/api/v1/pii/rules", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	code, out := call("POST", "/api/v1/pii/rules", n.adminToken, `{"id":"acct","name":"Account","pattern":"ACC-(\\d{6}"}`)
	if code != http.StatusBadRequest || out["field"] != "pattern" || out["position"] != float64(4) {
		t.Fatalf("bad pattern: %d %v", code, out)
	}
	code, out = call("POST", "/api/v1/pii/rules", n.adminToken, `{"id":"acct","name":"Account","pattern":"x","spec":"half"}`)
	if code != http.StatusBadRequest || out["field"] != "spec" {
		t.Fatalf("bad spec: %d %v", code, out)
	}
	if code, out = call("POST", "/api/v1/pii/rules", n.adminToken, `{"id":"acct","name":"Account","pattern":"x","bogus":1}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %v", code, out)
	}

	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	last := func() string {
		t.Helper()
		resp, err := ch.Refresh(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Messages[len(resp.Messages)-1].Text
	}
	// ucs without stored rules: nothing is masked, not even a card.
	ch.Send(ctx, "card "+piiCard+" account ACC-123456", nil)
	if got := last(); got != "card "+piiCard+" account ACC-123456" {
		t.Fatalf("ucs without rules masked: %q", got)
	}
	if code, out = call("POST", "/api/v1/pii/rules", n.adminToken, `{"id":"acct","name":"Account","pattern":"(?<=ACC-)\\d{6}","spec":"digits-keep-last-2"}`); code != http.StatusCreated {
		t.Fatalf("good rule: %d %v", code, out)
	}
	if code, _ = call("POST", "/api/v1/pii/rules", n.adminToken, `{"id":"acct","name":"Again","pattern":"y"}`); code != http.StatusConflict {
		t.Fatalf("duplicate id: %d", code)
	}
	ch.Send(ctx, "card "+piiCard+" account ACC-123456", nil)
	if got := last(); got != "card "+piiCard+" account ACC-****56" {
		t.Fatalf("with the stored rule: %q", got)
	}
	code, out = call("POST", "/api/v1/pii/test", n.adminToken, `{"text":"ACC-999999"}`)
	if code != 200 || out["text"] != "ACC-****99" {
		t.Fatalf("test: %d %v", code, out)
	}
	code, out = call("GET", "/api/v1/pii/rules", n.adminToken, "")
	if inForce, _ := out["inForce"].([]any); code != 200 || len(inForce) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	if code, _ = call("DELETE", "/api/v1/pii/rules/acct", n.adminToken, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ = call("DELETE", "/api/v1/pii/rules/acct", n.adminToken, ""); code != http.StatusNotFound {
		t.Fatalf("delete again: %d", code)
	}
	ch.Send(ctx, "account ACC-123456", nil)
	if got := last(); got != "account ACC-123456" {
		t.Fatalf("after removal: %q", got)
	}
	// A pathological rule times out: the message goes through unmasked,
	// at once, and the timeout is counted.
	if code, out = call("POST", "/api/v1/pii/rules", n.adminToken, `{"id":"slow","name":"Slow","pattern":"(x+x+)+y","spec":"all"}`); code != http.StatusCreated {
		t.Fatalf("slow rule: %d %v", code, out)
	}
	slow := strings.Repeat("x", 40)
	ch.Send(ctx, slow, nil)
	if got := last(); got != slow {
		t.Fatalf("after a timed-out rule: %q", got)
	}
	_, body := getBody(t, "http://"+n.srv.Addr(config.PortHealth)+"/Counters?content=all")
	var counters map[string]int64
	if err := json.Unmarshal([]byte(body), &counters); err != nil || counters["pii_rule_timeouts"] != 1 {
		t.Fatalf("pii_rule_timeouts in %s (%v)", body, err)
	}
}
