package timers_test

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/timers"
)

type benchOwner struct {
	e timers.Entry
	s *timers.Scheduler
	d time.Duration
}

func (o *benchOwner) Expire(now time.Time) { o.s.Schedule(&o.e, now.Add(o.d)) }

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkHundredThousandDeadlines measures the memory of 100,000 pending
// deadlines: the heap's slots plus the Entry each owner embeds (the owners'
// own memory is left out, as a session exists anyway).
func BenchmarkHundredThousandDeadlines(b *testing.B) {
	const n = 100_000
	var perDeadline float64
	for b.Loop() {
		owners := make([]benchOwner, n)
		before := heapInUse()
		s := timers.New(clock.NewFake(time.Unix(0, 0)))
		for i := range owners {
			owners[i].e.Init(&owners[i])
			s.Schedule(&owners[i].e, time.Unix(int64(i*7919%n), 0))
		}
		after := heapInUse()
		perDeadline = float64(after-before)/n + float64(unsafe.Sizeof(timers.Entry{}))
		if s.Len() != n {
			b.Fatal("not all scheduled")
		}
		runtime.KeepAlive(owners)
	}
	b.ReportMetric(perDeadline, "B/deadline")
	b.ReportMetric(perDeadline*n/(1<<20), "MiB/100k")
}

// BenchmarkExpire measures one expiry and its re-scheduling with 100,000
// deadlines pending (fake clock: the cost of the heap and the dispatch).
func BenchmarkExpire(b *testing.B) {
	const n = 100_000
	fake := clock.NewFake(time.Unix(0, 0))
	s := timers.New(fake)
	owners := make([]benchOwner, n)
	for i := range owners {
		owners[i] = benchOwner{s: s, d: n * time.Millisecond}
		owners[i].e.Init(&owners[i])
		s.Schedule(&owners[i].e, time.Unix(0, 0).Add(time.Duration(i+1)*time.Millisecond))
	}
	b.ResetTimer()
	before := s.Fired()
	for b.Loop() {
		fake.Advance(time.Millisecond) // one owner falls due per millisecond
	}
	if s.Fired()-before < uint64(b.N) {
		b.Fatalf("%d expiries for %d advances", s.Fired()-before, b.N)
	}
}
