package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/storestats"
	"github.com/confab/confab/internal/store"
)

func TestParseProcIO(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want procIO
	}{
		{"linux", "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 3\nread_bytes: 0\n", procIO{Reads: 10, Writes: 3, OK: true}},
		{"no syscw", "rchar: 1\nsyscr: 10\n", procIO{Reads: 10}},
		{"garbage", "syscr: x\nsyscw\n", procIO{}},
		{"empty", "", procIO{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseProcIO([]byte(tc.in)); got != tc.want {
				t.Errorf("parseProcIO(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// TestGenPoint derives one second of the generator's runtime from two
// cumulative readings.
func TestGenPoint(t *testing.T) {
	hist := func(bs ...store.Bucket) store.HistSnapshot {
		h := store.HistSnapshot{Buckets: bs}
		for _, b := range bs {
			h.Sum += b.Le * b.N
		}
		return h
	}
	a := genMark{cpu: 10, sys: 4, vcsw: 100, ivcs: 10, io: procIO{Reads: 100, Writes: 50, OK: true},
		gc: storestats.GC{Cycles: 3, CPUSeconds: 3, GCCPUSeconds: 1, AssistCPUSeconds: 0.5, Goroutines: 10,
			RunnableMicros: hist(store.Bucket{Le: 10, N: 100}), PauseMicros: hist(store.Bucket{Le: 100, N: 3})}}
	b := genMark{cpu: 10.5, sys: 4.2, vcsw: 400, ivcs: 60, io: procIO{Reads: 1100, Writes: 350, OK: true},
		gc: storestats.GC{Cycles: 4, CPUSeconds: 3.5, GCCPUSeconds: 1.02, AssistCPUSeconds: 0.505, Goroutines: 7000, HeapLiveBytes: 1 << 20,
			RunnableMicros: hist(store.Bucket{Le: 10, N: 198}, store.Bucket{Le: 40000, N: 2}),
			PauseMicros:    hist(store.Bucket{Le: 100, N: 3}, store.Bucket{Le: 700, N: 1})}}
	got := genPoint(a, b, 0.5)
	want := GenPoint{CPUPct: 100, SystemPct: 40, GCCycles: 1, GCCPUMs: 20, AssistCPUMs: 5, GCPauseMaxMs: 0.7,
		RunnableP50Ms: 0.01, RunnableP99Ms: 40, RunnableMaxMs: 40, Goroutines: 7000, HeapLiveBytes: 1 << 20, Reads: 2000, Writes: 600,
		Voluntary: 600, Involuntary: 100}
	if got != want {
		t.Errorf("genPoint =\n %+v, want\n %+v", got, want)
	}
	// Without /proc/self/io there are no syscall rates, the rest stays.
	a.io = procIO{}
	if got := genPoint(a, b, 1); got.Reads != 0 || got.Writes != 0 || got.GCCycles != 1 {
		t.Errorf("without io: %+v", got)
	}
	tot := genSpan(genMark{io: procIO{Reads: 1, Writes: 1, OK: true}}, b)
	r := &Result{GeneratorCPUSeconds: 2, MessagesDelivered: 900, SessionsCreated: 100}
	r.setGenerator(tot)
	r.generatorPerSession()
	if r.GeneratorReadSyscalls != 1099 || r.GeneratorWriteSyscalls != 349 || r.GeneratorCPUMicrosPerSession != 20000 ||
		r.GeneratorSyscallsPerSession != 14.5 || r.GeneratorRunnableMaxMs != 40 {
		t.Errorf("totals: %+v", r)
	}
	line := r.generatorRuntime()
	for _, w := range []string{"GC 1.02 s of CPU, 29% of the generator's", "max 40.00 ms", "1099 reads + 349 writes (1.61 per delivered message, 14.5 per session)", "context switches 400 voluntary, 60 involuntary", "CPU 20000 µs per session"} {
		if !strings.Contains(line, w) {
			t.Errorf("%q lacks %q", line, w)
		}
	}
}

// TestSamplerGenerator checks that the sampler's seconds carry this
// process's own figures: its goroutines and its read system calls.
func TestSamplerGenerator(t *testing.T) {
	m := NewMetrics()
	s := newSampler(m, NewTracker(m.start, filler, m.RecordLatency), nil)
	if !readProcIO("/proc/self/io").OK {
		t.Skip("no /proc/self/io")
	}
	time.Sleep(10 * time.Millisecond) // a span for the rates (not asserted)
	for range 5 {
		readProcIO("/proc/self/io") // read system calls of this process
	}
	smp := s.take()
	if smp.Gen.Goroutines == 0 || smp.Gen.Reads <= 0 {
		t.Errorf("generator point %+v: want goroutines and reads", smp.Gen)
	}
	var b bytes.Buffer
	r := &Result{Series: []Sample{smp}}
	r.WriteTimeline(&b)
	if !strings.Contains(b.String(), "generator timeline") {
		t.Errorf("timeline output lacks the generator's:\n%s", b.String())
	}
}
