package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *postgres.Store {
	t.Helper()
	dsn, schema := pgtest.Schema(t)
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// TestLeaseClaimAndFence runs two nodes on one PostgreSQL store, each on
// its own fake clock. While node a's lease runs, node b forwards a's
// session to it; a's renewals (on a's clock) keep it alive; once b's clock
// passes a's last lease (a is paused, like SIGSTOP), b claims the session
// at epoch 2 and restores it, and a's next write with epoch 1 is refused.
func TestLeaseClaimAndFence(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	restored := make(chan string, 1)
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease,
		Restore: func(_ context.Context, id string) error { restored <- id; return nil }})
	if err := a.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	if err := b.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)

	if err := a.SessionCreated(&chat.Info{ID: "s1"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Epoch("s1") != 1 {
		t.Fatalf("a holds epoch %d, want 1", a.Epoch("s1"))
	}
	r, err := b.Resolve(ctx, "s1")
	if err != nil || r.Local || r.Node != "a" || r.URLs["webapi"] != "http://127.0.0.1:1" {
		t.Fatalf("b routes s1 to %+v, %v; want node a", r, err)
	}
	// a renews (its lease timer fires at a third of the lease).
	clkA.Advance(lease / 3)
	waitLease(t, st, "a", t0.Add(lease/3+lease))
	// b's time passes a's last lease: a is dead to b.
	clkB.Advance(lease/3 + lease + time.Second)
	r, err = b.Resolve(ctx, "s1")
	if err != nil || !r.Local {
		t.Fatalf("b after a's lease: %+v, %v; want a local claim", r, err)
	}
	if got := <-restored; got != "s1" || b.Epoch("s1") != 2 {
		t.Fatalf("b restored %s at epoch %d, want s1 at 2", got, b.Epoch("s1"))
	}
	o, err := st.GetOwner(ctx, "s1")
	if err != nil || o.NodeID != "b" || o.Epoch != 2 {
		t.Fatalf("owner row %+v, %v", o, err)
	}
	// a wakes up and writes with its epoch: refused.
	err = st.AppendEvent(ctx, store.EventRow{SessionID: "s1", Position: 5, EventID: 6, Time: t0, Data: []byte(`{}`), Epoch: a.Epoch("s1")}).Wait(ctx)
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a's stale write: %v, want ErrFenced", err)
	}
	if err := a.Release(ctx, "s1"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a's stale release: %v, want ErrFenced", err)
	}
	if err := b.Release(ctx, "s1"); err != nil {
		t.Fatalf("b releases the closed session: %v", err)
	}
	if r, err := a.Resolve(ctx, "s1"); err != nil || !r.Local {
		t.Fatalf("a closed session routes %+v, %v; want local (unknown)", r, err)
	}
}

// TestStopEndsLease checks a node that stops gracefully ends its lease at
// once: another node claims its sessions without waiting.
func TestStopEndsLease(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := clock.NewFake(t0)
	a := cluster.New(cluster.Options{Store: st, Clock: clk, NodeID: "a", Lease: time.Hour})
	b := cluster.New(cluster.Options{Store: st, Clock: clk, NodeID: "b", Lease: time.Hour})
	a.Start(ctx, nil)
	b.Start(ctx, nil)
	defer b.Stop(ctx)
	if err := a.SessionCreated(&chat.Info{ID: "s2"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.Resolve(ctx, "s2"); r.Local {
		t.Fatal("b claimed a live node's session")
	}
	clk.Advance(time.Millisecond)
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	if r, err := b.Resolve(ctx, "s2"); err != nil || !r.Local || b.Epoch("s2") != 2 {
		t.Fatalf("after a stopped: %+v, %v, epoch %d", r, err, b.Epoch("s2"))
	}
	// A restarted a reclaims what it still owns; s2 is b's now.
	if ids, err := a.ClaimOwn(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("ClaimOwn after the takeover: %v, %v", ids, err)
	}
}

func waitLease(t *testing.T, st store.Ownership, id string, want time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := st.GetNode(context.Background(), id)
		if err == nil && !n.LeaseUntil.Before(want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("node %s did not renew its lease to %v", id, want)
}
