package bench

import (
	"strings"
	"testing"
)

// TestStallCause names the worst second of a dense run with the server's
// timeline for it, and the likelier cause when one stands out.
func TestStallCause(t *testing.T) {
	series := []Sample{{T: 1, LatencyP99Ms: 8}, {T: 2, LatencyP99Ms: 600, ServerCPU: 40}, {T: 3, LatencyP99Ms: 20}}
	for _, tc := range []struct {
		name  string
		point StorePoint
		want  []string
		not   string
	}{
		{"short of CPU", StorePoint{T: 2.1, RunnableP99Ms: 150, RunnableMaxMs: 300, FlushP99Ms: 400, Busy: 0.9, Batches: 80, GCCycles: 1, GCCPUMs: 700},
			[]string{"worst second t=2s: p99 600.0 ms", "runnable p99 150.0 ms (max 300.0)", "a GC cycle ended (700 ms of GC CPU)", ": the server was short of CPU"}, "store's commits"},
		{"the store", StorePoint{T: 1.9, RunnableP99Ms: 2, FlushP99Ms: 450, Busy: 1, Batches: 4},
			[]string{"store flush p99 450.0 ms (writer busy 100%, 4 commits/s)", "no GC cycle ended", ": the store's commits"}, "short of CPU"},
		{"neither stands out", StorePoint{T: 2, RunnableP99Ms: 10, FlushP99Ms: 50},
			[]string{"worst second t=2s"}, ": the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{Series: series, StoreTimeline: []StorePoint{{T: 1}, tc.point, {T: 3.2}}}
			got := stallCause(r)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			if strings.Contains(got, tc.not) {
				t.Errorf("%q has %q", got, tc.not)
			}
		})
	}
	// The generator's own figures for the worst second tell its late reads
	// apart from the server's late deliveries.
	gen := func(g GenPoint) []Sample {
		out := append([]Sample(nil), series...)
		out[1].Gen = g
		return out
	}
	for _, tc := range []struct {
		name   string
		gen    GenPoint
		server StorePoint
		want   []string
		not    string
	}{
		{"the generator read late", GenPoint{CPUPct: 95, RunnableP99Ms: 200, RunnableMaxMs: 410, GCCycles: 1, GCCPUMs: 90}, StorePoint{T: 2, RunnableP99Ms: 3},
			[]string{"generator CPU 95%, its goroutines waited runnable p99 200.0 ms (max 410.0), its GC 90 ms of CPU", ": the generator was short of CPU"}, "server was short"},
		{"both waited", GenPoint{RunnableP99Ms: 130}, StorePoint{T: 2, RunnableP99Ms: 140},
			[]string{": the machine was short of CPU"}, "generator was short"},
		{"the generator in time", GenPoint{RunnableP99Ms: 1}, StorePoint{T: 2, RunnableP99Ms: 150},
			[]string{"runnable p99 1.0 ms", ": the server was short of CPU"}, "its GC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stallCause(&Result{Series: gen(tc.gen), StoreTimeline: []StorePoint{tc.server}})
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			if strings.Contains(got, tc.not) {
				t.Errorf("%q has %q", got, tc.not)
			}
		})
	}
	if got := stallCause(&Result{Series: series, StoreTimeline: []StorePoint{{T: 5}}}); got != "" {
		t.Errorf("no timeline point near the worst second: %q", got)
	}
	r := &Result{Scenario: "dense", Series: series, StoreTimeline: []StorePoint{{T: 2, RunnableP99Ms: 200}},
		LatencySamples: 10, Latency: Percentiles{P99: 600}}
	if g := r.perGoalChecks()[0]; g.Met || !strings.Contains(g.Got, "600.0 ms; worst second t=2s") {
		t.Errorf("dense p99 goal: %+v", g)
	}
}

// TestLateSeconds sorts the seconds over the bound by whose goroutines
// waited for a CPU.
func TestLateSeconds(t *testing.T) {
	r := &Result{
		Series: []Sample{
			{T: 1, LatencyP99Ms: 50, Gen: GenPoint{RunnableP99Ms: 40}},  // under the bound: not counted
			{T: 2, LatencyP99Ms: 200, Gen: GenPoint{RunnableP99Ms: 60}}, // the generator
			{T: 3, LatencyP99Ms: 300, Gen: GenPoint{RunnableP99Ms: 1}},  // the server
			{T: 4, LatencyP99Ms: 100, Gen: GenPoint{RunnableP99Ms: 20}}, // both (at the bound)
			{T: 5, LatencyP99Ms: 400, Gen: GenPoint{RunnableP99Ms: 2}},  // neither: the store
			{T: 6, LatencyP99Ms: 150, Gen: GenPoint{RunnableP99Ms: 1}},  // no server point: neither
		},
		StoreTimeline: []StorePoint{{T: 1.1, RunnableP99Ms: 30}, {T: 2.1, RunnableP99Ms: 2}, {T: 3, RunnableP99Ms: 70},
			{T: 3.9, RunnableP99Ms: 25}, {T: 5, RunnableP99Ms: 3, FlushP99Ms: 380}},
	}
	got := lateSeconds(r, 100)
	want := LateSeconds{BoundMs: 100, Seconds: 5, Generator: 1, Server: 1, Both: 1, Neither: 2}
	if got != want {
		t.Errorf("lateSeconds = %+v, want %+v", got, want)
	}
	if s := got.String(); !strings.Contains(s, "p99 ≥ 100 ms: 5;") || !strings.Contains(s, "(late reads) 1, the server only 1, both 1, neither 2") {
		t.Errorf("String = %q", s)
	}
}
