package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// BenchmarkEventLogMove appends b.N events of about 200 bytes from 100
// sessions that all stay open (a throughput run's shape), each keeping 8
// appends in flight, with the event log kept to span rows: once it is
// longer, the open sessions' oldest rows are moved out of it. It reports
// the process's CPU time (user+system) per event, the rows moved per event
// (each event at most once), the pages written to the WAL per event, the longest batch on the writer (a move of
// many rows in one batch stalls every write behind it) and the flush p99.
// b.N should be several times span, e.g. -benchtime 100000x.
func BenchmarkEventLogMove(b *testing.B) {
	for _, span := range []int{16384, 65536, 1 << 20} { // the last: no moves (the floor)
		b.Run(fmt.Sprintf("span=%d", span), func(b *testing.B) {
			benchMove(b, sqlite.Options{EventLogSpan: span, Synchronous: sqlite.SyncNormal}, 100)
		})
	}
}

func benchMove(b *testing.B, opts sqlite.Options, sessions int) {
	s, err := sqlite.Open(context.Background(), b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st0, err := s.WriterStats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	per := (b.N + sessions - 1) / sessions
	cpu0 := cpuTime()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			name := fmt.Sprint("move-", i)
			var window []store.Ticket
			for pos := range int64(per) {
				window = append(window, s.AppendEvent(ctx, benchEvent(name, pos)))
				if len(window) < 8 {
					continue
				}
				if err := window[0].Wait(ctx); err != nil {
					b.Error(err)
					return
				}
				window = window[1:]
			}
			for _, tk := range window {
				if err := tk.Wait(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st, err := s.WriterStats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n := float64(per * sessions)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/event")
	b.ReportMetric(float64(st.EventLogMoved-st0.EventLogMoved)/n, "moved/event")
	b.ReportMetric(float64(st.PagesWritten-st0.PagesWritten)/n, "pages/event")
	flush := st.FlushMicros.Sub(st0.FlushMicros)
	b.ReportMetric(float64(flush.Max())/1000, "flush-max-ms")
	b.ReportMetric(float64(flush.Quantile(0.99))/1000, "flush-p99-ms")
	b.ReportMetric(float64(st.EventLogRows), "log-rows")
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
