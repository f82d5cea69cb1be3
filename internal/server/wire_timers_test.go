package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	espc "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
	"github.com/confab/confab/internal/store/sqlite/sqlitetest"
)

// startTimed starts a node with a fake clock and an agent (alice) in its store.
func startTimed(t *testing.T, ini string, clk clock.Clock) (*e2eNode, string) {
	t.Helper()
	dir := sqlitetest.Dir(t) // an empty store of the current schema: no migrations to run
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddAgent(ctx, store.Agent{ID: "alice", Name: "Alice", TokenHash: agent.HashToken("tok-alice"), Type: store.UserAgent}); err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)
	cfg, _, err := config.Parse("timers.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	n := &e2eNode{}
	n.srv, err = server.New(ctx, server.Options{Config: cfg, DataDir: dir, Listen: "127.0.0.1:0", Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.srv.Shutdown(ctx)
	})
	n.agentURL = "http://" + n.srv.Addr(config.PortAgent)
	n.espURL = "http://" + n.srv.Addr(config.PortESP)
	n.chatURL = "http://" + n.srv.Addr(config.PortWebAPI) + "/genesys/2/chat"
	return n, dir
}

const timersINI = `
[settings]
transcript-auto-save = 1
flex-disconnect-timeout = 100000
[inactivity-control]
enabled = true
timeout-alert = 1
timeout-close = 1
message-alert = Are you still there?
message-close = Closed: nobody wrote.
[language:french]
language = fr
message-alert = Êtes-vous toujours là ?
message-close = Fermé : personne n'a écrit.
`

// TestInactivityEndToEnd drives the inactivity chain over real HTTP with a
// fake clock in the node: a customer polling refresh sees the alert text,
// then the close text and chatEnded; the agent sees both; the stored
// transcript records the close with reason 7.
func TestInactivityEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ud          map[string]string
		alert, bye  string
		viaWorkflow bool // the workflow turns inactivity control on for the session
	}{
		{name: "defaults", alert: "Are you still there?", bye: "Closed: nobody wrote."},
		{name: "french", ud: map[string]string{"GCTI_LanguageCode": "fr-FR"}, alert: "Êtes-vous toujours là ?", bye: "Fermé : personne n'a écrit."},
		{name: "workflow override", viaWorkflow: true, alert: "Workflow says hurry", bye: "Closed: nobody wrote."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
			ini := timersINI
			if tc.viaWorkflow {
				ini = strings.Replace(ini, "enabled = true", "enabled = false", 1)
			}
			n, _ := startTimed(t, ini, fake)
			// Routing retries a failed interaction save on the node's clock;
			// let the fake one move before the shutdown flushes it.
			t.Cleanup(func() { fake.Advance(time.Minute) })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cust := chatv2.New(n.chatURL, chatv2.Options{})
			defer cust.CloseIdleConnections()
			ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", UserData: tc.ud})
			if err != nil {
				t.Fatal(err)
			}
			alice := n.dial(t, "tok-alice")
			if _, err := alice.Accept(ctx, ch.ID, wire.JoinOptions{Text: "Hi"}); err != nil {
				t.Fatal(err)
			}
			sawText(t, alice, "Hi")
			if tc.viaWorkflow {
				esp := espc.New(n.espURL, readToken(t, n.srv.DataDir()+"/esp.token"), nil)
				if _, err := esp.IdleControlConfigure(ctx, ch.ID, espc.Params{"enabled": "true", "message-alert": tc.alert}); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := ch.Refresh(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			next := resp.NextPosition

			fake.Advance(time.Second) // timeout-alert
			resp = refreshFor(t, ctx, ch, next, func(r *chatv2.Response) bool { return find(r, chatv2.TypeIdleAlert) != nil })
			alert := find(resp, chatv2.TypeIdleAlert)
			if alert == nil || alert.Text != tc.alert || alert.From.Type != "External" || resp.ChatEnded || len(resp.Messages) > 2 {
				t.Fatalf("refresh after timeout-alert: %+v", resp)
			}
			if ud := alert.UserData; ud["next-idle-timer-type"] != "CLOSE" || ud["next-idle-timer-secs"] != "1" {
				t.Errorf("IdleAlert user data %v", ud)
			}
			sawText(t, alice, tc.alert)
			next = resp.NextPosition

			fake.Advance(time.Second) // timeout-close
			resp = refreshFor(t, ctx, ch, next, func(r *chatv2.Response) bool { return r.ChatEnded })
			if bye := find(resp, chatv2.TypeIdleClose); !resp.ChatEnded || bye == nil || bye.Text != tc.bye || resp.Messages[0].Type != chatv2.TypeIdleClose {
				t.Fatalf("refresh after timeout-close: %+v", resp)
			}
			var left *chatv2.Message
			for i := range resp.Messages {
				if m := &resp.Messages[i]; m.Type == chatv2.TypeParticipantLeft && m.From.Type == "Client" {
					left = m
				}
			}
			if left == nil {
				t.Fatalf("no ParticipantLeft of the customer: %+v", resp.Messages)
			}
			if code := left.EventAttributes["GCTI_SYSTEM"].(map[string]any)["quit-reason-code"]; code != "7" {
				t.Errorf("quit-reason-code %v, want 7", code)
			}
			sawText(t, alice, tc.bye)

			// The stored transcript records the close.
			st := storeOf(t, n.srv)
			var tr history.Transcript
			deadline := time.Now().Add(10 * time.Second)
			for {
				in, err := st.GetInteraction(ctx, ch.ID)
				if err == nil && in.Status == store.StatusClosed && len(in.Transcript) > 0 {
					if err := json.Unmarshal(in.Transcript, &tr); err != nil {
						t.Fatal(err)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no final transcript: %+v, %v", in, err)
				}
				time.Sleep(10 * time.Millisecond) // waits for the writer, not for a timer
			}
			raw, _ := json.Marshal(tr.Events)
			for _, want := range []string{tc.alert, tc.bye, "IDLE_CONTROL_CLOSE", `"reason":7`} {
				if !strings.Contains(string(raw), want) {
					t.Errorf("stored transcript lacks %q: %s", want, raw)
				}
			}
		})
	}
}

// refreshFor polls refresh until done accepts the answer: customers see an
// event once it is durable, so the store's writer may need a moment (this
// waits for the writer, never for a timer: the node's clock is fake).
func refreshFor(t *testing.T, ctx context.Context, ch *chatv2.Chat, from int, done func(*chatv2.Response) bool) *chatv2.Response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := ch.Refresh(ctx, from)
		if err != nil {
			t.Fatal(err)
		}
		if done(resp) || time.Now().After(deadline) {
			return resp
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// find returns the first message of type typ in r, or nil.
func find(r *chatv2.Response, typ string) *chatv2.Message {
	for i := range r.Messages {
		if r.Messages[i].Type == typ {
			return &r.Messages[i]
		}
	}
	return nil
}

// TestFlexPushEndToEnd: an async customer with push data who stops
// polling is pinged (counted by the node) after flex-push-timeout instead
// of being removed after flex-disconnect-timeout, and is removed only after
// another flex-push-timeout and flex-disconnect-timeout without a request.
func TestFlexPushEndToEnd(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	n, _ := startTimed(t, "[settings]\nflex-disconnect-timeout = 45\nflex-push-timeout = 600\n", fake)
	t.Cleanup(func() { fake.Advance(time.Minute) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", UserData: map[string]string{
		"GCTI_Chat_AsyncMode": "true", "push_notification_deviceid": "device-1", "push_notification_type": "customhttp"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := n.srv.Engine().Get(ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	present := func() bool { p, _ := s.Participant(ch.UserID); return !p.Left }
	fake.Advance(599 * time.Second)
	if !present() || n.srv.PushPings() != 0 {
		t.Fatalf("before flex-push-timeout: present %v, %d pings", present(), n.srv.PushPings())
	}
	fake.Advance(time.Second)
	if !present() || n.srv.PushPings() != 1 {
		t.Fatalf("at flex-push-timeout: present %v, %d pings; want present, 1 ping", present(), n.srv.PushPings())
	}
	fake.Advance(600*time.Second + 44*time.Second)
	if !present() {
		t.Fatal("removed before flex-push-timeout + flex-disconnect-timeout after the ping")
	}
	fake.Advance(time.Second)
	// A departure reads as done once it is durable: wait for the writer.
	until(t, "the customer's removal", func() bool { return !present() })
	evs, _, _ := s.ReadAll(0, nil)
	for _, ev := range evs {
		if ev.Kind == chat.PartyLeft && ev.From.UserID == ch.UserID && ev.Reason != chat.LeftDisconnect {
			t.Errorf("customer left with reason %d, want 3", ev.Reason)
		}
	}
}
