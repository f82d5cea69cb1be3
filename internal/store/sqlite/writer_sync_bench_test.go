package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/confab/confab/internal/store/sqlite"
)

// BenchmarkWriterClosedLoop is the throughput benchmark's shape at the
// store: 400 senders each append an event and wait until it is durable
// before the next, as fast as the writer lets them, with the WAL synced in
// COMMIT (the writer waiting for it, the default) or by the writer's own
// fsync while it writes the next batch (Options.SyncAfterCommit). b.N is the number of events. It
// reports the process's CPU per event, the commits per event and the events
// per second (wall-clock: the disk's and the machine's).
func BenchmarkWriterClosedLoop(b *testing.B) {
	for _, c := range []struct {
		name  string
		after bool
	}{{"sync=commit", false}, {"sync=own", true}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{SyncAfterCommit: c.after})
			if err != nil {
				b.Fatal(err)
			}
			const senders = 400
			ids := make([]string, senders)
			for i := range ids {
				ids[i] = fmt.Sprintf("%08x-4b1d-4c2e-9f3a-%012d", i*2654435761%(1<<32), i)
			}
			var left atomic.Int64
			left.Store(int64(b.N))
			st0, _ := s.WriterStats(ctx)
			cpu0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range senders {
				wg.Go(func() {
					for p := 0; left.Add(-1) >= 0; p++ {
						if err := s.AppendEvent(ctx, benchEvent(ids[i], int64(p))).Wait(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			cpu := cpuTime() - cpu0
			st, _ := s.WriterStats(ctx)
			n := float64(b.N)
			b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/event")
			b.ReportMetric(float64(st.Batches-st0.Batches)/n, "commits/event")
			b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
			if err := s.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWriterRateSync is BenchmarkWriterRate's 2,000 events/s with the
// default commit window, the WAL synced in COMMIT or by the writer's own
// fsync: the CPU per event at a moderate rate, where the window spaces the
// commits either way.
func BenchmarkWriterRateSync(b *testing.B) {
	for _, c := range []struct {
		name  string
		after bool
	}{{"sync=commit", false}, {"sync=own", true}} {
		b.Run(c.name, func(b *testing.B) {
			benchRate(b, sqlite.Options{SyncAfterCommit: c.after}, 100, 2000)
		})
	}
}
