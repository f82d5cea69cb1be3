package bench

import "fmt"

// GoalCheck is one of an issue's goals judged on a run: what was wanted,
// what the run measured, and whether that meets it. The benchmark prints
// each as met or missed; nothing in the tests asserts them.
type GoalCheck struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

func (g GoalCheck) String() string {
	word := "missed"
	if g.Met {
		word = "met"
	}
	return fmt.Sprintf("%s: %s (want %s, got %s)", word, g.Name, g.Want, g.Got)
}

// Issue 17's goals for one run, on the 2-core machine with the generator on
// the same box and transcript-auto-save=1.
const (
	goalDenseP99Ms         = 100.0
	goalThroughputPerSec   = 20000.0
	goalDurableRatio       = 0.80 // durable delivered/s over in-memory delivered/s
	goalCPURatio           = 1.5  // durable CPU per message over in-memory, at the fixed rate
	defaultCompareRatePerS = 2000.0
)

// perGoalChecks lists the per-goal checks of a single run's scenario (dense
// and throughput; the others keep their one-line goal).
func (r *Result) perGoalChecks() []GoalCheck {
	switch r.Scenario {
	case "dense":
		p99 := GoalCheck{Name: "dense p99 delivery latency", Want: fmt.Sprintf("< %.0f ms", goalDenseP99Ms),
			Got: fmt.Sprintf("%.1f ms", r.Latency.P99), Met: r.LatencySamples > 0 && r.Latency.P99 < goalDenseP99Ms}
		if cause := stallCause(r); !p99.Met && cause != "" {
			p99.Got += "; " + cause // densecause.go
		}
		return []GoalCheck{
			p99,
			{Name: "dense messages lost", Want: "0", Got: fmt.Sprint(r.Lost), Met: r.Lost == 0},
			{Name: "dense messages duplicated", Want: "0", Got: fmt.Sprint(r.Duplicated), Met: r.Duplicated == 0},
		}
	case "throughput":
		gs := []GoalCheck{{Name: "throughput delivered per second" + storeLabel(r.Store), Want: fmt.Sprintf("≥ %.0f", goalThroughputPerSec),
			Got: fmt.Sprintf("%.0f", r.MessagesDeliveredPerSec), Met: r.MessagesDeliveredPerSec >= goalThroughputPerSec}}
		if r.AutoSave != "" && r.AutoSave != "1" {
			gs[0].Name += fmt.Sprintf(" (auto-save %s: the goal is for auto-save 1)", r.AutoSave)
			gs[0].Met = false
		}
		return gs
	}
	return nil
}
