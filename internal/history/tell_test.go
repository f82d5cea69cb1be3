package history_test

import (
	"context"
	"sync"
	"testing"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/store"
)

// TestTellsRoutingWhenRecordsLand: OnContact is told once the record
// exists and OnClosed once the closed record is stored, each once, so that
// routing's blind writes find the record and land after the close.
func TestTellsRoutingWhenRecordsLand(t *testing.T) {
	var mu sync.Mutex
	var told []string
	var st store.Store
	check := func(what, id string, wantStatus store.InteractionStatus) {
		in, err := st.GetInteraction(context.Background(), id)
		mu.Lock()
		defer mu.Unlock()
		told = append(told, what)
		if err != nil || in.Status != wantStatus {
			t.Errorf("%s told with the record %+v, %v; want it %s", what, in, err, wantStatus)
		}
	}
	ctx, st0, e := open(t, history.Options{AutoSave: func() int { return 1 },
		OnContact: func(id, contact string) { check("contact", id, store.StatusOpen) },
		OnClosed:  func(id string) { check("closed", id, store.StatusClosed) },
	})
	st = st0
	s, c, rc, err := e.Create(chat.CreateRequest{Queue: "q", Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rc, _, err = s.Leave(chat.LeaveRequest{UserID: c.UserID})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 2 || told[0] != "contact" || told[1] != "closed" {
		t.Errorf("told %v, want [contact closed]", told)
	}
}

// TestNoTellingOfASkippedClose: a close that is not written (BeforeClose
// refuses it: the cluster gave the session to another node) is not told.
func TestNoTellingOfASkippedClose(t *testing.T) {
	var mu sync.Mutex
	closed := 0
	ctx, st, e := open(t, history.Options{AutoSave: func() int { return 0 },
		OnClosed:    func(string) { mu.Lock(); closed++; mu.Unlock() },
		BeforeClose: func(context.Context, string) error { return store.ErrFenced },
	})
	s, c, rc, err := e.Create(chat.CreateRequest{Queue: "q", Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rc, _, err = s.Leave(chat.LeaveRequest{UserID: c.UserID})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err == nil {
		t.Fatal("the skipped close reported success")
	}
	if in, err := st.GetInteraction(ctx, s.ID()); err != nil || in.Status != store.StatusOpen {
		t.Fatalf("record %+v, %v; want it still open", in, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if closed != 0 {
		t.Errorf("OnClosed told %d times of a close not written", closed)
	}
}
