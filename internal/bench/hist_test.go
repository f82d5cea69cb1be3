package bench

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
)

func TestBucketsRoundTrip(t *testing.T) {
	// Every value lands in a bucket whose range holds it, bucket ranges are
	// contiguous, and a bucket is never wider than 1/128 of its values.
	vals := []int64{0, 1, 2, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, math.MaxInt64 / 3, math.MaxInt64}
	for _, v := range vals {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d: bucket %d range [%d,%d] does not hold it", v, i, lo, hi)
		}
		if lo >= histSub && float64(hi-lo+1)/float64(lo) > 1.0/128+1e-12 {
			t.Errorf("value %d: bucket [%d,%d] wider than 1/128", v, lo, hi)
		}
	}
	for i := 1; i < histBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	seq := func(from, to int64) []int64 {
		var out []int64
		for v := from; v <= to; v++ {
			out = append(out, v)
		}
		return out
	}
	tests := []struct {
		name   string
		values []int64
		q      float64
		want   int64 // exact answer; the histogram may be off by its precision
	}{
		{"empty", nil, 0.5, 0},
		{"one value", []int64{42}, 0.99, 42},
		{"small exact median", seq(1, 100), 0.5, 50},
		{"small exact p99", seq(1, 100), 0.99, 99},
		{"max is p100", seq(1, 100), 1, 100},
		{"q<=0 is min", seq(7, 100), 0, 7},
		{"negative counts as zero", []int64{-5, -5, 10}, 0.5, 0},
		{"large median", seq(1_000_000, 1_001_000), 0.5, 1_000_500},
		{"skewed tail", append(seq(1, 990), 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9), 0.995, 1e9},
		{"skewed body", append(seq(1, 990), 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9), 0.95, 950},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tc.values {
				h.Record(v)
			}
			got := h.Quantile(tc.q)
			tol := float64(tc.want) / 128
			if math.Abs(float64(got-tc.want)) > tol {
				t.Errorf("Quantile(%v) = %d, want %d (±%.0f)", tc.q, got, tc.want, tol)
			}
			if int64(len(tc.values)) != h.Count() {
				t.Errorf("Count = %d, want %d", h.Count(), len(tc.values))
			}
		})
	}
}

func TestHistogramAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]int64, 50_000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 2e6) // ~2 ms mean, in ns
		h.Record(vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if math.Abs(float64(got-want)) > float64(want)/128+1 {
			t.Errorf("q=%v: got %d, exact %d", q, got, want)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Errorf("min/max = %d/%d, want %d/%d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
}

func TestHistogramConcurrentAndMerge(t *testing.T) {
	var a, b Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(1); i <= 1000; i++ {
				a.Record(i)
			}
		}()
	}
	wg.Wait()
	if a.Count() != 8000 || a.Max() != 1000 || a.Min() != 1 {
		t.Fatalf("concurrent: count %d max %d min %d", a.Count(), a.Max(), a.Min())
	}
	b.Record(5000)
	b.Merge(&a)
	if b.Count() != 8001 || b.Max() != 5000 || b.Min() != 1 {
		t.Fatalf("merge: count %d max %d min %d", b.Count(), b.Max(), b.Min())
	}
	b.Reset()
	if b.Count() != 0 || b.Quantile(0.5) != 0 || b.Max() != 0 {
		t.Fatalf("reset: count %d", b.Count())
	}
}

func TestSummaryMilliseconds(t *testing.T) {
	var h Histogram
	h.Record(1_500_000) // 1.5 ms
	s := h.Summary()
	if math.Abs(s.P50-1.5) > 0.02 || s.Max != 1.5 {
		t.Fatalf("summary = %+v, want p50 ≈ 1.5 ms, max 1.5 ms", s)
	}
}
