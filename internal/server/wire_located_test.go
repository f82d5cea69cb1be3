package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// TestAttachedDataNameTheOwner: in a cluster the interaction's attached
// data name the node that owns the session (ChatServerAppName) and carry
// its ChatServerWebapiToken; when node a dies and b restores the chat, the
// stored record is updated to name b, the token stays valid, and an agent
// accepting on b is told the same node.
func TestAttachedDataNameTheOwner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, schema := pgtest.Schema(t)
	st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	if err := st.AddAgent(ctx, store.Agent{ID: "alice", Name: "Alice", TokenHash: agent.HashToken("tok-alice"),
		Type: store.UserAgent, Queues: []string{"default"}, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	ini := fmt.Sprintf("[store]\ndriver = postgres\ndsn = %s&search_path=%s\n[cluster]\nlease = 2\n", dsn, schema)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	a := startClustered(t, ini, clkA)
	b := startClustered(t, ini, clkB)

	cust := chatv2.New(a.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	// stored waits until the stored record's attached data satisfy ok,
	// nudging the node's fake clock (routing retries a write that came
	// before the record on it) by at most a second.
	stored := func(what string, clk *clock.Fake, ok func(app, tok string) bool) (string, string) {
		t.Helper()
		var app, tok, last string
		for i, deadline := 0, time.Now().Add(10*time.Second); time.Now().Before(deadline); i++ {
			var ud map[string]any
			ud, last = readStored(ctx, st, ch.ID, clk, i)
			app, _ = ud[routing.KeyAppName].(string)
			tok, _ = ud[routing.KeyWebapiToken].(string)
			if ok(app, tok) {
				return app, tok
			}
		}
		t.Fatalf("%s: the stored attached data name %q with token %q (record: %s)", what, app, tok, last)
		return "", ""
	}
	nodeA, tokA := stored("on a", clkA, func(app, tok string) bool { return app != "" && app != "confab" && tok != "" })

	clkB.Advance(5 * time.Second) // a's lease (2 s, renewed until a's clock's t0+1s at most) ended on b's clock
	custB := chatv2.New(b.chatURL, chatv2.Options{})
	defer custB.CloseIdleConnections()
	viaB := custB.Resume(ch.Service, ch.ID, ch.UserID, ch.SecureKey, ch.Alias())
	if r, err := viaB.Send(ctx, "back", nil); err != nil || r.StatusCode != 0 {
		t.Fatalf("the customer's restoring send on b: %+v, %v", r, err)
	}
	nodeB, tokB := stored("after the restoration on b", clkB, func(app, tok string) bool { return app != "" && app != nodeA && tok != "" })
	if tokB != tokA {
		t.Errorf("the token changed with the owner: %q, then %q (one cluster key)", tokA, tokB)
	}
	onB := b.dial(t, "tok-alice")
	f, err := onB.Do(ctx, wire.Request{Op: wire.OpAccept, InteractionID: ch.ID})
	if err != nil {
		t.Fatal(err)
	}
	if f.Node != nodeB || f.Interaction == nil || f.Interaction.UserData[routing.KeyAppName] != nodeB || f.WebapiToken != tokB {
		t.Fatalf("accept on b: node %q, token %q, interaction %+v; want node %q token %q", f.Node, f.WebapiToken, f.Interaction, nodeB, tokB)
	}
}
