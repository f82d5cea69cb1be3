package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/confab/confab/internal/store"
)

// testCloseDropsEvents checks that closing an interaction deletes its
// session's intermediate events in the same write, and leaves other
// sessions' events alone; closing an unknown interaction deletes nothing.
func testCloseDropsEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, id := range []string{"live-1", "live-2"} {
		must(t, "CreateInteraction", s.CreateInteraction(ctx, store.Interaction{ID: id, SessionID: id, CreatedAt: at(0)}))
		for pos := range 3 {
			must(t, "AppendEvent", appendWait(t, s, store.EventRow{SessionID: id, Position: int64(pos), EventID: int64(pos + 1),
				Time: at(pos), Data: raw(fmt.Sprintf(`{"pos":%d}`, pos))}))
		}
	}
	must(t, "AppendEvent orphan", appendWait(t, s, store.EventRow{SessionID: "orphan", Position: 0, EventID: 1, Time: at(0), Data: raw(`{}`)}))

	must(t, "CloseInteraction", s.CloseInteraction(ctx, "live-1", at(9), store.Bytes(raw(`{"events":[]}`)), raw(`{}`), raw(`{"IsOnline":"0"}`)))
	for _, tc := range []struct {
		id   string
		want int
	}{{"live-1", 0}, {"live-2", 3}, {"orphan", 1}} {
		evs, err := s.LoadEvents(ctx, tc.id)
		must(t, "LoadEvents "+tc.id, err)
		if len(evs) != tc.want {
			t.Errorf("after closing live-1, %s has %d events, want %d", tc.id, len(evs), tc.want)
		}
	}
	wantErr(t, "CloseInteraction orphan", s.CloseInteraction(ctx, "orphan", at(9), store.Bytes(raw(`{}`)), raw(`{}`), nil), store.ErrNotFound)
	if evs, err := s.LoadEvents(ctx, "orphan"); err != nil || len(evs) != 1 {
		t.Errorf("a failed close deleted events: %d, %v", len(evs), err)
	}
	in, err := s.GetInteraction(ctx, "live-1")
	must(t, "GetInteraction", err)
	if in.Status != store.StatusClosed || string(in.UserData) != `{"IsOnline":"0"}` {
		t.Errorf("closed record: status %s, user data %s", in.Status, in.UserData)
	}
}
