package cluster_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
)

// TestLiveNodeDropsClaimedSession is the second half of lead finding 7:
// node a is alive but its lease ended on b's clock (under load a renewal
// came late), b claims a's session s1 at epoch 2, and a writes nothing
// more to s1 (the chat's parties now reach b). a used to learn of the claim
// only from a fenced write of its own, so it kept s1 — and the customer's
// push socket on it, silent while the chat went on at b: the messages
// acknowledged at b never reached that customer. Now a's next renewal sees
// that a claim took one of its sessions, and a drops s1 (its push sockets
// are closed with "moved", so the client subscribes again where the chat
// lives) and keeps s2, which is still its own.
func TestLiveNodeDropsClaimedSession(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	var mu sync.Mutex // guards dropped
	var dropped []string
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease,
		Drop: func(id string) { mu.Lock(); dropped = append(dropped, id); mu.Unlock() }})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease,
		Restore: func(context.Context, string) error { return nil }})
	if err := a.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	if err := b.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	for _, id := range []string{"s1", "s2"} {
		if err := a.SessionCreated(&chat.Info{ID: id}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	drops := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(dropped)
	}
	clkA.Advance(lease / 3) // a renews on time
	if d := drops(); len(d) != 0 {
		t.Fatalf("a dropped %v while it owned everything", d)
	}
	clkB.Advance(2 * lease) // a's lease ended on b's clock
	r, err := b.Resolve(ctx, "s1")
	if err != nil || !r.Restored || b.Epoch("s1") != 2 {
		t.Fatalf("b's claim of s1: %+v, %v, epoch %d; want restored at 2", r, err, b.Epoch("s1"))
	}
	clkA.Advance(lease / 3) // a's next renewal; a wrote nothing to s1
	if d := drops(); !slices.Equal(d, []string{"s1"}) {
		t.Fatalf("after b claimed s1, a's renewal dropped %v; want [s1]", d)
	}
	if a.Owned() != 1 || a.Epoch("s2") != 1 || a.Epoch("s1") != 1 {
		t.Fatalf("a owns %d sessions, s2 at epoch %d, s1's stale epoch %d; want 1, 1, 1", a.Owned(), a.Epoch("s2"), a.Epoch("s1"))
	}
	clkA.Advance(lease / 3) // no new claim: nothing more is dropped
	if d := drops(); len(d) != 1 {
		t.Fatalf("a dropped %v; want s1 once", d)
	}
}
