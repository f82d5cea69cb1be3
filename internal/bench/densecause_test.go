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
	if got := stallCause(&Result{Series: series, StoreTimeline: []StorePoint{{T: 5}}}); got != "" {
		t.Errorf("no timeline point near the worst second: %q", got)
	}
	r := &Result{Scenario: "dense", Series: series, StoreTimeline: []StorePoint{{T: 2, RunnableP99Ms: 200}},
		LatencySamples: 10, Latency: Percentiles{P99: 600}}
	if g := r.perGoalChecks()[0]; g.Met || !strings.Contains(g.Got, "600.0 ms; worst second t=2s") {
		t.Errorf("dense p99 goal: %+v", g)
	}
}
