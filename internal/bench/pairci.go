package bench

import (
	"fmt"
	"math"
)

// The rounds of a comparison are pairs of runs, and each pair's ratio
// (durable over in-memory delivered per second) moves by several points
// from one pair to the next on a shared machine. ratioInterval says how far
// the mean of those ratios can be trusted: the two-sided 95% confidence
// interval of the mean by Student's t, and what it says of the goal.

// ratioInterval is the 95% interval of the mean of the per-round ratios.
type ratioInterval struct {
	Mean, Low, High float64
	Rounds          int
}

// pairInterval is the interval of rs's mean; false for fewer than two
// ratios, which have no spread to estimate.
func pairInterval(rs []float64) (ratioInterval, bool) {
	n := len(rs)
	if n < 2 {
		return ratioInterval{}, false
	}
	m := mean(rs)
	ss := 0.0
	for _, r := range rs {
		ss += (r - m) * (r - m)
	}
	half := t95(n-1) * math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	return ratioInterval{Mean: round3(m), Low: round3(m - half), High: round3(m + half), Rounds: n}, true
}

// t95 is Student's t for a two-sided 95% interval with df degrees of
// freedom (df ≥ 1); past the table, the normal distribution's 1.96.
func t95(df int) float64 {
	table := [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	return 1.960
}

// verdict says whether the interval lies above goal, below it, or across it.
func (iv ratioInterval) verdict(goal float64) string {
	switch {
	case iv.Low >= goal:
		return "met beyond the rounds' noise"
	case iv.High < goal:
		return "missed beyond the rounds' noise"
	}
	return "not settled by these rounds"
}

// line describes the interval and its verdict on goal.
func (iv ratioInterval) line(goal float64) string {
	return fmt.Sprintf("mean of the rounds' ratios %.3f, 95%% interval %.3f–%.3f (Student's t, %d rounds): the %.0f%% goal is %s",
		iv.Mean, iv.Low, iv.High, iv.Rounds, goal*100, iv.verdict(goal))
}
