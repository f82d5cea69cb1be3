package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// startClustered starts an in-process node of a cluster on the PostgreSQL
// schema of dsn with its own fake clock.
func startClustered(t *testing.T, ini string, clk clock.Clock) *e2eNode {
	t.Helper()
	return startClusteredIn(t, ini, clk, t.TempDir())
}

// startClusteredIn is startClustered with the node's data directory (and
// so its node id) given, for a node that starts again.
func startClusteredIn(t *testing.T, ini string, clk clock.Clock, dataDir string) *e2eNode {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := config.Parse("ha.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	n := &e2eNode{}
	n.srv, err = server.New(ctx, server.Options{Config: cfg, DataDir: dataDir, Listen: "127.0.0.1:0", Clock: clk,
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
	n.chatURL = "http://" + n.srv.Addr(config.PortWebAPI) + "/genesys/2/chat"
	return n
}

func pushSubscribed(t *testing.T, n *e2eNode) string {
	t.Helper()
	_, m := getBody(t, "http://"+n.srv.Addr(config.PortHealth)+"/metrics")
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, "confab_push_subscribed "); ok {
			return v
		}
	}
	t.Fatal("no confab_push_subscribed in /metrics")
	return ""
}

// TestRestoreAndPushSend: node a owns a push-subscribed customer's chat
// (flex-push-on-join) with an agent; a is dead to node b (b's fake clock
// passes a's lease). The chat is restored on b either by the agent joining
// again with its ChatServerWebapiToken (session-restore-extend-by=agent)
// or by the customer. After the desktop's restoration the push
// subscription resumes and flex-push-timeout times the customer only with
// session-restore-push-send; otherwise the customer is removed after
// flex-disconnect-timeout. A customer's own restoration resumes it
// whatever the option says (flex-push-on-join, as at creation).
func TestRestoreAndPushSend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		byAgent  bool
		pushSend bool
		wantSub  string
		removed  bool
	}{
		{"desktop restores, push-send off", true, false, "0", true},
		{"desktop restores, push-send on", true, true, "1", false},
		{"customer restores, push-send off", false, false, "1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dsn, schema := pgtest.Schema(t)
			st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.AddAgent(ctx, store.Agent{ID: "alice", Name: "Alice", TokenHash: agent.HashToken("tok-alice"),
				Type: store.UserAgent, Queues: []string{"default"}, Capacity: 2}); err != nil {
				t.Fatal(err)
			}
			st.Close(ctx)
			ini := fmt.Sprintf(`[store]
driver = postgres
dsn = %s&search_path=%s
[cluster]
lease = 2
[settings]
session-restore-extend-by = agent
session-restore-push-send = %v
flex-push-enabled = true
flex-push-on-join = true
flex-push-timeout = 300
flex-disconnect-timeout = 60
`, dsn, schema, tc.pushSend)
			t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
			a := startClustered(t, ini, clkA)
			b := startClustered(t, ini, clkB)

			cust := chatv2.New(a.chatURL, chatv2.Options{})
			defer cust.CloseIdleConnections()
			ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim",
				UserData: map[string]string{"GCTI_Chat_PushSubscribe": "true", "GCTI_GMS_PushDeviceId": "device-1"}})
			if err != nil {
				t.Fatal(err)
			}
			onA := a.dial(t, "tok-alice")
			j, err := onA.Accept(ctx, ch.ID, wire.JoinOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := pushSubscribed(t, a); got != "1" {
				t.Fatalf("a: %s push subscriptions, want 1", got)
			}
			clkB.Advance(3 * time.Second) // a's lease (2 s) ended on b's clock
			onB := b.dial(t, "tok-alice")
			if tc.byAgent {
				f, err := onB.Do(ctx, wire.Request{Op: wire.OpJoin, SessionID: ch.ID, UserID: j.UserID,
					UserData: map[string]any{wire.KeyWebapiToken: j.Interaction.UserData[wire.KeyWebapiToken]}})
				if err != nil || !f.Restored || f.Node == "" {
					t.Fatalf("the desktop's restoring join on b: %+v, %v", f, err)
				}
			} else {
				viaB := chatv2.New(b.chatURL, chatv2.Options{}).Resume(ch.Service, ch.ID, ch.UserID, ch.SecureKey, ch.Alias())
				if r, err := viaB.Send(ctx, "back", nil); err != nil || r.StatusCode != 0 {
					t.Fatalf("the customer's restoring send on b: %+v, %v", r, err)
				}
				if _, err := onB.Do(ctx, wire.Request{Op: wire.OpJoin, SessionID: ch.ID, UserID: j.UserID}); err != nil {
					t.Fatalf("rejoin on b: %v", err)
				}
			}
			if got := pushSubscribed(t, b); got != tc.wantSub {
				t.Errorf("b after the restoration: %s push subscriptions, want %s", got, tc.wantSub)
			}
			clkB.Advance(61 * time.Second) // past flex-disconnect-timeout, within flex-push-timeout
			if _, err := onB.Send(ctx, ch.ID, wire.Message{Text: "still there?"}); err != nil {
				t.Fatal(err)
			}
			removed := false
			waitFor := func(ev wire.Event) bool {
				if ev.Kind == "partyLeft" && ev.From.UserType == "CLIENT" {
					removed = true
				}
				return ev.Text == "still there?"
			}
			sawEvent(t, onB, waitFor)
			if removed != tc.removed {
				t.Errorf("customer removed after 61 s: %v, want %v", removed, tc.removed)
			}
		})
	}
}

// sawEvent reads frames until match says stop.
func sawEvent(t *testing.T, c *wire.Client, match func(wire.Event) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("connection ended: %v", c.Err())
			}
			for _, ev := range f.Events {
				if match(ev) {
					return
				}
			}
		case <-timeout:
			t.Fatal("timed out waiting for an event")
		}
	}
}

// TestDrainTellsAgentsWhereTheChatWent: an agent on node b's socket is in a
// chat b owns; b drains; node a takes the chat over at its next lease
// renewal (a's fake clock); the agent's socket on b is told where the chat
// lives now (a restored frame naming a), its client joins again through b
// (relayed to a) as the same party, and its next message reaches the
// customer, who goes on through b (forwarded to a).
func TestDrainTellsAgentsWhereTheChatWent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, schema := pgtest.Schema(t)
	st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddAgent(ctx, store.Agent{ID: "alice", Name: "Alice", TokenHash: agent.HashToken("tok-alice"),
		Type: store.UserAgent, Queues: []string{"default"}, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)
	ini := fmt.Sprintf("[store]\ndriver = postgres\ndsn = %s&search_path=%s\n[cluster]\nlease = 3\n", dsn, schema)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	a := startClustered(t, ini, clkA)
	b := startClustered(t, ini, clkB)
	cust := chatv2.New(b.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	onB, err := wire.Dial(ctx, b.agentURL, "tok-alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer onB.Close()
	if _, err := onB.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	token := readToken(t, b.srv.DataDir()+"/admin.token")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.agentURL+"/api/v1/drain", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("drain b: %v %v", resp, err)
	}
	resp.Body.Close()
	aNode := strings.TrimSpace(readToken(t, a.srv.DataDir()+"/node.id"))
	var restored wire.Frame
	for i := 0; restored.Type == ""; i++ {
		if i == 100 {
			t.Fatal("the agent on b was never told where the chat went")
		}
		clkA.Advance(time.Second) // a's renewals take b's chats over
		clkB.Advance(time.Second) // b's socket looks for the new owner
		select {
		case f := <-onB.Frames():
			if f.Type == wire.FrameRestored {
				restored = f
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	if restored.SessionID != ch.ID || restored.Node != aNode || !restored.Restored || restored.URL != a.agentURL {
		t.Fatalf("restored frame %+v; want the chat on a (%s, %s)", restored, aNode, a.agentURL)
	}
	if _, err := onB.Send(ctx, ch.ID, wire.Message{Text: "from b's socket"}); err != nil {
		t.Fatalf("send after the move: %v", err)
	}
	resp2, err := ch.Refresh(ctx, 1)
	if err != nil || resp2.StatusCode != 0 {
		t.Fatalf("customer through b: %+v, %v", resp2, err)
	}
	n := 0
	for _, m := range resp2.Messages {
		if m.Text == "from b's socket" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the customer saw the agent's message %d times, want once: %+v", n, resp2.Messages)
	}
}
