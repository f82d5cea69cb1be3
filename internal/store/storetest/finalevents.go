package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/confab/confab/internal/store"
)

// testCloseComposesFinal checks a close whose transcript describes itself
// as parts of the stored events (store.FinalEvents): with every referenced
// event stored, the record's transcript is the head, the parts (stored
// bytes with the timeShift put before the userId, or literals) joined
// with commas, and "]}", and the events are dropped; with one missing, or
// stored under another event id, it is what the JSONWriter's Write gives;
// an unknown interaction is not found.
func testCloseComposesFinal(t *testing.T, s store.Store) {
	ctx := context.Background()
	ev := func(pos int) string {
		return fmt.Sprintf(`{"pos":%d,"eventId":%d,"kind":"message","utcTime":1,"userId":"U\"1","text":"a,\"userId\":b"}`, pos, pos+1)
	}
	for _, id := range []string{"cf-all", "cf-gap", "cf-eid"} {
		must(t, "CreateInteraction", s.CreateInteraction(ctx, store.Interaction{ID: id, SessionID: id, CreatedAt: at(0)}))
		for pos := range 4 {
			if id == "cf-gap" && pos == 2 {
				continue
			}
			must(t, "AppendEvent", appendWait(t, s, store.EventRow{SessionID: id, Position: int64(pos), EventID: int64(pos + 1),
				Time: at(pos), Data: raw(ev(pos))}))
		}
	}
	fe := func(eid2 int64) *store.FinalEvents {
		return &store.FinalEvents{Head: []byte(`{"sessionId":"x","events":[`), Events: []store.FinalEvent{
			{Pos: -1, Literal: []byte(`{"lit":0}`)},
			{Pos: 1, EventID: 2},
			{Pos: 2, EventID: eid2, Shift: -7},
			{Pos: 3, EventID: 4, Shift: 12345},
		}}
	}
	fallback := raw(`{"fallback":true}`)
	want := `{"sessionId":"x","events":[{"lit":0},` + ev(1) + `,` +
		`{"pos":2,"eventId":3,"kind":"message","utcTime":1,"timeShift":-7,"userId":"U\"1","text":"a,\"userId\":b"},` +
		`{"pos":3,"eventId":4,"kind":"message","utcTime":1,"timeShift":12345,"userId":"U\"1","text":"a,\"userId\":b"}]}`
	for _, tc := range []struct {
		id   string
		eid2 int64
		want string
	}{{"cf-all", 3, want}, {"cf-gap", 3, string(fallback)}, {"cf-eid", 9, string(fallback)}} {
		tr := store.Bytes(fallback)
		tr.Events = fe(tc.eid2)
		must(t, "CloseInteraction "+tc.id, s.CloseInteraction(ctx, tc.id, at(9), tr, raw(`{"n":1}`), raw(`{"IsOnline":"0"}`)))
		in, err := s.GetInteraction(ctx, tc.id)
		must(t, "GetInteraction "+tc.id, err)
		if string(in.Transcript) != tc.want || in.Status != store.StatusClosed || string(in.Stats) != `{"n":1}` ||
			string(in.UserData) != `{"IsOnline":"0"}` {
			t.Errorf("%s: status %s, stats %s, user data %s, transcript\n got %s\nwant %s", tc.id, in.Status, in.Stats, in.UserData, in.Transcript, tc.want)
		}
		if evs, err := s.LoadEvents(ctx, tc.id); err != nil || len(evs) != 0 {
			t.Errorf("%s: %d events after the close, %v", tc.id, len(evs), err)
		}
	}
	tr := store.Bytes(fallback)
	tr.Events = fe(3)
	wantErr(t, "CloseInteraction unknown", s.CloseInteraction(ctx, "cf-none", at(9), tr, raw(`{}`), nil), store.ErrNotFound)
}
