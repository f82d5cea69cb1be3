package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab/internal/store"
)

// migratedBefore creates a database in dir (opened with the DSN options
// in query, "" for none) at the schema version just before the migration
// whose name ends in suffix: every earlier migration applied and recorded,
// the store's application id set. It returns the database, the index of
// that migration and an exec that fails the test on error. The migration
// tests build the old layout's rows on it, close it and Open the store.
func migratedBefore(t *testing.T, dir, query, suffix string) (db *sql.DB, upTo int, mustExec func(q string, args ...any)) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+query)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	upTo = slices.IndexFunc(ms, func(m store.Migration) bool { return strings.HasSuffix(m.Name, suffix) })
	if upTo < 0 {
		t.Fatalf("no migration named *%s", suffix)
	}
	mustExec = func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(createMigrationsTable)
	for _, m := range ms[:upTo] {
		mustExec(m.SQL)
		mustExec("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.Version, m.Name)
	}
	mustExec(fmt.Sprintf("PRAGMA application_id = %d", appID))
	return db, upTo, mustExec
}

// oldLayoutRest adds what the event_cold migration tests' old layouts hold
// besides their cold rows: session a's (sid 1) log rows at positions, from
// seq 50 on, with a's data; the sessions a (tail from seq 50) and "empty"
// (sid 3); and closed session 2's cold rows, below position 4, still to
// purge.
func oldLayoutRest(mustExec func(q string, args ...any), a func(int64) string, positions ...int64) {
	for i, p := range positions {
		e := ev("a", p, a(p))
		mustExec("INSERT INTO event_log (seq, sid, position, event_id, at, data) VALUES (?, 1, ?, ?, ?, ?)",
			50+i, p, e.EventID, micros(e.Time), []byte(e.Data))
	}
	mustExec("INSERT INTO event_sessions (sid, session_id, tail_from) VALUES (1, 'a', 50), (3, 'empty', 52)")
	mustExec("INSERT INTO event_cold_dead (sid, next_pos) VALUES (2, 4)")
}

// wantMigratedReplays checks that the migrated events of a session at
// positions replay (the same event again: no error) and that a different
// event at any of them is a conflict.
func wantMigratedReplays(t *testing.T, s *Store, name string, data func(int64) string, positions ...int64) {
	t.Helper()
	ctx := context.Background()
	for _, p := range positions {
		if err := s.AppendEvent(ctx, ev(name, p, data(p))).Wait(ctx); err != nil {
			t.Fatalf("replay of migrated event %d: %v", p, err)
		}
		if err := s.AppendEvent(ctx, ev(name, p, `{"other":1}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("different event at migrated position %d: %v", p, err)
		}
	}
}
