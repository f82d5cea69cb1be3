package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// TestOwnershipFencing checks the owner rows and the fencing of writes: a
// write carrying a stale epoch is refused (and so are the session's later
// writes in the batch), the new owner's are accepted, claims are
// compare-and-set, and a stale owner cannot release the session.
func TestOwnershipFencing(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	ev := func(pos, epoch int64) store.EventRow {
		return store.EventRow{SessionID: "s1", Position: pos, EventID: pos + 1, Time: time.UnixMicro(pos), Data: []byte(fmt.Sprintf(`{"epoch":%d}`, epoch)), Epoch: epoch}
	}
	if err := s.OwnNew(ctx, "s1", "node-a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.OwnNew(ctx, "s1", "node-b").Wait(ctx); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second OwnNew: %v, want ErrExists", err)
	}
	if err := s.AppendEvent(ctx, ev(0, 1)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := s.GetOwner(ctx, "s1")
	if err != nil || a.NodeID != "node-a" || a.Epoch != 1 {
		t.Fatalf("owner %+v, %v", a, err)
	}
	b, err := s.Claim(ctx, a, "node-b")
	if err != nil || b.Epoch != 2 || b.NodeID != "node-b" {
		t.Fatalf("claim: %+v, %v", b, err)
	}
	if _, err := s.Claim(ctx, a, "node-c"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claim from a stale row: %v, want ErrConflict", err)
	}
	// The old owner's writes are refused, with the later ones of the batch.
	stale1, stale2 := s.AppendEvent(ctx, ev(1, 1)), s.AppendEvent(ctx, ev(2, 2))
	if err := stale1.Wait(ctx); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale write: %v, want ErrFenced", err)
	}
	stale2.Wait(ctx) // in the same batch it fails with the first; alone it may pass
	if err := s.AppendEvent(ctx, ev(1, 2)).Wait(ctx); err != nil && !errors.Is(err, store.ErrConflict) {
		t.Fatalf("new owner's write: %v", err)
	}
	evs, _ := s.LoadEvents(ctx, "s1")
	for _, e := range evs {
		if e.Position == 1 && string(e.Data) == `{"epoch":1}` {
			t.Fatal("a fenced write was stored")
		}
	}
	if err := s.Release(ctx, "s1", 1); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale release: %v, want ErrFenced", err)
	}
	if err := s.Release(ctx, "s1", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOwner(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("owner after release: %v", err)
	}
	if err := s.PutNode(ctx, store.Node{ID: "node-a", URLs: map[string]string{"webapi": "http://127.0.0.1:1"}, LeaseUntil: time.UnixMicro(5)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.GetNode(ctx, "node-a")
	if err != nil || n.URLs["webapi"] != "http://127.0.0.1:1" || !n.LeaseUntil.Equal(time.UnixMicro(5).UTC()) {
		t.Fatalf("node %+v, %v", n, err)
	}
}
