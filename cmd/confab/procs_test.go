package main

import (
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/confab/confab/internal/config"
)

func TestStoreProcs(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(base)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pg := config.Default()
	pg.Store.Driver = config.StorePostgres
	tests := []struct {
		name string
		env  string
		cfg  *config.Config
		dsn  string
		want int
	}{
		{"embedded SQLite store: one more", "", config.Default(), "", base + 1},
		{"the operator's GOMAXPROCS wins", "7", config.Default(), "", base},
		{"PostgreSQL by --store-dsn", "", config.Default(), "postgres://127.0.0.1/x", base},
		{"PostgreSQL by [store] driver", "", pg, "", base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GOMAXPROCS(base)
			t.Setenv("GOMAXPROCS", tt.env)
			storeProcs(tt.cfg, tt.dsn, log)
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Errorf("GOMAXPROCS %d, want %d", got, tt.want)
			}
		})
	}
}
