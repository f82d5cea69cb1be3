package sqlite_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// BenchmarkWriterRate measures the CPU a durable event costs when events
// arrive at a fixed rate the writer keeps up with (issue 17's "CPU per
// durable message at 2,000/s"): 100 sessions each append one event every
// 50 ms (2,000 events/s in all) and wait until it is durable, as the
// server's senders do with transcript-auto-save=1. b.N is the number of
// events (-benchtime=6000x is three seconds). It reports the process's CPU
// time (user+system, getrusage) per event, commits and WAL pages per event,
// and the latency of the wait (p50, p99), for each commit window.
//
// The wall-clock figures depend on the disk and the machine's load; the
// CPU per event and the commits per event are what the commit window
// changes.
func BenchmarkWriterRate(b *testing.B) {
	for _, c := range []struct {
		name   string
		window time.Duration
		page   int
	}{
		{"window=0", -1, 0},
		{"window=1ms", time.Millisecond, 0},
		{"window=2ms", 2 * time.Millisecond, 0},
		{"window=3ms", 3 * time.Millisecond, 0},
		{"window=4ms", 4 * time.Millisecond, 0},
		{"window=2ms/page=4096", 2 * time.Millisecond, 4096},
	} {
		b.Run(c.name, func(b *testing.B) {
			benchRate(b, sqlite.Options{CommitWindow: c.window, PageSize: c.page}, 100, 2000)
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchRate(b *testing.B, opts sqlite.Options, sessions, rate int) {
	s, err := sqlite.Open(context.Background(), b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	per := b.N/sessions + 1
	evs := make([][]store.EventRow, sessions)
	for i := range evs {
		evs[i] = make([]store.EventRow, per)
		for p := range evs[i] {
			evs[i][p] = benchEvent(fmt.Sprintf("%08x-4b1d-4c2e-9f3a-%012d", i*2654435761%(1<<32), i), int64(p))
		}
	}
	interval := time.Duration(sessions) * time.Second / time.Duration(rate)
	lat := make([][]time.Duration, sessions)
	var wg sync.WaitGroup
	st0, _ := s.WriterStats(ctx)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for i := range sessions {
		n := b.N / sessions
		if i < b.N%sessions {
			n++
		}
		wg.Go(func() {
			// Spread the sessions' sends over the interval.
			next := start.Add(interval * time.Duration(i) / time.Duration(sessions))
			for p := range n {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				t := time.Now()
				if err := s.AppendEvent(ctx, evs[i][p]).Wait(ctx); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t))
				next = next.Add(interval)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st, _ := s.WriterStats(ctx)
	all := slices.Concat(lat...)
	slices.Sort(all)
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/event")
	b.ReportMetric(float64(st.Batches-st0.Batches)/n, "commits/event")
	b.ReportMetric(float64(st.PagesWritten-st0.PagesWritten)/n, "pages/event")
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
