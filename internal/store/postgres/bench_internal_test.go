package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// BenchmarkFlush writes batches of the shape of a throughput run's: one
// event from each of 100 sessions, plus (the "+lifecycle" cases) 5 new
// interactions and a routing update of each of the 5 created by the batch
// before, directly with the writer's flush: pipelined (one round trip) and
// statement by statement (the path before the pipeline, and its fallback).
//
//	CONFAB_TEST_POSTGRES_DSN=... go test -run XXX -bench BenchmarkFlush ./internal/store/postgres/
func BenchmarkFlush(b *testing.B) {
	for _, mode := range []struct {
		name       string
		noPipeline bool
		sessions   int
		lifecycle  int
	}{
		{"pipeline/events", false, 100, 0}, {"statements/events", true, 100, 0},
		{"pipeline/events+lifecycle", false, 100, 5}, {"statements/events+lifecycle", true, 100, 5},
		{"pipeline/one-event", false, 1, 0}, {"statements/one-event", true, 1, 0},
	} {
		b.Run(mode.name, func(b *testing.B) {
			s := openInternal(b, 1) // one connection: the writer's backend is known
			s.w.noPipeline = mode.noPipeline
			var pid int
			if err := s.pool.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				b.Fatal(err)
			}
			pg0, self0 := procCPU(b, strconv.Itoa(pid)), procCPU(b, "self")
			batch := make([]op, 0, mode.sessions+2*mode.lifecycle)
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				batch = batch[:0]
				for i := range mode.sessions {
					batch = append(batch, ev(fmt.Sprint("s", i), int64(n), 0))
				}
				for i := range mode.lifecycle {
					in := store.Interaction{ID: fmt.Sprintf("r%d-%d", n, i), State: "queued"}
					batch = append(batch, op{what: in.ID, st: &stmt{build: fixed(`INSERT INTO interactions (`+interactionCols+`)
						VALUES ($1, $1, '', '', '', NULL, '', NULL, 'open', $2, '', 1, 0, NULL, NULL, NULL)`, in.ID, in.State),
						check: one(store.ErrExists)}})
					if n > 0 {
						batch = append(batch, route(fmt.Sprintf("r%d-%d", n-1, i), "assigned", 0))
					}
				}
				failed, err := s.w.flush(batch)
				if err != nil || len(failed) > 0 {
					b.Fatalf("flush: %v %v", err, failed)
				}
			}
			writes := float64(b.N * len(batch))
			b.ReportMetric(float64(b.Elapsed().Microseconds())/writes, "µs/write")
			b.ReportMetric((procCPU(b, strconv.Itoa(pid))-pg0).Seconds()*1e6/writes, "pg-cpu-µs/write")
			b.ReportMetric((procCPU(b, "self")-self0).Seconds()*1e6/writes, "go-cpu-µs/write")
		})
	}
}

// procCPU is a process's user+system CPU time from /proc/<pid>/stat (the
// PostgreSQL server runs on the same machine in tests).
func procCPU(b *testing.B, pid string) time.Duration {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		b.Skipf("no CPU time of process %s: %v", pid, err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}
