package documents

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/store"
)

// PurgeInterval is how often a Janitor applies the retention rule.
const PurgeInterval = time.Hour

// Janitor deletes the documents older than the retention in force, every
// PurgeInterval on its clock. A retention of 0 keeps every document.
type Janitor struct {
	docs      store.Documents
	clock     clock.Clock
	retention func() time.Duration
	log       *slog.Logger

	mu      sync.Mutex // guards the following
	timer   clock.Timer
	stopped bool
	purged  int64
}

// NewJanitor starts a janitor; Stop ends it.
func NewJanitor(docs store.Documents, clk clock.Clock, retention func() time.Duration, log *slog.Logger) *Janitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j := &Janitor{docs: docs, clock: clk, retention: retention, log: log}
	j.mu.Lock()
	j.timer = clk.AfterFunc(PurgeInterval, j.tick)
	j.mu.Unlock()
	return j
}

func (j *Janitor) tick() {
	j.Purge(context.Background())
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.stopped {
		j.timer = j.clock.AfterFunc(PurgeInterval, j.tick)
	}
}

// Purge applies the retention rule now and returns how many documents it
// deleted.
func (j *Janitor) Purge(ctx context.Context) int {
	keep := j.retention()
	if keep <= 0 {
		return 0
	}
	n, err := j.docs.PurgeDocuments(ctx, j.clock.Now().Add(-keep))
	if err != nil {
		j.log.Warn("documents: retention purge failed", "err", err)
		return 0
	}
	if n > 0 {
		j.log.Info("documents: retention purge", "deleted", n, "older than", keep)
	}
	j.mu.Lock()
	j.purged += int64(n)
	j.mu.Unlock()
	return n
}

// Purged returns how many documents the janitor has deleted.
func (j *Janitor) Purged() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.purged
}

// Stop ends the janitor; a purge in progress finishes.
func (j *Janitor) Stop() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stopped = true
	j.timer.Stop()
}
