package store

import (
	"context"
	"math/bits"
	"sync/atomic"
	"time"
)

// Hist is a histogram of non-negative integers (durations in microseconds,
// batch sizes) in log-linear buckets: exact below 8, then 8 buckets per
// power of two (at most 12.5% wide). Recording is one atomic add; it is
// safe for concurrent use. The zero value is empty.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	sum    atomic.Uint64
}

const histBuckets = 62*8 + 8

func histIndex(v uint64) int {
	if v < 8 {
		return int(v)
	}
	e := bits.Len64(v) - 1 // 3..63
	sub := (v >> (e - 3)) & 7
	return (e-2)*8 + int(sub)
}

// histUpper is the largest value bucket i holds.
func histUpper(i int) uint64 {
	if i < 8 {
		return uint64(i)
	}
	e := i/8 + 2
	sub := uint64(i % 8)
	lower := (8 + sub) << (e - 3)
	return lower + (uint64(1) << (e - 3)) - 1
}

// Record adds one value.
func (h *Hist) Record(v uint64) {
	h.counts[histIndex(v)].Add(1)
	h.sum.Add(v)
}

// RecordDuration adds a duration in whole microseconds.
func (h *Hist) RecordDuration(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.Record(uint64(d / time.Microsecond))
}

// Snapshot returns the non-empty buckets in ascending order and the sum of
// the values recorded. Counts only grow: the difference of two snapshots
// is the histogram of what was recorded between them.
func (h *Hist) Snapshot() HistSnapshot {
	var s HistSnapshot
	for i := range h.counts {
		if n := h.counts[i].Load(); n > 0 {
			s.Buckets = append(s.Buckets, Bucket{Le: histUpper(i), N: n})
		}
	}
	s.Sum = h.sum.Load()
	return s
}

// Bucket is one bucket of a histogram snapshot: N values at most Le (and
// more than the previous bucket's Le).
type Bucket struct {
	Le uint64 `json:"le"`
	N  uint64 `json:"n"`
}

// HistSnapshot is a histogram's cumulative state: counts per bucket since
// the start, and the sum of the values.
type HistSnapshot struct {
	Buckets []Bucket `json:"buckets,omitempty"`
	Sum     uint64   `json:"sum"`
}

// Count returns the number of values.
func (s HistSnapshot) Count() uint64 {
	var n uint64
	for _, b := range s.Buckets {
		n += b.N
	}
	return n
}

// Sub returns the histogram of the values recorded after earlier was
// taken (s minus earlier, bucket by bucket).
func (s HistSnapshot) Sub(earlier HistSnapshot) HistSnapshot {
	prev := make(map[uint64]uint64, len(earlier.Buckets))
	for _, b := range earlier.Buckets {
		prev[b.Le] = b.N
	}
	var out HistSnapshot
	for _, b := range s.Buckets {
		if n := b.N - min(b.N, prev[b.Le]); n > 0 {
			out.Buckets = append(out.Buckets, Bucket{Le: b.Le, N: n})
		}
	}
	out.Sum = s.Sum - min(s.Sum, earlier.Sum)
	return out
}

// Quantile returns the upper bound of the bucket holding the q-quantile
// (0 < q ≤ 1), 0 for an empty histogram.
func (s HistSnapshot) Quantile(q float64) uint64 {
	total := s.Count()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for _, b := range s.Buckets {
		seen += b.N
		if seen >= rank {
			return b.Le
		}
	}
	return s.Buckets[len(s.Buckets)-1].Le
}

// Max returns the upper bound of the highest non-empty bucket.
func (s HistSnapshot) Max() uint64 {
	if len(s.Buckets) == 0 {
		return 0
	}
	return s.Buckets[len(s.Buckets)-1].Le
}

// WriterStats are the cumulative counters of a store's commit path, for the
// benchmark's latency timeline: it samples them every second and takes the
// differences. Fields a store cannot measure stay zero.
type WriterStats struct {
	Driver string `json:"driver"`
	// Shards is the number of independent writers summed here (1 unless
	// the store is sharded).
	Shards int `json:"shards"`

	Batches       uint64 `json:"batches"`
	Writes        uint64 `json:"writes"`
	FailedBatches uint64 `json:"failed_batches"`
	FailedWrites  uint64 `json:"failed_writes"`
	Pending       int    `json:"pending"` // writes queued now

	// FlushMicros is the time each batch took on the writer, from its
	// first statement to the end of its commit; SyncMicros the commit
	// alone (the WAL write and the fsync); BatchSize the writes per batch.
	FlushMicros HistSnapshot `json:"flush_us"`
	SyncMicros  HistSnapshot `json:"sync_us"`
	BatchSize   HistSnapshot `json:"batch_size"`

	// WindowWaits counts the batches that waited in the commit window for
	// company (see GroupCommitConfig.Window), WindowWrites the writes that
	// joined them meanwhile and WindowMicros the time they waited.
	WindowWaits  uint64 `json:"window_waits,omitempty"`
	WindowWrites uint64 `json:"window_writes,omitempty"`
	WindowMicros uint64 `json:"window_us,omitempty"`

	// PagesWritten counts the database pages the writer wrote to the WAL
	// (SQLite); PageSize is their size in bytes.
	PagesWritten uint64 `json:"pages_written"`
	PageSize     int64  `json:"page_size,omitempty"`
	// WALBytes is the size of the write-ahead log now (SQLite: the -wal
	// file; PostgreSQL: not measured). WALPosition is the position in the
	// write-ahead log in bytes (PostgreSQL: pg_current_wal_lsn), whose
	// growth is the WAL written.
	WALBytes    int64  `json:"wal_bytes"`
	WALPosition uint64 `json:"wal_position,omitempty"`

	// Checkpoints are the WAL checkpoints run (SQLite, on their own
	// connection); CheckpointMicros their durations; CheckpointedPages the
	// pages they copied back into the database; CheckpointBusy those that
	// could not finish (a reader held old frames).
	Checkpoints       uint64       `json:"checkpoints"`
	CheckpointMicros  HistSnapshot `json:"checkpoint_us"`
	CheckpointedPages uint64       `json:"checkpointed_pages"`
	CheckpointBusy    uint64       `json:"checkpoint_busy"`
	// CatchUpMicros are the durations of those of them the writer ran
	// itself, between two batches, to copy the last frames so that the
	// WAL restarts (SQLite): every acknowledgement waits while one runs.
	CatchUpMicros HistSnapshot `json:"catch_up_us,omitzero"`
	// CheckpointSyncFailures counts the syncs of the database file that
	// failed before a catch-up (SQLite; harmless in itself, as SQLite
	// syncs the file again in the catch-up and uses the WAL until one
	// succeeds, but a disk failing syncs).
	CheckpointSyncFailures uint64 `json:"checkpoint_sync_failures,omitempty"`
	// Checkpointing is true while a checkpoint runs.
	Checkpointing bool `json:"checkpointing"`

	// EventLogRows are the rows of the append-only event log not yet
	// trimmed, those of closed sessions included (SQLite).
	EventLogRows int64 `json:"event_log_rows,omitempty"`
	// EventLogReloads counts the times the writer read the log's
	// bookkeeping again because another connection had written (SQLite).
	EventLogReloads uint64 `json:"event_log_reloads,omitempty"`
	// EventLogMoved counts the rows moved out of the event log to keep it
	// short (SQLite: to event_cold, at most once per event).
	EventLogMoved int64 `json:"event_log_moved,omitempty"`
	// EventLogMovedFromMemory counts those of them packed from the open
	// sessions' events the writer keeps in memory instead of read back
	// from the log, and EventLogMemoryBytes is what it keeps now (SQLite).
	EventLogMovedFromMemory int64 `json:"event_log_moved_from_memory,omitempty"`
	EventLogMemoryBytes     int64 `json:"event_log_memory_bytes,omitempty"`
}

// Add sums o into s (the shards of a sharded store): counters and
// histograms add up, Pending and the WAL sizes too.
func (s *WriterStats) Add(o WriterStats) {
	s.Shards += max(o.Shards, 1)
	s.Batches += o.Batches
	s.Writes += o.Writes
	s.FailedBatches += o.FailedBatches
	s.FailedWrites += o.FailedWrites
	s.Pending += o.Pending
	s.FlushMicros = addHist(s.FlushMicros, o.FlushMicros)
	s.SyncMicros = addHist(s.SyncMicros, o.SyncMicros)
	s.BatchSize = addHist(s.BatchSize, o.BatchSize)
	s.WindowWaits += o.WindowWaits
	s.WindowWrites += o.WindowWrites
	s.WindowMicros += o.WindowMicros
	s.PagesWritten += o.PagesWritten
	s.PageSize = max(s.PageSize, o.PageSize)
	s.WALBytes += o.WALBytes
	s.WALPosition += o.WALPosition
	s.Checkpoints += o.Checkpoints
	s.CheckpointMicros = addHist(s.CheckpointMicros, o.CheckpointMicros)
	s.CheckpointedPages += o.CheckpointedPages
	s.CheckpointBusy += o.CheckpointBusy
	s.CatchUpMicros = addHist(s.CatchUpMicros, o.CatchUpMicros)
	s.CheckpointSyncFailures += o.CheckpointSyncFailures
	s.Checkpointing = s.Checkpointing || o.Checkpointing
	s.EventLogRows += o.EventLogRows
	s.EventLogReloads += o.EventLogReloads
	s.EventLogMoved += o.EventLogMoved
	s.EventLogMovedFromMemory += o.EventLogMovedFromMemory
	s.EventLogMemoryBytes += o.EventLogMemoryBytes
}

func addHist(a, b HistSnapshot) HistSnapshot {
	m := make(map[uint64]uint64, len(a.Buckets)+len(b.Buckets))
	for _, x := range a.Buckets {
		m[x.Le] += x.N
	}
	for _, x := range b.Buckets {
		m[x.Le] += x.N
	}
	out := HistSnapshot{Sum: a.Sum + b.Sum}
	for le, n := range m {
		out.Buckets = append(out.Buckets, Bucket{Le: le, N: n})
	}
	sortBuckets(out.Buckets)
	return out
}

func sortBuckets(bs []Bucket) {
	for i := 1; i < len(bs); i++ { // few buckets: insertion sort
		for j := i; j > 0 && bs[j].Le < bs[j-1].Le; j-- {
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
}

// StatsSource is a store that reports its commit path's counters (both
// stores of this module do).
type StatsSource interface {
	WriterStats(ctx context.Context) (WriterStats, error)
}
