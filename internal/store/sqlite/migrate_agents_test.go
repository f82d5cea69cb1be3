package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// TestMigrationKeepsAgents upgrades a database at schema version 1 (agents
// without routing attributes) and checks that its agents survive with the
// default capacity and that BOT accounts can be added afterwards.
func TestMigrationKeepsAgents(t *testing.T) {
	dir := t.TempDir()
	initial, err := os.ReadFile(filepath.Join("migrations", "0001_initial.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(initial),
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL,
			applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))) STRICT`,
		`INSERT INTO schema_migrations (version, name) VALUES (1, '0001_initial')`,
		`PRAGMA application_id = 1131376230`,
		`INSERT INTO agents (id, name, token_hash, user_type, created_at) VALUES ('old', 'Old', x'0102', 'SUPERVISOR', 5)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("prepare version 1: %v", err)
		}
	}
	db.Close()

	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close(ctx)
	a, err := s.GetAgentByTokenHash(ctx, []byte{1, 2})
	if err != nil {
		t.Fatalf("agent lost in migration: %v", err)
	}
	if a.ID != "old" || a.Type != store.UserSupervisor || a.Capacity != 1 || len(a.Queues) != 0 {
		t.Fatalf("migrated agent = %+v", a)
	}
	if err := s.AddAgent(ctx, store.Agent{ID: "bot", TokenHash: []byte{3}, Type: store.UserBot, Queues: []string{"q"}}); err != nil {
		t.Fatalf("AddAgent BOT after migration: %v", err)
	}
}
