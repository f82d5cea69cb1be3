// Package pgtest gives tests a real PostgreSQL database: the server named
// by the CONFAB_TEST_POSTGRES_DSN environment variable (.ci/postgres starts
// a throwaway one and sets it) and a fresh schema per test, dropped when
// the test ends. Without the variable a test is skipped with a message
// saying so, except under CI (CI=true), where it fails: CI must run them.
//
// Concurrency: safe for parallel tests; each gets its own schema.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable holding the test server's DSN.
const EnvDSN = "CONFAB_TEST_POSTGRES_DSN"

// DSN returns the test server's DSN, or skips (fails under CI) the test.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI: .ci/run must start PostgreSQL (.ci/postgres)", EnvDSN)
		}
		t.Skipf("no PostgreSQL: set %s (for example: . .ci/postgres) to run this test", EnvDSN)
	}
	return dsn
}

// Schema creates a fresh, empty schema for the test and returns its name;
// it is dropped with everything in it when the test ends.
func Schema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = DSN(t)
	var b [6]byte
	rand.Read(b[:])
	schema = "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("pgtest: connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}
