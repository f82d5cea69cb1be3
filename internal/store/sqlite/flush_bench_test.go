package sqlite

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// BenchmarkFlush measures the writer's own work for one batch of events,
// without the group-commit queue, the waiters or the event log's
// maintenance: flush is called directly on the benchmark's goroutine with
// batches of the size a full-speed throughput run commits (about 71
// events from as many sessions; 256 too), the writer goroutine idle
// meanwhile (nothing is queued). With synchronous=FULL the commit's fsync is in it; NORMAL
// (no sync at commit) leaves the CPU of the statements alone. It reports the process's CPU time
// (user+system) per event, b.N being the number of events.
func BenchmarkFlush(b *testing.B) {
	for _, mode := range []struct {
		name string
		sync Sync
	}{{"FULL", SyncFull}, {"NORMAL", SyncNormal}} {
		for _, size := range []int{71, 256} {
			b.Run(fmt.Sprintf("sync=%s/batch=%d", mode.name, size), func(b *testing.B) {
				benchFlush(b, mode.sync, size)
			})
		}
	}
}

func benchFlush(b *testing.B, sync Sync, size int) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), Options{Synchronous: sync, EventLogSpan: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	text := strings.Repeat("hello ", 15)
	// Built before the clock starts: the CPU time is the flushes' alone.
	all := make([][]op, max(b.N/size, 1))
	for k := range all {
		all[k] = make([]op, size)
		for i := range all[k] {
			pos := int64(k)
			all[k][i] = op{ev: store.EventRow{
				SessionID: fmt.Sprintf("%08x-4b1d-4c2e-9f3a-%012d", i*2654435761%(1<<32), i),
				Position:  pos, EventID: pos + 1, Time: time.Unix(1_700_000_000, pos*1000),
				Data: []byte(`{"pos":` + fmt.Sprint(pos) + `,"kind":"message","userId":"007553863DC30029","userNick":"customer","userType":"CLIENT","visibility":"ALL","text":"` + text + `"}`),
			}}
		}
	}
	// Nothing is queued: the writer goroutine waits for work and leaves
	// the connection to the benchmark's flushes.
	cpu0 := cpuNow()
	b.ResetTimer()
	for _, batch := range all {
		failed, err := s.w.flush(batch)
		if err != nil || len(failed) > 0 {
			b.Fatalf("flush: %v %v", err, failed)
		}
		s.w.afterBatch() // the checkpoints that keep the WAL short, as the writer asks for them
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuNow()-cpu0).Nanoseconds())/1e3/float64(len(all)*size), "cpu-µs/event")
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
