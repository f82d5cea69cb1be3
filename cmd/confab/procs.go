package main

import (
	"log/slog"
	"os"
	"runtime"

	"github.com/confab/confab/internal/config"
)

// storeProcs gives the Go scheduler one processor more than it would take
// when the embedded SQLite store is in use. The store's writer waits in
// fsync for each commit (0.5–1 ms on a quiet disk, a few hundred commits a
// second at full speed), and a thread in a system call keeps its processor
// until the runtime takes it back, which it mostly does not for waits that
// short: with one processor per core, each commit's sync leaves the server
// one core fewer for as long. The extra processor lets the other goroutines
// run meanwhile. A GOMAXPROCS set by the operator wins; PostgreSQL's
// commits wait on the network poller, which gives the processor up.
func storeProcs(cfg *config.Config, storeDSN string, log *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" || storeDSN != "" || cfg.Store.Driver == config.StorePostgres {
		return
	}
	n := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(n + 1)
	log.Debug("processors: one more than the default for the store's syncs", "gomaxprocs", n+1)
}
