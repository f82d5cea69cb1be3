package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// BenchmarkWriterAppend measures durable events per second through the
// group-commit writer: b.N events of about 200 bytes, appended by many
// sessions at once.
//
//   - waiters=N: N sessions, each appending one event and waiting until it
//     is durable before the next, as a chat request acknowledged only after
//     its event is saved does.
//   - pipelined: 16 sessions appending without waiting for each event,
//     waiting only for their last: the writer's raw capacity.
//
// It reports events/s, the mean batch size and the process's CPU time
// (user+system, getrusage) per event.
func BenchmarkWriterAppend(b *testing.B) {
	for _, sync := range []struct {
		name string
		mode sqlite.Sync
	}{{"FULL", sqlite.SyncFull}, {"NORMAL", sqlite.SyncNormal}} {
		for _, waiters := range []int{64, 1024, 4096} {
			b.Run(fmt.Sprintf("sync=%s/waiters=%d", sync.name, waiters), func(b *testing.B) {
				benchWaiters(b, sqlite.Options{Synchronous: sync.mode}, waiters)
			})
		}
		// The same without the commit window: every batch commits as soon
		// as the writer takes it.
		b.Run(fmt.Sprintf("sync=%s/waiters=64/window=off", sync.name), func(b *testing.B) {
			benchWaiters(b, sqlite.Options{Synchronous: sync.mode, CommitWindow: -1}, 64)
		})
		b.Run(fmt.Sprintf("sync=%s/pipelined", sync.name), func(b *testing.B) {
			benchPipelined(b, sync.mode, 16)
		})
	}
}

func benchEvent(session string, pos int64) store.EventRow {
	return store.EventRow{
		SessionID: session, Position: pos, EventID: pos + 1, Time: time.Unix(1_700_000_000, pos*1000),
		Data: []byte(fmt.Sprintf(`{"kind":"message","from":{"userId":"007553863DC30029","nick":"customer","type":"CLIENT"},"visibility":"ALL","text":"%s"}`,
			strings.Repeat("hello ", 15))),
	}
}

func benchStore(b *testing.B, opts sqlite.Options) *sqlite.Store {
	s, err := sqlite.Open(context.Background(), b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func report(b *testing.B, s *sqlite.Store, start store.GroupCommitStats, cpu0 time.Duration) {
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	st := s.Stats()
	if n := st.Batches - start.Batches; n > 0 {
		b.ReportMetric(float64(st.Writes-start.Writes)/float64(n), "events/batch")
		if ws, err := s.WriterStats(context.Background()); err == nil {
			b.ReportMetric(float64(ws.PagesWritten)/float64(n), "pages/batch")
		}
	}
	if st.FailedWrites != 0 {
		b.Fatalf("%d writes failed", st.FailedWrites)
	}
	if err := s.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func benchWaiters(b *testing.B, opts sqlite.Options, sessions int) {
	s := benchStore(b, opts)
	ctx := context.Background()
	// Prebuild the events so that the timed loop measures the store only.
	evs := make([][]store.EventRow, sessions)
	per := b.N/sessions + 1
	for i := range evs {
		evs[i] = make([]store.EventRow, per)
		for p := range evs[i] {
			evs[i][p] = benchEvent(fmt.Sprintf("%08x-4b1d-4c2e-9f3a-%012d", i*2654435761%(1<<32), i), int64(p))
		}
	}
	var wg sync.WaitGroup
	start := s.Stats()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range sessions {
		n := b.N / sessions
		if i < b.N%sessions {
			n++
		}
		wg.Go(func() {
			for p := range n {
				if err := s.AppendEvent(ctx, evs[i][p]).Wait(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	report(b, s, start, cpu0)
}

func benchPipelined(b *testing.B, mode sqlite.Sync, sessions int) {
	s := benchStore(b, sqlite.Options{Synchronous: mode})
	ctx := context.Background()
	per := b.N/sessions + 1
	evs := make([][]store.EventRow, sessions)
	for i := range evs {
		evs[i] = make([]store.EventRow, per)
		for p := range evs[i] {
			evs[i][p] = benchEvent(fmt.Sprintf("session-%04d", i), int64(p))
		}
	}
	var wg sync.WaitGroup
	start := s.Stats()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range sessions {
		n := b.N / sessions
		if i < b.N%sessions {
			n++
		}
		wg.Go(func() {
			var last store.Ticket
			for p := range n {
				last = s.AppendEvent(ctx, evs[i][p])
			}
			if n > 0 {
				if err := last.Wait(ctx); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	report(b, s, start, cpu0)
}
