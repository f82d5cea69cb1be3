package store

import (
	"testing"
	"time"
)

func TestHistBuckets(t *testing.T) {
	for _, tc := range []struct{ v, le uint64 }{
		{0, 0}, {1, 1}, {7, 7}, {8, 8}, {9, 9}, {15, 15}, {16, 17}, {17, 17}, {18, 19},
		{1000, 1023}, {1 << 40, 1<<40 + 1<<37 - 1}, {^uint64(0), ^uint64(0)},
	} {
		i := histIndex(tc.v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("index of %d = %d, out of range", tc.v, i)
		}
		if got := histUpper(i); got != tc.le {
			t.Errorf("value %d: bucket upper bound %d, want %d", tc.v, got, tc.le)
		}
		if i > 0 && histUpper(i-1) >= tc.v {
			t.Errorf("value %d also fits the bucket below (upper %d)", tc.v, histUpper(i-1))
		}
	}
}

func TestHistSnapshotDifference(t *testing.T) {
	var h Hist
	for range 90 {
		h.RecordDuration(time.Millisecond)
	}
	before := h.Snapshot()
	for range 99 {
		h.Record(10)
	}
	h.Record(5000)
	d := h.Snapshot().Sub(before)
	if d.Count() != 100 || d.Sum != 99*10+5000 {
		t.Fatalf("difference holds %d values summing %d, want 100 and %d", d.Count(), d.Sum, 99*10+5000)
	}
	if q := d.Quantile(0.5); q != 10 {
		t.Errorf("p50 = %d, want 10 (exact below 16)", q)
	}
	if q := d.Quantile(0.99); q != 10 {
		t.Errorf("p99 = %d, want 10", q)
	}
	if m := d.Max(); m < 5000 || m > 5000*9/8 {
		t.Errorf("max = %d, want the bucket of 5000", m)
	}
	if (HistSnapshot{}).Quantile(0.99) != 0 {
		t.Error("an empty histogram has a quantile")
	}
	var sum WriterStats
	sum.Add(WriterStats{Batches: 2, BatchSize: d})
	sum.Add(WriterStats{Batches: 3, BatchSize: d})
	if sum.Shards != 2 || sum.Batches != 5 || sum.BatchSize.Count() != 200 || sum.BatchSize.Quantile(0.5) != 10 {
		t.Errorf("sum of two shards: %+v", sum)
	}
}
