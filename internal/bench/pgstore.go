package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/confab/confab/internal/config"
)

// Store names in results.
const (
	storeSQLite   = config.StoreSQLite
	storePostgres = config.StorePostgres
)

// benchStore is the store a child server of one run uses: SQLite in its
// data directory (the default), or PostgreSQL — a fresh schema in the
// database of --store-dsn, made for the run and dropped after it, or the
// [store] a --server-config names. The run's agent accounts are created in
// that same store.
type benchStore struct {
	name       string   // storeSQLite or storePostgres
	config     string   // appended to the server's configuration
	agentFlags []string // for `confab agent add`: where the accounts go
	cleanup    func()
}

// setupStore prepares the store of a run that starts its own server.
func setupStore(ctx context.Context, o *Options) (*benchStore, error) {
	bs := &benchStore{name: storeSQLite, cleanup: func() {}}
	if o.StoreDSN == "" {
		// The configuration given may name the store itself.
		cfg, _, err := config.Parse("bench server configuration", []byte(benchConfig("-", "-", o.AutoSave, o.ServerConfig)))
		if err != nil {
			return nil, fmt.Errorf("server config: %w", err)
		}
		if cfg.Store.Driver == config.StorePostgres {
			bs.name, bs.agentFlags = storePostgres, []string{"--store-dsn", cfg.Store.DSN}
		}
		return bs, nil
	}
	if strings.Contains(o.ServerConfig, "[store]") {
		return nil, errors.New("give the store with --store-dsn or in --server-config's [store], not both")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "confab_bench_" + hex.EncodeToString(b[:])
	if err := execSQL(ctx, o.StoreDSN, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("store: create schema %s: %w", schema, err)
	}
	dsn := withSearchPath(o.StoreDSN, schema)
	bs.name = storePostgres
	bs.config = "\n[store]\ndriver = postgres\ndsn = " + dsn + "\n"
	bs.agentFlags = []string{"--store-dsn", dsn}
	bs.cleanup = func() {
		if os.Getenv("CONFAB_BENCH_KEEP") != "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		execSQL(ctx, o.StoreDSN, "DROP SCHEMA "+schema+" CASCADE")
	}
	return bs, nil
}

// withSearchPath adds the schema to a DSN, as a URL or a libpq keyword list.
func withSearchPath(dsn, schema string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// storeLabel names the store in goal names (" [postgres]"); "" when the
// run drove a server it did not start (--target) and does not know it.
func storeLabel(name string) string {
	if name == "" {
		return ""
	}
	return " [" + name + "]"
}
