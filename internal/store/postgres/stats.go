package postgres

import (
	"context"

	"github.com/confab/confab/internal/store"
)

// WriterStats returns the commit path's counters: batches, their flush and
// commit times and sizes, and the server's position in its write-ahead log
// (its growth is the WAL written, by every client of the database); see
// store.WriterStats.
func (s *Store) WriterStats(ctx context.Context) (store.WriterStats, error) {
	if err := s.readable(); err != nil {
		return store.WriterStats{}, err
	}
	gs := s.gc.Stats()
	flush, batch := s.gc.Timing()
	st := store.WriterStats{
		Driver: "postgres", Shards: 1,
		Batches: gs.Batches, Writes: gs.Writes, FailedBatches: gs.FailedBatches, FailedWrites: gs.FailedWrites,
		Pending: gs.Pending, WindowWaits: gs.Windows, WindowWrites: gs.WindowWrites, WindowMicros: gs.WindowMicros,
		FlushMicros: flush, BatchSize: batch, SyncMicros: s.w.syncHist.Snapshot(),
	}
	var lsn int64
	// A standby has no current WAL position; the figure is then left out.
	if err := s.pool.QueryRow(ctx, "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint").Scan(&lsn); err == nil && lsn > 0 {
		st.WALPosition = uint64(lsn)
	}
	return st, nil
}
