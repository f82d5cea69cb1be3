package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/confab/confab/internal/store"
)

func event(session string, pos int64) store.EventRow {
	return store.EventRow{
		SessionID: session, Position: pos, EventID: pos + 1, Time: at(int(pos)),
		Data: raw(fmt.Sprintf(`{"session":%q,"pos":%d}`, session, pos)),
	}
}

func equalEvent(a, b store.EventRow) bool {
	return a.SessionID == b.SessionID && a.Position == b.Position && a.EventID == b.EventID &&
		a.Time.Equal(b.Time) && sameJSON(a.Data, b.Data)
}

// checkEvents loads a session's events and compares them with want.
func checkEvents(t *testing.T, s store.Store, session string, want ...store.EventRow) {
	t.Helper()
	got, err := s.LoadEvents(context.Background(), session)
	must(t, "LoadEvents "+session, err)
	if len(got) != len(want) {
		t.Fatalf("LoadEvents %s: got %d events, want %d: %+v", session, len(got), len(want), got)
	}
	for i := range got {
		if !equalEvent(got[i], want[i]) {
			t.Fatalf("LoadEvents %s [%d]:\n got %+v\nwant %+v", session, i, got[i], want[i])
		}
	}
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Interleaved sessions, positions appended out of order.
	for _, e := range []store.EventRow{event("A", 0), event("B", 0), event("A", 2), event("A", 1), event("B", 1)} {
		must(t, fmt.Sprintf("AppendEvent %s/%d", e.SessionID, e.Position), appendWait(t, s, e))
	}
	checkEvents(t, s, "A", event("A", 0), event("A", 1), event("A", 2))
	checkEvents(t, s, "B", event("B", 0), event("B", 1))
	checkEvents(t, s, "unknown")

	// An empty document is data too.
	empty := store.EventRow{SessionID: "C", Position: 0, Time: at(0), Data: raw("")}
	must(t, "AppendEvent empty data", appendWait(t, s, empty))
	got, err := s.LoadEvents(ctx, "C")
	must(t, "LoadEvents C", err)
	if len(got) != 1 || len(got[0].Data) != 0 {
		t.Fatalf("LoadEvents C: %+v", got)
	}
}

func testEventReplay(t *testing.T, s store.Store) {
	e0, e1 := event("A", 0), event("A", 1)
	must(t, "AppendEvent", appendWait(t, s, e0))
	must(t, "AppendEvent", appendWait(t, s, e1))
	// An identical replay (a retry) succeeds and changes nothing.
	must(t, "AppendEvent replay", appendWait(t, s, e0))
	must(t, "AppendEvent replay", appendWait(t, s, event("A", 1)))
	checkEvents(t, s, "A", e0, e1)

	// A different event at an occupied position conflicts.
	for _, change := range []func(*store.EventRow){
		func(e *store.EventRow) { e.Data = raw(`{"other":true}`) },
		func(e *store.EventRow) { e.EventID++ },
		func(e *store.EventRow) { e.Time = e.Time.Add(1000) },
	} {
		e := event("A", 0)
		change(&e)
		wantErr(t, "AppendEvent different", appendWait(t, s, e), store.ErrConflict)
	}
	checkEvents(t, s, "A", e0, e1)

	// The session goes on after a conflict.
	must(t, "AppendEvent after conflict", appendWait(t, s, event("A", 2)))
	checkEvents(t, s, "A", e0, e1, event("A", 2))
}

func testEventsInvalid(t *testing.T, s store.Store) {
	for _, e := range []store.EventRow{
		{SessionID: "", Position: 0, Data: raw(`{}`)},
		{SessionID: "A", Position: -1, Data: raw(`{}`)},
		{SessionID: "A", Position: 0, Data: nil},
	} {
		wantErr(t, fmt.Sprintf("AppendEvent %+v", e), appendWait(t, s, e), store.ErrInvalid)
	}
	checkEvents(t, s, "A")
	must(t, "AppendEvent valid", appendWait(t, s, event("A", 0)))
	checkEvents(t, s, "A", event("A", 0))
}

func testDeleteEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range int64(3) {
		must(t, "AppendEvent", appendWait(t, s, event("A", i)))
		must(t, "AppendEvent", appendWait(t, s, event("B", i)))
	}
	must(t, "DeleteEvents A", s.DeleteEvents(ctx, "A"))
	checkEvents(t, s, "A")
	checkEvents(t, s, "B", event("B", 0), event("B", 1), event("B", 2))
	must(t, "DeleteEvents again", s.DeleteEvents(ctx, "A"))
	must(t, "DeleteEvents unknown", s.DeleteEvents(ctx, "unknown"))

	// A deleted session can be written again (a restore that starts over).
	must(t, "AppendEvent after delete", appendWait(t, s, event("A", 0)))
	checkEvents(t, s, "A", event("A", 0))

	// Deleting right after appending, without waiting: the queue is
	// ordered, so the delete sees the events.
	for i := range int64(50) {
		s.AppendEvent(ctx, event("D", i))
	}
	must(t, "DeleteEvents D", s.DeleteEvents(ctx, "D"))
	checkEvents(t, s, "D")
}

// testEventOrdering checks the group-commit guarantee: once a write is
// durable, so is every write queued before it.
func testEventOrdering(t *testing.T, s store.Store) {
	ctx := context.Background()
	const sessions, perSession = 10, 100
	var last store.Ticket
	for i := range int64(perSession) {
		for j := range sessions {
			last = s.AppendEvent(ctx, event(fmt.Sprint("S", j), i))
		}
	}
	must(t, "last AppendEvent", last.Wait(ctx))
	for j := range sessions {
		got, err := s.LoadEvents(ctx, fmt.Sprint("S", j))
		must(t, "LoadEvents", err)
		if len(got) != perSession {
			t.Fatalf("session S%d: %d events durable after the last one, want %d", j, len(got), perSession)
		}
	}

	// A synchronous write is ordered after the events queued before it.
	for i := range int64(20) {
		s.AppendEvent(ctx, event("T", i))
	}
	must(t, "PutSetting", s.PutSetting(ctx, "k", "v"))
	got, err := s.LoadEvents(ctx, "T")
	must(t, "LoadEvents T", err)
	if len(got) != 20 {
		t.Fatalf("session T: %d events durable after a later synchronous write, want 20", len(got))
	}
}

// testEventsConcurrent has 64 goroutines append to distinct and shared
// sessions, each waiting for every event; afterwards every acknowledged
// event is stored exactly once.
func testEventsConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const (
		goroutines = 64
		shared     = 4 // the odd goroutines share these sessions
		perG       = 100
	)
	var next [shared]atomic.Int64 // next position of each shared session
	type key struct {
		session string
		pos     int64
	}
	var mu sync.Mutex
	acked := make(map[key]store.EventRow)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range int64(perG) {
				var e store.EventRow
				if g%2 == 0 {
					e = event(fmt.Sprint("own-", g), i)
				} else {
					sh := g % shared
					e = event(fmt.Sprint("shared-", sh), next[sh].Add(1)-1)
					e.Data = raw(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))
				}
				if err := s.AppendEvent(ctx, e).Wait(ctx); err != nil {
					t.Errorf("AppendEvent %s/%d: %v", e.SessionID, e.Position, err)
					return
				}
				mu.Lock()
				if _, dup := acked[key{e.SessionID, e.Position}]; dup {
					t.Errorf("position %s/%d acknowledged twice", e.SessionID, e.Position)
				}
				acked[key{e.SessionID, e.Position}] = e
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(acked) != goroutines*perG {
		t.Fatalf("%d events acknowledged, want %d", len(acked), goroutines*perG)
	}
	sessions := make(map[string]bool)
	for k := range acked {
		sessions[k.session] = true
	}
	stored := 0
	for session := range sessions {
		got, err := s.LoadEvents(ctx, session)
		must(t, "LoadEvents "+session, err)
		for i, e := range got {
			if i > 0 && got[i-1].Position >= e.Position {
				t.Fatalf("session %s: positions out of order or repeated: %d then %d", session, got[i-1].Position, e.Position)
			}
			want, ok := acked[key{session, e.Position}]
			if !ok {
				t.Fatalf("session %s position %d stored but never acknowledged", session, e.Position)
			}
			if !equalEvent(e, want) {
				t.Fatalf("session %s position %d:\n got %+v\nwant %+v", session, e.Position, e, want)
			}
		}
		stored += len(got)
	}
	if stored != len(acked) {
		t.Fatalf("%d events stored, %d acknowledged", stored, len(acked))
	}
}
