package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/store"
)

// TestLostSessionStaysFenced: after a node learns it lost a session (a
// fenced write), its copy may still be in use (a party on one of its
// sockets holds it). Every later write through it must still be refused:
// the node keeps the stale epoch instead of forgetting it (0 writes
// unfenced), and its close of the copy is refused too. A session the node
// claims back gets a live epoch again.
func TestLostSessionStaysFenced(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	quiet := slog.New(slog.DiscardHandler)
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	dropped := 0
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease, Log: quiet, Drop: func(string) { dropped++ }})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease, Log: quiet})
	for _, n := range []*cluster.Cluster{a, b} {
		if err := n.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		defer n.Stop(ctx)
	}
	if err := a.SessionCreated(&chat.Info{ID: "s1"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	clkB.Advance(lease + time.Second) // a is dead to b
	if r, err := b.Resolve(ctx, "s1"); err != nil || !r.Local || b.Epoch("s1") != 2 {
		t.Fatalf("b's claim: %+v, %v, epoch %d", r, err, b.Epoch("s1"))
	}
	a.Lost("s1")
	if dropped != 1 || a.Owned() != 0 {
		t.Fatalf("after Lost: %d drops, a owns %d", dropped, a.Owned())
	}
	if e := a.Epoch("s1"); e != 1 {
		t.Fatalf("a's epoch of the lost session is %d, want the stale 1 (0 would write unfenced)", e)
	}
	for pos := int64(5); pos < 7; pos++ {
		err := st.AppendEvent(ctx, store.EventRow{SessionID: "s1", Position: pos, EventID: pos + 1, Time: t0, Data: []byte(`{}`), Epoch: a.Epoch("s1")}).Wait(ctx)
		if !errors.Is(err, store.ErrFenced) {
			t.Fatalf("write %d through a's lost copy: %v, want ErrFenced", pos, err)
		}
	}
	if err := a.Release(ctx, "s1"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a's close of its lost copy: %v, want ErrFenced", err)
	}
	a.Lost("s1") // again: no second drop
	if dropped != 1 {
		t.Fatalf("a second Lost dropped again")
	}
	// b stops: a (alive, its clock behind) takes the session back.
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := a.Resolve(ctx, "s1"); err != nil || !r.Local || a.Epoch("s1") != 3 {
		t.Fatalf("a claims s1 back: %+v, %v, epoch %d; want 3", r, err, a.Epoch("s1"))
	}
	err := st.AppendEvent(ctx, store.EventRow{SessionID: "s1", Position: 5, EventID: 6, Time: t0, Data: []byte(`{}`), Epoch: a.Epoch("s1")}).Wait(ctx)
	if err != nil {
		t.Fatalf("a's write after claiming back: %v", err)
	}
}
