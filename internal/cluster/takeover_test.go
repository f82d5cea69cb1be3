package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
)

// TestDrainTakeOverIsEager drains node a holding 40 sessions while b and c
// are live: b's next lease renewal (its fake clock advanced by a third of
// the lease, a's lease still running) claims and restores b's share at
// once, no request needed; c's TakeOver claims the rest; the two shares
// together are every session, each claimed once at epoch 2, and a's
// progress (StillOwned) goes from 40 to 0.
func TestDrainTakeOverIsEager(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease, sessions = 9 * time.Second, 40
	quiet := slog.New(slog.DiscardHandler)
	var mu sync.Mutex
	restoredBy := map[string]string{}
	restorer := func(node string) func(context.Context, string) error {
		return func(_ context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			if prev, ok := restoredBy[id]; ok {
				t.Errorf("session %s restored by %s and again by %s", id, prev, node)
			}
			restoredBy[id] = node
			return nil
		}
	}
	clkA, clkB, clkC := clock.NewFake(t0), clock.NewFake(t0), clock.NewFake(t0)
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease, Log: quiet})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease, Restore: restorer("b"), Log: quiet})
	c := cluster.New(cluster.Options{Store: st, Clock: clkC, NodeID: "c", Lease: lease, Restore: restorer("c"), Log: quiet})
	for _, n := range []*cluster.Cluster{a, b, c} {
		if err := n.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		defer n.Stop(ctx)
	}
	for i := range sessions {
		if err := a.SessionCreated(&chat.Info{ID: fmt.Sprint("d", i)}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := b.TakeOver(ctx); err != nil || n != 0 {
		t.Fatalf("b took %d sessions of a node that is not draining (%v)", n, err)
	}
	if handOver, err := a.Drain(ctx); err != nil || !handOver {
		t.Fatalf("Drain: %v, %v; want a hand-over", handOver, err)
	}
	if n, err := a.TakeOver(ctx); err != nil || n != 0 {
		t.Fatalf("the draining node took %d sessions (%v)", n, err)
	}
	if n, _ := a.StillOwned(ctx); n != sessions {
		t.Fatalf("a still owns %d, want %d before the others act", n, sessions)
	}
	wantB := 0
	for i := range sessions {
		if cluster.ShareOf(fmt.Sprint("d", i), []string{"b", "c"}) == "b" {
			wantB++
		}
	}
	if wantB == 0 || wantB == sessions {
		t.Fatalf("the partition gives b %d of %d sessions", wantB, sessions)
	}
	clkB.Advance(lease / 3) // b renews its lease, then takes its share
	var bShare int
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		bShare = len(restoredBy)
		mu.Unlock()
		owned, err := a.StillOwned(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bShare == wantB && owned == sessions-wantB && b.Owned() == wantB {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's renewal took %d sessions; a still owns %d", bShare, owned)
		}
		time.Sleep(10 * time.Millisecond)
	}
	n, err := c.TakeOver(ctx)
	if err != nil || n != sessions-bShare || n == 0 {
		t.Fatalf("c took %d (%v), want the other %d", n, err, sessions-bShare)
	}
	if owned, _ := a.StillOwned(ctx); owned != 0 {
		t.Fatalf("a still owns %d after the takeover", owned)
	}
	for i := range sessions {
		id := fmt.Sprint("d", i)
		o, err := st.GetOwner(ctx, id)
		if err != nil || o.Epoch != 2 || o.NodeID != restoredBy[id] {
			t.Errorf("%s: owner %+v (%v), restored by %q", id, o, err, restoredBy[id])
		}
	}
	t.Logf("b took %d, c took %d", bShare, n)
}

// TestStopWaitsForTheBackgroundTakeover stops node b while its renewal's
// background takeover is restoring a draining node's session: Stop cancels
// the restoration's context and returns only once the takeover has ended,
// so that nothing of the node uses the store after Stop (the server closes
// the store next). Before, Stop returned at once and the takeover went on
// (and logged) after the store was closed.
func TestStopWaitsForTheBackgroundTakeover(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	quiet := slog.New(slog.DiscardHandler)
	started := make(chan struct{}, 1)
	var finished atomic.Bool
	var afterCancel atomic.Value // the store's answer to the restoration's last read
	restore := func(rctx context.Context, id string) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-rctx.Done() // Stop cancels it; before the fix nothing did for 4 leases
		// A restoration's last step uses the store, as a real one would.
		_, err := st.GetOwner(context.Background(), id)
		afterCancel.Store(fmt.Sprint(err))
		finished.Store(true)
		return rctx.Err()
	}
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease, Log: quiet})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease, Restore: restore, Log: quiet})
	for _, n := range []*cluster.Cluster{a, b} {
		if err := n.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
	}
	defer a.Stop(ctx)
	if err := a.SessionCreated(&chat.Info{ID: "s1"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	clkB.Advance(lease / 3) // b renews, then takes s1 over in the background
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("b's renewal did not start taking s1 over")
	}
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Stop returned while the background takeover was still restoring a session")
	}
	if got := afterCancel.Load(); got != "<nil>" {
		t.Errorf("the restoration's store read after Stop's cancel: %v", got)
	}
	n, err := st.GetNode(ctx, "b")
	if err != nil || !n.Draining || n.LeaseUntil.After(clkB.Now()) {
		t.Errorf("b after Stop: %+v (%v), want its lease ended and draining", n, err)
	}
}

// TestDrainingNodeClaimsNothing: a request reaching draining node a for a
// session of b, whose lease has ended on a's clock (b paused, or slow to
// renew under load), is sent to c, the live node whose share it is, and
// not claimed by a, which would hand it on at once one epoch later (a
// path to the chats at epochs 3 and 4 of TestClusterDrainIntoTwo under
// load). c, asked in turn, claims it at epoch 2.
func TestDrainingNodeClaimsNothing(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	quiet := slog.New(slog.DiscardHandler)
	restored := func(context.Context, string) error { return nil }
	clkA, clkB, clkC := clock.NewFake(t0), clock.NewFake(t0), clock.NewFake(t0)
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease, Restore: restored, Log: quiet})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease, Restore: restored, Log: quiet})
	c := cluster.New(cluster.Options{Store: st, Clock: clkC, NodeID: "c", Lease: lease, Restore: restored, Log: quiet})
	for i, n := range []*cluster.Cluster{a, b, c} {
		if err := n.Start(ctx, map[string]string{"webapi": fmt.Sprintf("http://127.0.0.1:%d", i+1)}); err != nil {
			t.Fatal(err)
		}
		defer n.Stop(ctx)
	}
	if err := b.SessionCreated(&chat.Info{ID: "s1"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	clkC.Advance(lease + time.Second)     // c renews all along: live
	clkA.Set(t0.Add(lease + time.Second)) // b's lease has ended on a's clock
	r, err := a.Resolve(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Local || r.Node != "c" || r.URLs["webapi"] != "http://127.0.0.1:3" {
		t.Errorf("the draining node routes b's session to %+v, want c", r)
	}
	if o, err := st.GetOwner(ctx, "s1"); err != nil || o.NodeID != "b" || o.Epoch != 1 {
		t.Fatalf("owner after the draining node's routing: %+v (%v), want b at epoch 1", o, err)
	}
	r, err = c.Resolve(ctx, "s1")
	if err != nil || !r.Local || !r.Restored {
		t.Fatalf("c's routing of the session of dead b: %+v (%v), want claimed and restored", r, err)
	}
	if o, err := st.GetOwner(ctx, "s1"); err != nil || o.NodeID != "c" || o.Epoch != 2 {
		t.Errorf("owner: %+v (%v), want c at epoch 2", o, err)
	}
}

// slowNodeReads is the real store whose node reads take long: each moves
// the reader's fake clock on by delay while it runs (a read that waited
// for a pool connection or a CPU under load).
type slowNodeReads struct {
	*postgres.Store
	clk   *clock.Fake
	delay time.Duration
}

func (s slowNodeReads) GetNode(ctx context.Context, id string) (store.Node, error) {
	s.clk.Advance(s.delay)
	return s.Store.GetNode(ctx, id)
}

// TestSlowReadKeepsALiveOwner: node a reads the registry row of b, whose
// lease runs for another second when the read starts; the read takes two
// seconds on a's clock. a judges the lease by the time the read began, so
// b is live and a forwards to it; judged by the time after the read, b
// looked dead and a claimed its session.
func TestSlowReadKeepsALiveOwner(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	quiet := slog.New(slog.DiscardHandler)
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	a := cluster.New(cluster.Options{Store: slowNodeReads{st, clkA, 2 * time.Second}, Clock: clkA, NodeID: "a", Lease: lease,
		Restore: func(context.Context, string) error { return nil }, Log: quiet})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease, Log: quiet})
	for i, n := range []*cluster.Cluster{a, b} {
		if err := n.Start(ctx, map[string]string{"webapi": fmt.Sprintf("http://127.0.0.1:%d", i+1)}); err != nil {
			t.Fatal(err)
		}
		defer n.Stop(ctx)
	}
	if err := b.SessionCreated(&chat.Info{ID: "s1"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	clkA.Set(t0.Add(lease - time.Second)) // b's lease (t0+9s) runs for 1 s more
	r, err := a.Resolve(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Local || r.Node != "b" {
		t.Errorf("a routes b's session to %+v after a slow read of b's lease, want b", r)
	}
	if o, err := st.GetOwner(ctx, "s1"); err != nil || o.NodeID != "b" || o.Epoch != 1 {
		t.Errorf("owner: %+v (%v), want b at epoch 1", o, err)
	}
}
