package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

func testAgents(t *testing.T, s store.Store) {
	ctx := context.Background()
	agents := []store.Agent{
		{ID: "zoe", Name: "Zoe", TokenHash: []byte{1, 2, 3}, Type: store.UserSupervisor, CreatedAt: at(0)},
		{ID: "adam", Name: "Adam", TokenHash: []byte{4, 5, 6}, Type: store.UserAgent, CreatedAt: at(1)},
		{ID: "bot-1", Name: "Bot", TokenHash: []byte{7}, Type: store.UserAgent},
	}
	for _, a := range agents {
		must(t, "AddAgent "+a.ID, s.AddAgent(ctx, a))
	}
	wantErr(t, "AddAgent duplicate id", s.AddAgent(ctx, store.Agent{ID: "zoe", TokenHash: []byte{9}, Type: store.UserAgent}), store.ErrExists)
	wantErr(t, "AddAgent duplicate token", s.AddAgent(ctx, store.Agent{ID: "eve", TokenHash: []byte{1, 2, 3}, Type: store.UserAgent}), store.ErrExists)
	wantErr(t, "AddAgent bad type", s.AddAgent(ctx, store.Agent{ID: "eve", TokenHash: []byte{9}, Type: "CLIENT"}), store.ErrInvalid)
	wantErr(t, "AddAgent no token", s.AddAgent(ctx, store.Agent{ID: "eve", Type: store.UserAgent}), store.ErrInvalid)

	a, err := s.GetAgent(ctx, "zoe")
	must(t, "GetAgent", err)
	if a.Name != "Zoe" || !bytes.Equal(a.TokenHash, []byte{1, 2, 3}) || a.Type != store.UserSupervisor || !a.CreatedAt.Equal(at(0)) {
		t.Fatalf("GetAgent zoe: %+v", a)
	}
	a, err = s.GetAgentByTokenHash(ctx, []byte{4, 5, 6})
	must(t, "GetAgentByTokenHash", err)
	if a.ID != "adam" {
		t.Fatalf("GetAgentByTokenHash: %+v", a)
	}
	_, err = s.GetAgentByTokenHash(ctx, []byte{4, 5})
	wantErr(t, "GetAgentByTokenHash unknown", err, store.ErrNotFound)
	bot, err := s.GetAgent(ctx, "bot-1")
	must(t, "GetAgent bot-1", err)
	if bot.CreatedAt.IsZero() {
		t.Fatal("default CreatedAt not set")
	}

	list, err := s.ListAgents(ctx)
	must(t, "ListAgents", err)
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	if fmt.Sprint(ids) != "[adam bot-1 zoe]" {
		t.Fatalf("ListAgents = %v", ids)
	}

	must(t, "RemoveAgent", s.RemoveAgent(ctx, "adam"))
	wantErr(t, "RemoveAgent again", s.RemoveAgent(ctx, "adam"), store.ErrNotFound)
	_, err = s.GetAgent(ctx, "adam")
	wantErr(t, "GetAgent removed", err, store.ErrNotFound)
	// The removed agent's token may be given to a new agent.
	must(t, "AddAgent reusing token", s.AddAgent(ctx, store.Agent{ID: "adam2", TokenHash: []byte{4, 5, 6}, Type: store.UserAgent}))
}

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.GetSetting(ctx, "admin-token")
	wantErr(t, "GetSetting missing", err, store.ErrNotFound)
	must(t, "PutSetting", s.PutSetting(ctx, "admin-token", "t1"))
	must(t, "PutSetting", s.PutSetting(ctx, "esp-token", ""))
	for k, want := range map[string]string{"admin-token": "t1", "esp-token": ""} {
		v, err := s.GetSetting(ctx, k)
		must(t, "GetSetting "+k, err)
		if v != want {
			t.Fatalf("GetSetting %s = %q, want %q", k, v, want)
		}
	}
	must(t, "PutSetting overwrite", s.PutSetting(ctx, "admin-token", "t2"))
	if v, err := s.GetSetting(ctx, "admin-token"); err != nil || v != "t2" {
		t.Fatalf("GetSetting after overwrite = %q, %v", v, err)
	}
	wantErr(t, "PutSetting empty key", s.PutSetting(ctx, "", "x"), store.ErrInvalid)
}

func testClose(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Writes queued before Close are flushed by it.
	tickets := make([]store.Ticket, 200)
	for i := range tickets {
		tickets[i] = s.AppendEvent(ctx, event("A", int64(i)))
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	must(t, "Close", s.Close(cctx))
	for i, tk := range tickets {
		select {
		case <-tk.Done():
		default:
			t.Fatalf("ticket %d still pending after Close", i)
		}
		must(t, fmt.Sprint("ticket ", i), tk.Wait(ctx))
	}
	must(t, "Close again", s.Close(ctx))

	wantErr(t, "AppendEvent after Close", appendWait(t, s, event("A", 999)), store.ErrClosed)
	wantErr(t, "CreateInteraction after Close", s.CreateInteraction(ctx, store.Interaction{ID: "x"}), store.ErrClosed)
	wantErr(t, "PutSetting after Close", s.PutSetting(ctx, "k", "v"), store.ErrClosed)
	_, err := s.LoadEvents(ctx, "A")
	wantErr(t, "LoadEvents after Close", err, store.ErrClosed)
	_, err = s.GetInteraction(ctx, "x")
	wantErr(t, "GetInteraction after Close", err, store.ErrClosed)
}
