package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/confab/confab/internal/store"
)

func logRows(t *testing.T, s *Store) int64 {
	t.Helper()
	st, err := s.WriterStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.EventLogRows
}

func countRows(t *testing.T, s *Store, q string) int64 {
	t.Helper()
	var n int64
	if err := s.rdb.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantEvents(t *testing.T, s *Store, session string, n int64, data func(int64) string) {
	t.Helper()
	evs, err := s.LoadEvents(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(evs)) != n {
		t.Fatalf("%s: %d events, want %d", session, len(evs), n)
	}
	for i, e := range evs {
		if e.Position != int64(i) || string(e.Data) != data(int64(i)) || e.EventID != int64(i)+1 {
			t.Fatalf("%s: event %d is %d %q", session, i, e.Position, e.Data)
		}
	}
}

func body(session string) func(int64) string {
	return func(pos int64) string { return fmt.Sprintf(`{"s":%q,"p":%d}`, session, pos) }
}

func appendN(t *testing.T, s *Store, session string, from, to int64) {
	t.Helper()
	ctx := context.Background()
	var tks []store.Ticket
	for p := from; p < to; p++ {
		tks = append(tks, s.AppendEvent(ctx, ev(session, p, body(session)(p))))
	}
	for _, tk := range tks {
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEventLogTrimAndRelocate runs short sessions past one long one with a
// small span: the rows of closed sessions are trimmed by range, the long
// session's oldest rows move to event_cold (each once) instead of keeping
// the log from shrinking, and its events, replays and conflicts behave as
// before — also after a reopen, which moves every open session's rows to
// event_cold.
func TestEventLogTrimAndRelocate(t *testing.T) {
	dir := freshDir(t)
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.w.log.span = 2000 // before the first write; the writer reads it after Enqueue's lock
	long := body("long")
	var longN int64
	for round := range 40 {
		appendN(t, s, "long", longN, longN+10)
		longN += 10
		for k := range 4 {
			name := fmt.Sprintf("short-%d-%d", round, k)
			appendN(t, s, name, 0, 30)
			if err := s.DeleteEvents(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows := logRows(t, s)
	t.Logf("%d events appended, %d rows left in the log", longN+40*4*30, rows)
	if rows > 2000+relocMax+200 {
		t.Fatalf("%d rows in the log: the long session kept it from being trimmed", rows)
	}
	if n := countRows(t, s, "SELECT count(*) FROM event_log"); n != rows {
		t.Fatalf("the log holds %d rows, the writer counts %d", n, rows)
	}
	moved := countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold")
	if st, _ := s.WriterStats(ctx); moved == 0 || st.EventLogMoved != moved || moved > longN {
		t.Fatalf("%d rows moved to event_cold (writer counts %d), want 1 to %d (only the long session's, once)", moved, st.EventLogMoved, longN)
	}
	wantEvents(t, s, "long", longN, long)
	wantEvents(t, s, "short-3-1", 0, nil)
	// A replay is a no-op; a different event at a stored place a conflict,
	// wherever the row now is.
	for _, pos := range []int64{0, longN / 2, longN - 1} {
		if err := s.AppendEvent(ctx, ev("long", pos, long(pos))).Wait(ctx); err != nil {
			t.Fatalf("replay of %d: %v", pos, err)
		}
		if err := s.AppendEvent(ctx, ev("long", pos, `{"other":1}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("different event at %d: %v", pos, err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if n, cold := logRows(t, s), countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold"); n != 0 || cold != longN {
		t.Fatalf("after the reopen the log holds %d rows and event_cold %d, want 0 and the long session's %d", n, cold, longN)
	}
	wantEvents(t, s, "long", longN, long)
	appendN(t, s, "long", longN, longN+5)
	wantEvents(t, s, "long", longN+5, long)
	if err := s.AppendEvent(ctx, ev("long", 3, `{"other":1}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("different event after the reopen: %v", err)
	}
}

// TestMigrateEventsToLog builds a database of the schema version before the
// event log, with intermediate events in the old per-session table, and
// checks that the event log's migration moves them into the log unchanged.
func TestMigrateEventsToLog(t *testing.T) {
	dir := t.TempDir()
	db, before, _ := migratedBefore(t, dir, "", "_event_log")
	// Two sessions interleaved as the old writer stored them, one without
	// events.
	for sid, name := range map[int]string{1: "a", 2: "b", 3: "empty"} {
		if _, err := db.Exec("INSERT INTO event_sessions (sid, session_id) VALUES (?, ?)", sid, name); err != nil {
			t.Fatal(err)
		}
	}
	for pos := range int64(5) {
		for sid, name := range map[int]string{1: "a", 2: "b"} {
			e := ev(name, pos, body(name)(pos))
			if _, err := db.Exec("INSERT INTO session_events (sid, position, event_id, at, data) VALUES (?, ?, ?, ?, ?)",
				sid, pos, e.EventID, micros(e.Time), []byte(e.Data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()

	ctx := context.Background()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("open the database of version %d: %v", before, err)
	}
	defer s.Close(ctx)
	wantEvents(t, s, "a", 5, body("a"))
	wantEvents(t, s, "b", 5, body("b"))
	wantEvents(t, s, "empty", 0, nil)
	if n := countRows(t, s, "SELECT count(*) FROM sqlite_schema WHERE name = 'session_events'"); n != 0 {
		t.Fatal("the old table is still there")
	}
	appendN(t, s, "a", 5, 8)
	appendN(t, s, "empty", 0, 2)
	wantEvents(t, s, "a", 8, body("a"))
	wantEvents(t, s, "empty", 2, body("empty"))
	if err := s.AppendEvent(ctx, ev("b", 4, body("b")(4))).Wait(ctx); err != nil {
		t.Fatalf("replay of a migrated event: %v", err)
	}
	if err := s.AppendEvent(ctx, ev("b", 4, `{}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("conflict with a migrated event: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
}

// TestEventAppendWritesFewPages appends one event to each of 100 sessions
// with long histories in one batch: the rows share the log's last pages, so
// the batch writes a handful of pages, not one per session (as the index of
// the old per-session table did: 700 entries fill most of a page).
func TestEventAppendWritesFewPages(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for i := range 100 { // every session has a history first
		appendN(t, s, fmt.Sprint("s", i), 0, 700)
	}
	before := s.w.pages.Load()
	release := hold(t, s)
	var tks []store.Ticket
	for i := range 100 {
		name := fmt.Sprint("s", i)
		tks = append(tks, s.AppendEvent(ctx, ev(name, 700, string(bytes.Repeat([]byte("x"), 150)))))
	}
	release()
	for _, tk := range tks {
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.Close(ctx) // the last batch's pages are counted after it
	pages := s.w.pages.Load() - before
	t.Logf("a batch of 100 events of 100 sessions wrote %d pages of 8 KiB", pages)
	if pages > 20 {
		t.Fatalf("%d pages for 100 events of 100 sessions", pages)
	}
}

// TestSecondHandle opens a second Store on the same file while the first
// writes (as a command-line tool or a test does): the second's Open
// compacts the log under the first, both append, and each sees every
// event; the first reads its bookkeeping again instead of trusting a
// stale one.
func TestSecondHandle(t *testing.T) {
	dir := freshDir(t)
	ctx := context.Background()
	a, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	appendN(t, a, "x", 0, 10)
	appendN(t, a, "closed", 0, 10)
	if err := a.DeleteEvents(ctx, "closed"); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, dir, Options{}) // compacts: x's rows move, closed's go
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	appendN(t, b, "y", 0, 5)
	appendN(t, a, "x", 10, 20) // a's next seq and x's rows are stale now
	appendN(t, b, "x", 20, 25)
	appendN(t, a, "y", 5, 8)
	for _, s := range []*Store{a, b} {
		wantEvents(t, s, "x", 25, body("x"))
		wantEvents(t, s, "y", 8, body("y"))
		wantEvents(t, s, "closed", 0, nil)
		if err := s.AppendEvent(ctx, ev("x", 3, `{"other":1}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("conflict: %v", err)
		}
		if err := s.AppendEvent(ctx, ev("x", 22, body("x")(22))).Wait(ctx); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	if st, _ := a.WriterStats(ctx); st.EventLogReloads == 0 {
		t.Fatal("the first handle never read the log again")
	}
}
