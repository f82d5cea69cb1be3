package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/confab/confab/internal/store"
)

// migrationFiles holds the schema migrations, migrations/NNNN_name.sql,
// applied in version order. A migration, once released, is never edited:
// changes go in a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// appID is stored in the database header (PRAGMA application_id) so that a
// foreign SQLite file in the data directory is recognised: "Conf".
const appID = 0x436f6e66

// createMigrationsTable runs in the transaction of every migration, so that
// a database is either empty or carries both the table and the application
// id.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`

// migrations returns the embedded migrations in order (store.Migrations).
func migrations() ([]store.Migration, error) { return store.Migrations(migrationFiles, "migrations") }

// migrate brings the schema up to date, one transaction per migration.
func migrate(ctx context.Context, conn *sql.Conn) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var id int64
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return fmt.Errorf("read application id: %w", err)
	}
	if id != appID {
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		if id != 0 || n > 0 {
			return fmt.Errorf("not a Confab database (application_id %#x, %d schema objects)", id, n)
		}
	}
	var current int
	if id == appID {
		if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
	}
	if current > len(ms) {
		return fmt.Errorf("schema version %d is newer than this build of Confab knows (%d)", current, len(ms))
	}
	for _, m := range ms[current:] {
		if err := apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, conn *sql.Conn, m store.Migration) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", appID)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.Version, m.Name); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
