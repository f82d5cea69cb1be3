package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/confab/confab/internal/store"
)

// TestEventColdMoveWritesFewPages keeps 100 sessions open past the log's
// span, appending one event of 150 bytes to each per batch (a throughput
// run's shape): once the oldest rows move to event_cold, the pages a batch
// writes grow by a small fraction of a page per moved row, not by about one
// (as a (sid, position) B-tree of whole rows, fed a few rows of every
// session a batch, cost).
func TestEventColdMoveWritesFewPages(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, freshDir(t), Options{EventLogSpan: 4000, Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	var names []string
	for i := range 100 {
		names = append(names, fmt.Sprint("open-", i))
	}
	data := string(bytes.Repeat([]byte("x"), 150))
	round := func(p int64) {
		release := hold(t, s)
		var tks []store.Ticket
		for _, name := range names {
			tks = append(tks, s.AppendEvent(ctx, ev(name, p, data)))
		}
		release()
		for _, tk := range tks {
			if err := tk.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Pages a batch writes without moves, then with them.
	var p int64
	for ; p < 10; p++ {
		round(p)
	}
	pages0 := s.w.pages.Load()
	for ; p < 35; p++ {
		round(p)
	}
	before := float64(s.w.pages.Load()-pages0) / 25
	for ; p < 60; p++ { // the log reaches its span
		round(p)
	}
	pages1, moved1 := s.w.pages.Load(), moved(t, s)
	for ; p < 160; p++ {
		round(p)
	}
	n := moved(t, s) - moved1
	after := float64(s.w.pages.Load()-pages1) / 100
	perRow := (after - before) * 100 / float64(n)
	t.Logf("pages per batch of 100 events: %.1f without moves, %.1f with %d rows moved: %.3f pages of %d bytes per moved row",
		before, after, n, perRow, s.pageSize)
	if n < 5000 {
		t.Fatalf("%d rows moved in 100 batches of 100 events past the span", n)
	}
	if perRow > 0.06 {
		t.Fatalf("a moved row costs %.3f pages", perRow)
	}
	for _, name := range names[:3] {
		wantEvents2(t, s, name, p, data)
	}
}

// wantEvents2 checks that a session holds n events of the same data.
func wantEvents2(t *testing.T, s *Store, session string, n int64, data string) {
	t.Helper()
	evs, err := s.LoadEvents(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(evs)) != n {
		t.Fatalf("%s: %d events, want %d", session, len(evs), n)
	}
	for i, e := range evs {
		if e.Position != int64(i) || string(e.Data) != data {
			t.Fatalf("%s: event %d is %d %q", session, i, e.Position, e.Data)
		}
	}
}

// TestMigrateEventColdToAppend builds a database of schema version 7
// (event_cold keyed (sid, position)) holding an open session's cold rows
// and log rows, a closed session's cold rows still to purge and a session
// without events, and checks that migration 8 and the open keep exactly
// what version 7 would read: the open session complete and in order, its
// replays and conflicts as before, the closed session's rows purged.
func TestMigrateEventColdToAppend(t *testing.T) {
	dir := t.TempDir()
	db, upTo, mustExec := migratedBefore(t, dir, "", "_event_cold_append")
	a, b := body("a"), body("b")
	cold := func(sid, pos int64, data string) {
		e := ev("x", pos, data)
		mustExec("INSERT INTO event_cold (sid, position, event_id, at, data) VALUES (?, ?, ?, ?, ?)",
			sid, pos, e.EventID, micros(e.Time), []byte(e.Data))
	}
	// a (sid 1): positions 0..5 cold, inserted out of order, 6 and 7 in the
	// log from its tail_from 50 on; b (sid 2) closed, 0..3 cold, queued for
	// the purge.
	for _, p := range []int64{3, 0, 5, 1, 4, 2} {
		cold(1, p, a(p))
	}
	for p := range int64(4) {
		cold(2, p, b(p))
	}
	oldLayoutRest(mustExec, a, 6, 7)
	db.Close()

	ctx := context.Background()
	s, err := Open(ctx, dir, Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatalf("open the database of version %d: %v", upTo, err)
	}
	defer s.Close(ctx)
	if n := countRows(t, s, "SELECT count(*) FROM sqlite_schema WHERE name = 'event_cold_place' AND type = 'index'"); n != 1 {
		t.Fatal("no index on event_cold (sid, position)")
	}
	if n := countRows(t, s, "SELECT count(*) FROM pragma_table_info('event_cold') WHERE name = 'id' AND pk = 1"); n != 1 {
		t.Fatal("event_cold is not keyed by its id")
	}
	wantEvents(t, s, "a", 8, a)
	wantEvents(t, s, "b", 0, nil)
	wantEvents(t, s, "empty", 0, nil)
	if n := countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold WHERE sid = 2"); n != 0 {
		t.Fatalf("%d rows of the closed session left", n)
	}
	wantMigratedReplays(t, s, "a", a, 0, 5, 7)
	// The migrated session goes on past the span: its new rows move too.
	appendN(t, s, "a", 8, 1400)
	appendN(t, s, "empty", 0, 3)
	wantEvents(t, s, "a", 1400, a)
	wantEvents(t, s, "empty", 3, body("empty"))
	if m := moved(t, s); m == 0 {
		t.Fatal("nothing moved past the span")
	}
	if n := countRows(t, s, "SELECT count(*) FROM event_log") + countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold"); n != 1403 {
		t.Fatalf("%d rows stored, want 1403: each event once", n)
	}
}
