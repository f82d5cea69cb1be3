package bench

import (
	"fmt"
	"math"
)

// stallCause describes the run's worst second of delivery latency with
// what the server's timeline says about it: how long its goroutines waited
// runnable for a CPU, the store writer's flush time and load, whether a GC
// cycle ended, and the server's CPU. It names the likelier cause when one
// stands out: goroutines that waited runnable for at least a fifth of the
// second's p99 (the server short of CPU, whatever it was waiting for), or
// else a flush p99 of at least half of it (the store's commits). It is
// empty without a series or a timeline point for that second.
func stallCause(r *Result) string {
	w := -1
	for i, s := range r.Series {
		if w < 0 || s.LatencyP99Ms > r.Series[w].LatencyP99Ms {
			w = i
		}
	}
	if w < 0 || r.Series[w].LatencyP99Ms <= 0 {
		return ""
	}
	s := r.Series[w]
	p := -1
	for i, q := range r.StoreTimeline {
		if d := math.Abs(q.T - s.T); d <= 1 && (p < 0 || d < math.Abs(r.StoreTimeline[p].T-s.T)) {
			p = i
		}
	}
	if p < 0 {
		return ""
	}
	q := r.StoreTimeline[p]
	gc := "no GC cycle ended"
	if q.GCCycles > 0 {
		gc = fmt.Sprintf("a GC cycle ended (%.0f ms of GC CPU)", q.GCCPUMs)
	}
	out := fmt.Sprintf("worst second t=%.0fs: p99 %.1f ms, server CPU %.0f%%, goroutines waited runnable p99 %.1f ms (max %.1f), store flush p99 %.1f ms (writer busy %.0f%%, %.0f commits/s), %s",
		s.T, s.LatencyP99Ms, s.ServerCPU, q.RunnableP99Ms, q.RunnableMaxMs, q.FlushP99Ms, q.Busy*100, q.Batches, gc)
	switch {
	case q.RunnableP99Ms >= s.LatencyP99Ms/5:
		out += ": the server was short of CPU"
	case q.FlushP99Ms >= s.LatencyP99Ms/2:
		out += ": the store's commits"
	}
	return out
}
