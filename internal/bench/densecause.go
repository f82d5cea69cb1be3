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
	g := s.Gen
	out += fmt.Sprintf("; generator CPU %.0f%%, its goroutines waited runnable p99 %.1f ms (max %.1f)", g.CPUPct, g.RunnableP99Ms, g.RunnableMaxMs)
	if g.GCCycles > 0 {
		out += fmt.Sprintf(", its GC %.0f ms of CPU", g.GCCPUMs)
	}
	genLate, srvLate := g.RunnableP99Ms >= s.LatencyP99Ms/5, q.RunnableP99Ms >= s.LatencyP99Ms/5
	switch {
	case genLate && srvLate:
		out += ": the machine was short of CPU (server and generator both waited for it)"
	case genLate:
		out += ": the generator was short of CPU (its reads were late, not the server's deliveries)"
	case srvLate:
		out += ": the server was short of CPU"
	case q.FlushP99Ms >= s.LatencyP99Ms/2:
		out += ": the store's commits"
	}
	return out
}

// LateSeconds sorts the run's seconds whose delivery p99 reached the dense
// goal's bound (100 ms) by whose goroutines waited for a CPU then: the
// generator's (Sample.Gen: the message was read late), the server's (its
// timeline's runnable p99), both, or neither (the wait was elsewhere: the
// store, the network path), with the same fifth-of-the-p99 rule as
// stallCause. Seconds without a server timeline point count as the
// server's unknown and are left out of Server and Both.
type LateSeconds struct {
	BoundMs   float64 `json:"bound_ms"`
	Seconds   int     `json:"seconds"`
	Generator int     `json:"generator_short_of_cpu"`
	Server    int     `json:"server_short_of_cpu"`
	Both      int     `json:"both_short_of_cpu"`
	Neither   int     `json:"neither"`
}

// lateSeconds classifies the seconds of r whose p99 is at least boundMs.
func lateSeconds(r *Result, boundMs float64) LateSeconds {
	l := LateSeconds{BoundMs: boundMs}
	for _, s := range r.Series {
		if s.LatencyP99Ms < boundMs {
			continue
		}
		l.Seconds++
		srv := false
		for _, q := range r.StoreTimeline {
			if math.Abs(q.T-s.T) <= 0.5 {
				srv = q.RunnableP99Ms >= s.LatencyP99Ms/5
				break
			}
		}
		gen := s.Gen.RunnableP99Ms >= s.LatencyP99Ms/5
		switch {
		case gen && srv:
			l.Both++
		case gen:
			l.Generator++
		case srv:
			l.Server++
		default:
			l.Neither++
		}
	}
	return l
}

func (l LateSeconds) String() string {
	return fmt.Sprintf("seconds with delivery p99 ≥ %.0f ms: %d; goroutines waited runnable at least a fifth of that p99 in the generator only (late reads) %d, the server only %d, both %d, neither %d",
		l.BoundMs, l.Seconds, l.Generator, l.Server, l.Both, l.Neither)
}
