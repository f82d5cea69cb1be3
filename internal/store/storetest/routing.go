package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/confab/confab/internal/store"
)

// testRoutingUpdates checks UpdateRouting: state and user data set without
// a version, the version bumped (an old one conflicts), unknown ids
// refused alone, and many updates queued at once ending with the last.
func testRoutingUpdates(t *testing.T, s store.Store) {
	rw, ok := s.(store.RoutingWriter)
	if !ok {
		t.Skip("the store has no UpdateRouting")
	}
	ctx := context.Background()
	must(t, "create", s.CreateInteraction(ctx, store.Interaction{ID: "route-1", SessionID: "route-1", Queue: "q",
		Subject: "s", UserData: raw(`{"a":"1"}`), State: "queued", CreatedAt: at(1)}))
	must(t, "UpdateRouting", rw.UpdateRouting(ctx, store.RoutingUpdate{ID: "route-1", State: "assigned",
		UserData: raw(`{"a":"2","IsOnline":"1"}`)}).Wait(ctx))
	got, err := s.GetInteraction(ctx, "route-1")
	must(t, "get", err)
	if got.State != "assigned" || !sameJSON(got.UserData, raw(`{"a":"2","IsOnline":"1"}`)) || got.Version != 2 ||
		got.Queue != "q" || got.Subject != "s" || got.Status != store.StatusOpen || !got.CreatedAt.Equal(at(1)) {
		t.Fatalf("after UpdateRouting: %+v", got)
	}
	stale := got
	stale.Version = 1
	_, err = s.UpdateInteraction(ctx, stale)
	wantErr(t, "UpdateInteraction with the version before UpdateRouting", err, store.ErrConflict)

	wantErr(t, "unknown interaction", rw.UpdateRouting(ctx, store.RoutingUpdate{ID: "nobody", State: "x"}).Wait(ctx), store.ErrNotFound)
	wantErr(t, "empty id", rw.UpdateRouting(ctx, store.RoutingUpdate{State: "x"}).Wait(ctx), store.ErrInvalid)
	wantErr(t, "bad JSON", rw.UpdateRouting(ctx, store.RoutingUpdate{ID: "route-1", UserData: raw(`{`)}).Wait(ctx), store.ErrInvalid)

	// Many at once, with an unknown id among them: every known one
	// succeeds, the record ends with the last, the unknown fails alone.
	const n = 50
	var tks []store.Ticket
	for i := range n {
		tks = append(tks, rw.UpdateRouting(ctx, store.RoutingUpdate{ID: "route-1", State: fmt.Sprint("s", i),
			UserData: raw(fmt.Sprintf(`{"i":%d}`, i))}))
		if i == n/2 {
			tks = append(tks, rw.UpdateRouting(ctx, store.RoutingUpdate{ID: "ghost", State: "x"}))
		}
	}
	for i, tk := range tks {
		err := tk.Wait(ctx)
		if i == n/2+1 {
			wantErr(t, "unknown interaction among others", err, store.ErrNotFound)
			continue
		}
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	got, err = s.GetInteraction(ctx, "route-1")
	must(t, "get", err)
	var ud struct{ I int }
	if err := json.Unmarshal(got.UserData, &ud); err != nil || ud.I != n-1 || got.State != fmt.Sprint("s", n-1) {
		t.Fatalf("after %d queued updates: state %q, user data %s", n, got.State, got.UserData)
	}
	if got.Version < 3 || got.Version > 2+n {
		t.Fatalf("version %d after %d more updates (from 2)", got.Version, n)
	}
	// A closed record takes routing's last word too.
	must(t, "close", s.CloseInteraction(ctx, "route-1", at(9), store.Bytes(raw(`[]`)), raw(`{}`), nil))
	must(t, "UpdateRouting after close", rw.UpdateRouting(ctx, store.RoutingUpdate{ID: "route-1", State: "completed",
		UserData: raw(`{"IsOnline":"0"}`)}).Wait(ctx))
	got, err = s.GetInteraction(ctx, "route-1")
	must(t, "get", err)
	if got.Status != store.StatusClosed || got.State != "completed" || !sameJSON(got.Transcript, raw(`[]`)) {
		t.Fatalf("closed record after UpdateRouting: %+v", got)
	}
}
