package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/confab/confab/internal/store"
)

// packsOf decodes every pack of event_cold and checks each against its
// row: n events, lo and hi their lowest and highest position, in position
// order. It returns the number of packs and of events in them.
func packsOf(t *testing.T, s *Store) (packs, events int64) {
	t.Helper()
	rows, err := s.rdb.QueryContext(context.Background(), "SELECT sid, lo, hi, n, data FROM event_cold ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid, lo, hi, n int64
		var b []byte
		if err := rows.Scan(&sid, &lo, &hi, &n, &b); err != nil {
			t.Fatal(err)
		}
		var pos []int64
		if err := decodePack(b, func(e packedEvent) error { pos = append(pos, e.pos); return nil }); err != nil {
			t.Fatalf("pack %d of sid %d: %v", packs, sid, err)
		}
		if int64(len(pos)) != n || !slices.IsSorted(pos) || pos[0] != lo || pos[len(pos)-1] != hi {
			t.Fatalf("pack of sid %d says n %d lo %d hi %d, holds positions %v", sid, n, lo, hi, pos)
		}
		packs, events = packs+1, events+n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return packs, events
}

// TestEventColdPacksOneRowPerSession keeps 30 sessions open past a small
// span: every move writes one event_cold row per session whose rows it
// takes, not one per event, and every pack decodes to what its row says.
func TestEventColdPacksOneRowPerSession(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, freshDir(t), Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	var names []string
	for i := range 30 {
		names = append(names, fmt.Sprint("open-", i))
	}
	const perBatch, rounds = 20, 30
	for r := range int64(rounds) {
		batchOf(t, s, names, r*perBatch, (r+1)*perBatch)
	}
	packs, events := packsOf(t, s)
	m := moved(t, s)
	t.Logf("%d events moved in %d packs (%.1f events a pack)", m, packs, float64(m)/float64(max(packs, 1)))
	if m == 0 || events != m {
		t.Fatalf("%d events moved, %d in the packs", m, events)
	}
	// A move takes at least relocMin rows, of all 30 sessions: about
	// relocMin/30 events a pack; one row per event would be 1.
	if packs*5 > m {
		t.Fatalf("%d packs for %d moved events: not one pack per session and move", packs, m)
	}
	for _, name := range names {
		wantEvents(t, s, name, rounds*perBatch, body(name))
	}
}

// TestEventColdPackGaps fills a session's gaps late: one move takes its
// rows out of position order (a pack sorted when built) and a later move a
// pack whose lowest position is below an earlier pack's highest. Loads,
// replays and conflicts see each event at its position, before and after
// a reopen (whose compaction packs the log's rows in SQL).
func TestEventColdPackGaps(t *testing.T) {
	ctx := context.Background()
	dir := freshDir(t)
	s, err := Open(ctx, dir, Options{EventLogSpan: 300})
	if err != nil {
		t.Fatal(err)
	}
	g := body("g")
	put := func(s *Store, pos ...int64) {
		t.Helper()
		for _, p := range pos {
			if err := s.AppendEvent(ctx, ev("g", p, g(p))).Wait(ctx); err != nil {
				t.Fatalf("append g %d: %v", p, err)
			}
		}
	}
	fill := int64(0)
	filler := func(s *Store, n int64) { // rows of another session, to push g's down the log
		t.Helper()
		appendN(t, s, "filler", fill, fill+n)
		fill += n
	}
	put(s, 0, 1, 2, 4, 6, 9, 8, 7) // 3 and 5 are gaps; 9, 8, 7 out of order in one move
	filler(s, 700)                 // past the span and its step ...
	filler(s, 1)                   // ... so the next batch moves g's rows
	if m := moved(t, s); m == 0 {
		t.Fatal("nothing moved")
	}
	put(s, 5, 10, 3) // gaps filled late, in the log above a pack of hi 9
	filler(s, 700)
	filler(s, 1)
	check := func(s *Store, n int64) {
		t.Helper()
		wantEvents(t, s, "g", n, g)
		for _, p := range []int64{0, 3, 5, 7, 9, 10} {
			if err := s.AppendEvent(ctx, ev("g", p, g(p))).Wait(ctx); err != nil {
				t.Fatalf("replay of g %d: %v", p, err)
			}
			if err := s.AppendEvent(ctx, ev("g", p, `{"other":1}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a different event at g %d: %v", p, err)
			}
		}
		packsOf(t, s)
	}
	check(s, 11)
	var lo, hi int64
	if err := s.rdb.QueryRow(`SELECT coalesce(min(lo), -1), coalesce(max(hi), -1) FROM event_cold AS c
		WHERE sid = (SELECT sid FROM event_sessions WHERE session_id = 'g')
		AND lo < (SELECT max(hi) FROM event_cold AS d WHERE d.sid = c.sid AND d.id < c.id)`).Scan(&lo, &hi); err != nil {
		t.Fatal(err)
	}
	if lo != 3 || hi != 10 {
		t.Fatalf("no pack of g below an earlier one (lo %d, hi %d): the late gaps did not move apart", lo, hi)
	}
	put(s, 12, 11) // in the log at the close: the reopen packs them
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir, Options{EventLogSpan: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if n := logRows(t, s); n != 0 {
		t.Fatalf("%d rows in the log after the reopen", n)
	}
	wantEvents(t, s, "filler", fill, body("filler"))
	check(s, 13)
}

// TestMigrateEventColdToPacks builds a database of the schema before
// migration 0010 (event_cold as version 8 left it: one row per event,
// keyed by id, unique on (sid, position))
// holding an open session's cold rows (more than one pack's worth, out of
// order) and log rows, a closed session's cold rows still to purge and a
// session without events, and checks that migration 0010 and the open
// keep exactly what the version before would read.
func TestMigrateEventColdToPacks(t *testing.T) {
	dir := t.TempDir()
	db, upTo, mustExec := migratedBefore(t, dir, "", "_event_cold_pack")
	a, b := body("a"), body("b")
	const aCold = 5000 // two packs of at most 4096 positions
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	cold := func(sid, pos int64, data string) {
		e := ev("x", pos, data)
		if _, err := tx.Exec("INSERT INTO event_cold (sid, position, event_id, at, data) VALUES (?, ?, ?, ?, ?)",
			sid, pos, e.EventID, micros(e.Time), []byte(e.Data)); err != nil {
			t.Fatal(err)
		}
	}
	for p := int64(aCold - 1); p >= 0; p-- { // newest first: ids not in position order
		cold(1, p, a(p))
	}
	for p := range int64(4) {
		cold(2, p, b(p))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	oldLayoutRest(mustExec, a, aCold, aCold+1)
	db.Close()

	ctx := context.Background()
	s, err := Open(ctx, dir, Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatalf("open the database of version %d: %v", upTo, err)
	}
	defer s.Close(ctx)
	packs, events := packsOf(t, s)
	if packs < 2 || packs > 4 || events != aCold+2 {
		t.Fatalf("%d packs holding %d events after the migration, want 2 to 4 holding %d", packs, events, aCold+2)
	}
	wantEvents(t, s, "a", aCold+2, a)
	wantEvents(t, s, "b", 0, nil)
	wantEvents(t, s, "empty", 0, nil)
	if n := countRows(t, s, "SELECT count(*) FROM event_cold WHERE sid = 2"); n != 0 {
		t.Fatalf("%d packs of the closed session left", n)
	}
	wantMigratedReplays(t, s, "a", a, 0, 4095, 4096, aCold+1)
	appendN(t, s, "a", aCold+2, aCold+1400)
	appendN(t, s, "empty", 0, 3)
	wantEvents(t, s, "a", aCold+1400, a)
	wantEvents(t, s, "empty", 3, body("empty"))
	if m := moved(t, s); m == 0 {
		t.Fatal("nothing moved past the span")
	}
	if n := logRows(t, s) + countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold"); n != aCold+1403 {
		t.Fatalf("%d events stored, want %d: each event once", n, aCold+1403)
	}
}

// FuzzDecodePack decodes arbitrary bytes as a pack: an error or events that
// encode back to exactly the input, never a panic or a read past the pack.
func FuzzDecodePack(f *testing.F) {
	f.Add(appendPack(nil, packedEvent{pos: 3, eid: 4, at: 1_700_000_000_000_000, data: []byte(`{"a":1}`)},
		packedEvent{pos: 5, eid: 6, at: 7, data: nil}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []packedEvent
		err := decodePack(b, func(e packedEvent) error {
			if e.pos < 0 {
				t.Fatalf("negative position %d decoded", e.pos)
			}
			evs = append(evs, e)
			return nil
		})
		if err != nil {
			if !errors.Is(err, errPack) {
				t.Fatalf("error %v is not errPack", err)
			}
			return
		}
		if got := appendPack(nil, evs...); !bytes.Equal(got, b) {
			t.Fatalf("%d events re-encode to %x, input %x", len(evs), got, b)
		}
	})
}
