package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab/internal/store"
)

// batchOf appends, in one batch, events from..to of each session.
func batchOf(t *testing.T, s *Store, sessions []string, from, to int64) {
	t.Helper()
	ctx := context.Background()
	release := hold(t, s)
	var tks []store.Ticket
	for p := from; p < to; p++ {
		for _, name := range sessions {
			tks = append(tks, s.AppendEvent(ctx, ev(name, p, body(name)(p))))
		}
	}
	release()
	for _, tk := range tks {
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func moved(t *testing.T, s *Store) int64 {
	t.Helper()
	st, err := s.WriterStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.EventLogMoved
}

// TestEventColdMovesEachEventOnce keeps 30 sessions open while the log
// grows far past a small span: each batch moves at most relocMax rows, the
// moves follow the appends (the log stays near its span), no event is moved
// twice, and every session reads back complete and in order. Then half the
// sessions close: their cold rows go by range, at most purgeMax positions a
// batch, and sessions opened meanwhile never see them.
func TestEventColdMovesEachEventOnce(t *testing.T) {
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
	const perBatch, rounds = 20, 40 // 600 events a batch
	for r := range int64(rounds) {
		batchOf(t, s, names, r*perBatch, (r+1)*perBatch)
		if d := s.w.log.mostMoved; d > relocMax {
			t.Fatalf("round %d: one batch moved %d rows, more than %d", r, d, relocMax)
		}
		if rows := logRows(t, s); rows > 1000+relocMax+2*perBatch*30 {
			t.Fatalf("round %d: %d rows in the log: the moves fall behind", r, rows)
		}
	}
	total := int64(rounds * perBatch * len(names))
	m, cold := moved(t, s), countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold")
	t.Logf("%d events appended, %d moved to event_cold, %d rows in the log", total, m, logRows(t, s))
	if m != cold || m > total || m < total-1000-relocMax-perBatch*30 {
		t.Fatalf("%d rows moved, %d in event_cold, of %d events", m, cold, total)
	}
	if n := countRows(t, s, "SELECT count(*) FROM event_log") + cold; n != total {
		t.Fatalf("%d rows stored, want %d: each event once", n, total)
	}
	for _, name := range names {
		wantEvents(t, s, name, rounds*perBatch, body(name))
	}

	// Close the first half; the others go on, with a new session.
	closed, open := names[:15], append(slices.Clone(names[15:]), "new")
	for _, name := range closed {
		if err := s.DeleteEvents(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	coldOf := func() int64 {
		return countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold WHERE sid NOT IN (SELECT sid FROM event_sessions)")
	}
	left := coldOf()
	for r := int64(rounds); left > 0; r++ {
		if r > rounds+100 {
			t.Fatalf("%d cold rows of closed sessions left after 100 batches", left)
		}
		batchOf(t, s, open[:15], r*perBatch, (r+1)*perBatch)
		batchOf(t, s, open[15:], r-rounds, r-rounds+1)
		left = coldOf()
	}
	if p := s.w.log.mostPurged; p == 0 || p > purgeMax {
		t.Fatalf("the largest purge of a batch was %d positions, want 1 to %d", p, purgeMax)
	}
	if n := countRows(t, s, "SELECT count(*) FROM event_cold_dead"); n != 0 {
		t.Fatalf("%d closed sessions still queued", n)
	}
	for _, name := range closed {
		wantEvents(t, s, name, 0, nil)
	}
	evs, err := s.LoadEvents(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Position != int64(i) || string(e.Data) != body("new")(int64(i)) {
			t.Fatalf("new session's event %d is %d %s", i, e.Position, e.Data)
		}
	}
}

// TestEventColdBatchFailure makes a move and then a purge fail (a trigger
// standing in for a full disk): the batch fails and rolls back with its
// bookkeeping, and the next batches move and purge what it did not.
func TestEventColdBatchFailure(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, freshDir(t), Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	exec := func(q string) {
		t.Helper()
		if err := s.do(ctx, "trigger", func(ctx context.Context, w *writer) error {
			_, err := w.conn.ExecContext(ctx, q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"a", "b", "c"}
	exec(`CREATE TEMP TRIGGER nomove BEFORE INSERT ON main.event_cold BEGIN SELECT RAISE(ABORT, 'no room'); END`)
	batchOf(t, s, names, 0, 600)                           // 1,800 rows: the next batch moves 800
	tk := s.AppendEvent(ctx, ev("a", 600, body("a")(600))) // its batch moves rows first
	if err := tk.Wait(ctx); err == nil || !strings.Contains(err.Error(), "no room") {
		t.Fatalf("append in the failing batch: %v", err)
	}
	if m := moved(t, s); m != 0 {
		t.Fatalf("%d rows counted as moved by a failed batch", m)
	}
	drop := func(q string) { // every batch fails now: straight on the idle writer's connection
		t.Helper()
		if _, err := s.w.conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	drop(`DROP TRIGGER nomove`)
	batchOf(t, s, names, 600, 700)
	if m, cold := moved(t, s), countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold"); m == 0 || m != cold {
		t.Fatalf("after the failure: %d moved, %d in event_cold", m, cold)
	}
	for _, name := range names {
		wantEvents(t, s, name, 700, body(name))
	}

	// The purge of the second closed session fails, after the first's.
	exec(`CREATE TEMP TRIGGER nopurge BEFORE DELETE ON main.event_cold WHEN OLD.sid = (SELECT max(sid) FROM main.event_cold_dead)
		BEGIN SELECT RAISE(ABORT, 'no purge'); END`)
	release := hold(t, s)
	var dels []store.Ticket
	for _, name := range names[:2] { // one batch, which purges nothing yet
		dels = append(dels, s.gc.Enqueue(ctx, op{what: "delete", fn: func(ctx context.Context, w *writer) error {
			return w.deleteEvents(ctx, name)
		}}))
	}
	release()
	for _, tk := range dels {
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tk = s.AppendEvent(ctx, ev("c", 700, body("c")(700))) // its batch purges first
	if err := tk.Wait(ctx); err == nil || !strings.Contains(err.Error(), "no purge") {
		t.Fatalf("append in the failing batch: %v", err)
	}
	drop(`DROP TRIGGER nopurge`)
	for p := int64(700); countRows(t, s, "SELECT count(*) FROM event_cold_dead") > 0; p++ {
		if p > 720 {
			t.Fatal("the closed sessions are never purged")
		}
		batchOf(t, s, names[2:], p, p+1)
	}
	if n := countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold WHERE sid NOT IN (SELECT sid FROM event_sessions)"); n != 0 {
		t.Fatalf("%d cold rows of closed sessions left: a rolled-back purge was taken as done", n)
	}
	wantEvents(t, s, "c", 701, body("c"))
}

// TestMigrateEventLogToCold builds a database of schema version 6 (the
// event log with blocks) whose log holds an open session's block, its tail,
// its stale copies below the block (moved up, not yet trimmed), a closed
// session's rows and a session without events, and checks that migration
// 7 keeps exactly what version 6 would read.
func TestMigrateEventLogToCold(t *testing.T) {
	dir := t.TempDir()
	db, upTo, mustExec := migratedBefore(t, dir, "", "_event_cold")
	row := func(seq, sid, pos int64, data string) {
		e := ev("x", pos, data)
		mustExec("INSERT INTO event_log (seq, sid, position, event_id, at, data) VALUES (?, ?, ?, ?, ?, ?)",
			seq, sid, pos, e.EventID, micros(e.Time), []byte(e.Data))
	}
	a, b := body("a"), body("b")
	// a: stale copies of 0..2 at 10..12, its block 0..2 at 20..22, its tail
	// 3, 4 at 24, 26; b closed (no bookkeeping): rows at 23, 25.
	for p := range int64(3) {
		row(10+p, 1, p, `{"stale":true}`)
		row(20+p, 1, p, a(p))
	}
	row(23, 2, 0, b(0))
	row(24, 1, 3, a(3))
	row(25, 2, 1, b(1))
	row(26, 1, 4, a(4))
	mustExec("INSERT INTO event_sessions (sid, session_id, first_seq, block_end, tail_from) VALUES (1, 'a', 20, 23, 13), (3, 'empty', 27, 27, 27)")
	db.Close()

	ctx := context.Background()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("open the database of version %d: %v", upTo, err)
	}
	defer s.Close(ctx)
	wantEvents(t, s, "a", 5, a)
	wantEvents(t, s, "b", 0, nil)
	wantEvents(t, s, "empty", 0, nil)
	if n := countRows(t, s, "SELECT count(*) FROM event_log"); n != 0 {
		t.Fatalf("%d rows left in the log", n)
	}
	appendN(t, s, "a", 5, 8)
	appendN(t, s, "empty", 0, 2)
	appendN(t, s, "b", 0, 2) // a new session of the same name
	wantEvents(t, s, "a", 8, a)
	wantEvents(t, s, "empty", 2, body("empty"))
	wantEvents(t, s, "b", 2, b)
	if err := s.AppendEvent(ctx, ev("a", 1, a(1))).Wait(ctx); err != nil {
		t.Fatalf("replay of a migrated event: %v", err)
	}
	if err := s.AppendEvent(ctx, ev("a", 1, `{"stale":true}`)).Wait(ctx); err == nil {
		t.Fatal("a different event at a migrated position was accepted")
	}
}
