package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// TestRouteShare: routes are listed for the other live nodes only, oldest
// first; a newer write keeps the earlier Since; a node deletes only its
// own route; and a reservation is exclusive until released or expired,
// also when many nodes try at once.
func TestRouteShare(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, n := range []store.Node{
		{ID: "a", LeaseUntil: now.Add(time.Minute)}, {ID: "b", LeaseUntil: now.Add(time.Minute)},
		{ID: "dead", LeaseUntil: now.Add(-time.Second)}, {ID: "drain", LeaseUntil: now.Add(time.Minute), Draining: true},
	} {
		if err := s.PutNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	route := func(id, queue string, sec int) store.SharedRoute {
		return store.SharedRoute{ID: id, Queue: queue, Since: now.Add(time.Duration(sec) * time.Second), Interaction: []byte(`{"id":"` + id + `"}`)}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutRoutes(ctx, "a", []store.SharedRoute{route("a2", "q", 2), route("a1", "q", 1)}, nil))
	must(s.PutRoutes(ctx, "b", []store.SharedRoute{route("b1", "q", 0)}, nil))
	must(s.PutRoutes(ctx, "dead", []store.SharedRoute{route("d1", "q", -5)}, nil))
	must(s.PutRoutes(ctx, "drain", []store.SharedRoute{route("r1", "q", -5)}, nil))
	ids := func(except string) []string {
		t.Helper()
		list, err := s.ListRoutes(ctx, except, now)
		must(err)
		var out []string
		for _, r := range list {
			out = append(out, r.Node+":"+r.ID)
		}
		return out
	}
	if got := ids("b"); len(got) != 2 || got[0] != "a:a1" || got[1] != "a:a2" {
		t.Fatalf("routes for b: %v, want a:a1 a:a2 (no dead or draining node's)", got)
	}
	if got := ids("a"); len(got) != 1 || got[0] != "b:b1" {
		t.Fatalf("routes for a: %v, want b:b1", got)
	}
	// b restores a1 (a newer write by another node): the route is b's now,
	// with a1's earlier Since; a deleting its old a1 leaves b's alone.
	must(s.PutRoutes(ctx, "b", []store.SharedRoute{route("a1", "q", 9)}, nil))
	must(s.PutRoutes(ctx, "a", nil, []string{"a1", "a2"}))
	list, err := s.ListRoutes(ctx, "x", now)
	must(err)
	if len(list) != 2 || list[0].ID != "b1" || list[1].ID != "a1" || list[1].Node != "b" || !list[1].Since.Equal(now.Add(time.Second)) {
		t.Fatalf("after b's restore and a's delete: %+v", list)
	}

	// Reservations.
	ok, err := s.ReserveRoute(ctx, "b1", "a", now, now.Add(10*time.Second))
	must(err)
	if !ok {
		t.Fatal("a's first reservation refused")
	}
	if ok, _ := s.ReserveRoute(ctx, "b1", "b", now.Add(5*time.Second), now.Add(15*time.Second)); ok {
		t.Fatal("b reserved b1 while a holds it")
	}
	must(s.ReleaseRoute(ctx, "b1", "b")) // not b's: a keeps it
	if ok, _ := s.ReserveRoute(ctx, "b1", "b", now.Add(5*time.Second), now.Add(15*time.Second)); ok {
		t.Fatal("b's release of a's reservation took effect")
	}
	if ok, _ := s.ReserveRoute(ctx, "b1", "b", now.Add(10*time.Second), now.Add(20*time.Second)); !ok {
		t.Fatal("b could not reserve b1 once a's reservation expired")
	}
	must(s.ReleaseRoute(ctx, "b1", "b"))
	if ok, _ := s.ReserveRoute(ctx, "b1", "a", now, now.Add(time.Second)); !ok {
		t.Fatal("a could not reserve b1 after b released it")
	}
	must(s.ReleaseRoute(ctx, "b1", "a"))

	// Many nodes at once: exactly one holds it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ReserveRoute(ctx, "race", string(rune('a'+i)), now, now.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d nodes hold the reservation, want 1", won)
	}
	must(s.ClearRoutes(ctx, "b"))
	if got := ids("x"); len(got) != 0 {
		t.Fatalf("after b cleared its routes: %v", got)
	}
}
