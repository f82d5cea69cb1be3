package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// TestRestartKeepsTheToken: a clustered node that starts again restores
// its chats before it serves (restoration at start), and routing writes
// their interactions then; the stored record must keep the chat's
// ChatServerWebapiToken, so the node must know the cluster's token key
// before it restores, not only once it starts serving.
func TestRestartKeepsTheToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, schema := pgtest.Schema(t)
	st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	ini := fmt.Sprintf("[store]\ndriver = postgres\ndsn = %s&search_path=%s\n[cluster]\nlease = 2\n", dsn, schema)
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	a := startClusteredIn(t, ini, clk, dir)

	cust := chatv2.New(a.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	storedToken := func(clk *clock.Fake, i int) (string, string) {
		ud, rec := readStored(ctx, st, ch.ID, clk, i)
		tok, _ := ud[routing.KeyWebapiToken].(string)
		return tok, rec
	}
	var tok, rec string
	for i, deadline := 0, time.Now().Add(10*time.Second); tok == "" && time.Now().Before(deadline); i++ {
		tok, rec = storedToken(clk, i)
	}
	if tok == "" {
		t.Fatalf("before the restart: no token in the stored record: %s", rec)
	}

	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	if err := a.srv.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	scancel()

	clk2 := clock.NewFake(t0.Add(time.Minute))
	b := startClusteredIn(t, ini, clk2, dir) // the same node id: it reclaims and restores its chat
	custB := chatv2.New(b.chatURL, chatv2.Options{})
	defer custB.CloseIdleConnections()
	if r, err := custB.Resume(ch.Service, ch.ID, ch.UserID, ch.SecureKey, ch.Alias()).Refresh(ctx, 0); err != nil || r.StatusCode != 0 {
		t.Fatalf("the chat after the restart: %+v, %v", r, err)
	}
	// Every write of the record after the restart must carry the token:
	// read it for a while (the restoration's routing write may come late).
	for i := 0; i < 40; i++ {
		got, rec := storedToken(clk2, i)
		if got != tok {
			t.Fatalf("after the restart (read %d): the stored token is %q, want %q (record: %s)", i, got, tok, rec)
		}
	}
}

// readStored reads a session's stored interaction record, after a short
// pause that nudges the node's fake clock (routing retries a write that
// came before the record) during the first 20 reads: its attached data,
// and the record as text (or the read's error) for a failure message.
func readStored(ctx context.Context, st *postgres.Store, id string, clk *clock.Fake, i int) (map[string]any, string) {
	time.Sleep(20 * time.Millisecond)
	if i < 20 {
		clk.Advance(50 * time.Millisecond)
	}
	in, err := st.GetInteraction(ctx, id)
	if err != nil {
		return nil, err.Error()
	}
	var ud map[string]any
	json.Unmarshal(in.UserData, &ud)
	return ud, fmt.Sprintf("state %s, %s", in.State, in.UserData)
}
