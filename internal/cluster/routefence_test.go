package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// TestRoutingUpdatesAreFenced runs node a's engine and router on one
// PostgreSQL store with node b. a creates a session (owner row at epoch
// 1) and routing writes its interaction with epoch 1. b's clock passes a's
// lease and b claims the session (epoch 2) and writes the record as its
// owner. a, paused meanwhile, wakes up and an agent joins its stale copy:
// its routing update carries epoch 1 and the store refuses it, so b's
// record stays as b wrote it and a is told it lost the session. An update
// with an epoch and one without are checked against the store directly too.
func TestRoutingUpdatesAreFenced(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const lease = 9 * time.Second
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease})
	if err := a.Start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	if err := b.Start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)

	fenced := make(chan string, 4)
	var js chat.Journals
	e := chat.New(chat.Options{Clock: clock.Real(), Journal: &js})
	router := routing.New(routing.Options{Engine: e, Store: st, Clock: clock.Real(), Epoch: a.Epoch,
		Fenced: func(id string) { fenced <- id }})
	js = chat.Journals{a, router}

	const id = "fence-1"
	if err := st.CreateInteraction(ctx, store.Interaction{ID: id, SessionID: id, Queue: "q", Status: store.StatusOpen, State: "queued"}); err != nil {
		t.Fatal(err)
	}
	s, _, rc, err := e.Create(chat.CreateRequest{ID: id, Queue: "q", Creator: chat.JoinRequest{Nick: "c", Type: chat.Client, Protocol: chat.Flex}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	first := waitRecord(t, st, id, func(in store.Interaction) bool { return in.Version >= 2 })
	if a.Epoch(id) != 1 || first.State != string(routing.Queued) {
		t.Fatalf("a holds epoch %d, record state %q; want 1, queued", a.Epoch(id), first.State)
	}

	// b takes the session over and writes the record as its owner.
	clkB.Advance(lease + time.Second)
	if r, err := b.Resolve(ctx, id); err != nil || !r.Local || b.Epoch(id) != 2 {
		t.Fatalf("b's claim: %+v, %v, epoch %d", r, err, b.Epoch(id))
	}
	rec, _ := st.GetInteraction(ctx, id)
	rec.State, rec.UserData, rec.Epoch = "b-owns-it", []byte(`{"owner":"b"}`), b.Epoch(id)
	if _, err := st.UpdateInteraction(ctx, rec); err != nil {
		t.Fatalf("the new owner's update: %v", err)
	}

	// a's stale copy changes: an agent joins.
	if _, _, err := s.Join(chat.JoinRequest{Nick: "ag", Type: chat.Agent, Protocol: chat.Basic, PersonID: "ag"}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-fenced:
		if got != id {
			t.Fatalf("fenced %s, want %s", got, id)
		}
	case <-ctx.Done():
		t.Fatal("a's stale routing update was not refused")
	}
	after, err := st.GetInteraction(ctx, id)
	if err != nil || after.State != "b-owns-it" || string(after.UserData) != `{"owner":"b"}` {
		t.Fatalf("record after a's stale update: state %q, data %s, %v; want b's", after.State, after.UserData, err)
	}

	// The store's rule, directly: stale refused, current and unfenced pass.
	stale := after
	stale.Epoch = 1
	if _, err := st.UpdateInteraction(ctx, stale); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale epoch: %v, want ErrFenced", err)
	}
	cur := after
	cur.Epoch = 2
	if _, err := st.UpdateInteraction(ctx, cur); err != nil {
		t.Fatalf("current epoch: %v", err)
	}
	plain, _ := st.GetInteraction(ctx, id)
	if plain.Epoch != 0 {
		t.Fatalf("a read returns epoch %d; the epoch is not stored", plain.Epoch)
	}
	if _, err := st.UpdateInteraction(ctx, plain); err != nil {
		t.Fatalf("unfenced update: %v", err)
	}
	router.Flush(ctx)
}

func waitRecord(t *testing.T, st store.Interactions, id string, ok func(store.Interaction) bool) store.Interaction {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, err := st.GetInteraction(context.Background(), id)
		if err == nil && ok(in) {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s: %+v, %v", id, in, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
