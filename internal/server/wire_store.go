package server

import (
	"context"
	"fmt"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/sqlite"
)

// OpenStore opens the store [store] driver names: the embedded SQLite file
// in dataDir, or the PostgreSQL database of dsn. A non-empty dsn with an
// empty driver means postgres (the command line's --store-dsn). It returns
// the store and a line for the operator saying where the data are (never
// the DSN's password).
func OpenStore(ctx context.Context, driver, dsn, dataDir string) (store.Store, string, error) {
	return openStoreWith(ctx, driver, dsn, dataDir, nil)
}

// openStoreWith is OpenStore whose store reports every committed batch to
// onBatch (the node's counters), when set.
func openStoreWith(ctx context.Context, driver, dsn, dataDir string, onBatch func(n, failed int, took time.Duration)) (store.Store, string, error) {
	if driver == "" {
		driver = config.StoreSQLite
		if dsn != "" {
			driver = config.StorePostgres
		}
	}
	switch driver {
	case config.StoreSQLite:
		st, err := sqlite.Open(ctx, dataDir, sqlite.Options{OnBatch: onBatch})
		if err != nil {
			return nil, "", fmt.Errorf("open store: %w", err)
		}
		return st, "store: sqlite " + st.Path(), nil
	case config.StorePostgres:
		if dsn == "" {
			return nil, "", fmt.Errorf("open store: [store] driver = postgres needs [store] dsn or --store-dsn")
		}
		st, err := postgres.Open(ctx, dsn, postgres.Options{OnBatch: onBatch})
		if err != nil {
			return nil, "", fmt.Errorf("open store: %w", err)
		}
		return st, "store: postgres " + st.Where(), nil
	}
	return nil, "", fmt.Errorf("open store: unknown [store] driver %q (sqlite or postgres)", driver)
}

// openStore opens the node's store from its configuration and options.
func (s *Server) openStore(ctx context.Context, p *parts) (store.Store, error) {
	cfg := s.cfg.Load().Store
	driver, dsn := cfg.Driver, cfg.DSN
	if s.storeDSN != "" {
		driver, dsn = config.StorePostgres, s.storeDSN
	}
	st, line, err := openStoreWith(ctx, driver, dsn, s.dataDir, s.onBatch)
	if err != nil {
		return nil, err
	}
	p.say("%s", line)
	return st, nil
}
