package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

// migrationFiles holds the schema migrations, migrations/NNNN_name.sql,
// applied in version order. A released migration is never edited.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLock is the advisory lock key nodes take while migrating ("Conf").
const migrateLock = 0x436f6e66

// migrations returns the embedded migrations in order (store.Migrations).
func migrations() ([]store.Migration, error) { return store.Migrations(migrationFiles, "migrations") }

// migrate brings the schema up to date, one transaction per migration,
// holding a session advisory lock so that nodes starting at once migrate one
// after the other.
func migrate(ctx context.Context, conn *pgx.Conn) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return migrateUpTo(ctx, conn, ms)
}

// migrateUpTo applies ms (a prefix of migrations(): tests migrate a schema
// to an older version).
func migrateUpTo(ctx context.Context, conn *pgx.Conn, ms []store.Migration) (err error) {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrateLock)); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrateLock)); uerr != nil && err == nil {
			err = fmt.Errorf("release the migration lock: %w", uerr)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("schema version %d is newer than this build of Confab knows (%d)", current, len(ms))
	}
	for _, m := range ms[current:] {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		}); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}
