package bench

import (
	"slices"
	"testing"
)

func TestPairInterval(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ratios    []float64
		ok        bool
		low, high float64
		verdict   string
	}{
		{"one round has no spread", []float64{0.9}, false, 0, 0, ""},
		{"tight above the goal", []float64{0.85, 0.86, 0.84}, true, 0.825, 0.875, "met beyond the rounds' noise"},
		{"tight below the goal", []float64{0.70, 0.72, 0.71}, true, 0.685, 0.735, "missed beyond the rounds' noise"},
		{"wide across the goal", []float64{0.8, 0.9}, true, 0.215, 1.485, "not settled by these rounds"},
		// Past the t table: the normal quantile, 1.96 × 0.1/√32 ≈ 0.035.
		{"many rounds", append(slices.Repeat([]float64{0.7}, 16), slices.Repeat([]float64{0.9}, 16)...), true, 0.765, 0.835, "not settled by these rounds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iv, ok := pairInterval(tc.ratios)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if iv.Low != tc.low || iv.High != tc.high || iv.Rounds != len(tc.ratios) {
				t.Errorf("interval %.3f–%.3f over %d, want %.3f–%.3f over %d", iv.Low, iv.High, iv.Rounds, tc.low, tc.high, len(tc.ratios))
			}
			if got := iv.verdict(goalDurableRatio); got != tc.verdict {
				t.Errorf("verdict %q, want %q", got, tc.verdict)
			}
		})
	}
}
