package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histSubBits sets the histogram's precision: values below 2^histSubBits are
// counted exactly, larger ones in buckets at most 1/2^(histSubBits-1) of
// their value wide (0.8% with 8), like an HDR histogram with two significant
// digits.
const (
	histSubBits = 8
	histSub     = 1 << histSubBits // exact range and first group
	histHalf    = histSub / 2      // sub-buckets per later group
	histGroups  = 63 - histSubBits // groups above the exact range (int64 values)
	histBuckets = histSub + histGroups*histHalf
)

// Histogram is a log-linear histogram of non-negative int64 values
// (nanoseconds here), safe for concurrent Record calls: every counter is
// updated atomically, so recording takes no lock. Reads (Quantile, Max,
// Count) may run concurrently with Record and see a consistent-enough
// picture: each counter is exact, their sum may lag by the records in flight.
// The zero value is ready to use.
type Histogram struct {
	counts [histBuckets]atomic.Int64
	total  atomic.Int64
	max    atomic.Int64
	min    atomic.Int64 // stored as value+1 so that zero means "none yet"
	sum    atomic.Int64
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v int64) int {
	u := uint64(v)
	if u < histSub {
		return int(u)
	}
	g := bits.Len64(u) - histSubBits // 1.. for u >= histSub
	return histSub + (g-1)*histHalf + int(u>>uint(g)) - histHalf
}

// bucketRange returns the smallest and largest value bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < histSub {
		return int64(i), int64(i)
	}
	g := (i-histSub)/histHalf + 1
	m := uint64((i-histSub)%histHalf + histHalf)
	lo64 := m << uint(g)
	hi64 := lo64 + (uint64(1) << uint(g)) - 1
	if hi64 > math.MaxInt64 || hi64 < lo64 {
		hi64 = math.MaxInt64
	}
	return int64(lo64), int64(hi64)
}

// Record adds one value; negative values count as zero.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if (m != 0 && v+1 >= m) || h.min.CompareAndSwap(m, v+1) {
			break
		}
	}
}

// RecordDuration records d in nanoseconds.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 { return h.total.Load() }

// Max returns the largest value recorded, 0 when empty.
func (h *Histogram) Max() int64 { return h.max.Load() }

// Min returns the smallest value recorded, 0 when empty.
func (h *Histogram) Min() int64 {
	if m := h.min.Load(); m > 0 {
		return m - 1
	}
	return 0
}

// Mean returns the mean of the values recorded, 0 when empty.
func (h *Histogram) Mean() float64 {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

// Quantile returns a value v such that at least q (0..1) of the recorded
// values are <= v, with the histogram's precision: the highest value of the
// bucket the quantile falls in, but never above Max. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	if n == 0 {
		return 0
	}
	if q <= 0 {
		return h.Min()
	}
	if q > 1 {
		q = 1
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	max := h.max.Load()
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			_, hi := bucketRange(i)
			if hi > max {
				hi = max
			}
			return hi
		}
	}
	return max
}

// Merge adds every value of o into h. o should not be recorded into
// meanwhile if an exact merge matters.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
	if m := o.min.Load(); m != 0 && (h.min.Load() == 0 || m < h.min.Load()) {
		h.min.Store(m)
	}
}

// Reset empties h. Records racing with Reset may be lost or half counted;
// callers swap histograms instead when that matters.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
	h.min.Store(0)
}

// Percentiles are the summary the reports print, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Summary returns h's percentiles, reading its values as nanoseconds.
func (h *Histogram) Summary() Percentiles {
	ms := func(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }
	return Percentiles{
		P50: ms(h.Quantile(0.50)),
		P95: ms(h.Quantile(0.95)),
		P99: ms(h.Quantile(0.99)),
		Max: ms(h.Max()),
	}
}
