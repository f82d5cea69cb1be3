package bench

import "fmt"

// The reference Chat Server's sizing guide, per instance on two CPUs.
const (
	refConcurrent     = 1000  // concurrent sessions, realistic scenario
	refMsgPerSec      = 50    // messages per second (rare peaks 150)
	refOpenClosePerS  = 10    // sessions opened and closed per second (peaks 30)
	refAllActive      = 1500  // all-active sessions in its stress test
	refMostlyDormant  = 39000 // concurrent sessions with 1 in 50 active
	goalRSSAsyncBytes = 2 << 30
)

// judgeGoal compares the result with the goal for its scenario and
// with the reference's sizing. A goal is for the documented size; a smaller
// run reports its misses all the same.
func (r *Result) judgeGoal() {
	miss := func(format string, args ...any) { r.GoalMisses = append(r.GoalMisses, fmt.Sprintf(format, args...)) }
	switch r.Scenario {
	case "dense":
		r.Goal = "≥10,000 concurrent sessions with push customers, p99 < 100 ms, zero errors, zero lost or duplicated"
		if r.ConcurrentSessionsMax < 10000 {
			miss("concurrent sessions %d < 10,000", r.ConcurrentSessionsMax)
		}
		if r.Latency.P99 >= goalDenseP99Ms {
			miss("p99 %.1f ms ≥ 100 ms", r.Latency.P99)
		}
		if r.Customers != ModeWS {
			miss("customers %s, not push (ws)", r.Customers)
		}
		r.RefRatio = ratio(float64(r.ConcurrentSessionsMax), refConcurrent)
		r.RefRatioOf = "concurrent sessions / 1,000"
	case "async":
		r.Goal = "≥100,000 concurrent sessions (2,000 active), server RSS < 2 GiB"
		if r.ConcurrentSessionsMax < 100000 {
			miss("concurrent sessions %d < 100,000", r.ConcurrentSessionsMax)
		}
		if a, _ := r.Extra["sessions_active"].(int64); a < 2000 {
			miss("active sessions %d < 2,000", a)
		}
		if r.ServerRSSPeakBytes >= goalRSSAsyncBytes {
			miss("server RSS peak %s ≥ 2 GiB", mib(r.ServerRSSPeakBytes))
		}
		r.RefRatio = ratio(float64(r.ConcurrentSessionsMax), refMostlyDormant)
		r.RefRatioOf = "concurrent sessions (1 in 50 active) / 39,000"
	case "churn":
		r.Goal = "≥500 sessions opened and closed per second for 60 s, with their records in the store"
		if r.SessionsClosedPerSec < 500 {
			miss("%.1f sessions closed per second < 500", r.SessionsClosedPerSec)
		}
		if r.DurationOption < 60 {
			miss("ran %.0f s < 60 s", r.DurationOption)
		}
		r.RefRatio = ratio(r.SessionsClosedPerSec, refOpenClosePerS)
		r.RefRatioOf = "sessions opened and closed per second / 10"
	case "throughput":
		r.Goal = "≥20,000 messages per second delivered end to end"
		if r.MessagesDeliveredPerSec < goalThroughputPerSec {
			miss("%.0f messages delivered per second < 20,000", r.MessagesDeliveredPerSec)
		}
		if r.AutoSave != "" && r.AutoSave != "1" {
			miss("transcript-auto-save %s: the goal is for durable messages (auto-save 1)", r.AutoSave)
		}
		r.RefRatio = ratio(r.MessagesDeliveredPerSec, refMsgPerSec)
		r.RefRatioOf = "messages per second / 50"
	case "cometd":
		r.Goal = "10,000 CometD clients (websocket and long-polling) held by one node, zero errors, zero lost or duplicated"
		if r.ConcurrentSessionsMax < 10000 {
			miss("concurrent CometD clients %d < 10,000", r.ConcurrentSessionsMax)
		}
		r.RefRatio = ratio(float64(r.ConcurrentSessionsMax), refConcurrent)
		r.RefRatioOf = "concurrent sessions / 1,000"
	case "abuse":
		r.Goal = "well-behaved customers: 0 errors and p99 at most 2× the baseline while the floods run"
		if ratio, ok := r.Extra["p99_ratio"].(float64); ok && ratio > 2 {
			miss("p99 ratio %.1f > 2", ratio)
		}
	}
	if r.ErrorsTotal > 0 {
		miss("%d errors", r.ErrorsTotal)
	}
	if !r.Pass {
		miss("the run failed its checks (see failures)")
	}
	r.Goals = r.perGoalChecks()
	r.GoalMet = len(r.GoalMisses) == 0
}

func ratio(v, ref float64) float64 { return round1(v / ref) }
