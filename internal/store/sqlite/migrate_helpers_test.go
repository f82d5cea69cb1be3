package sqlite

import (
	"database/sql"
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
