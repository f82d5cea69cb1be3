package storestats

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"runtime/metrics"
	"time"

	"github.com/confab/confab/internal/store"
)

// Path is where the handler is mounted.
const Path = "GET /debug/store"

// Snapshot is the document served: the store's counters and the runtime's.
type Snapshot struct {
	// Time is when it was taken, Unix milliseconds.
	Time int64 `json:"time_ms"`
	// Store is nil when the store reports nothing; StoreError says why.
	Store      *store.WriterStats `json:"store,omitempty"`
	StoreError string             `json:"store_error,omitempty"`
	GC         GC                 `json:"gc"`
}

// GC are the garbage collector's cumulative figures.
type GC struct {
	Cycles uint64 `json:"cycles"`
	// PauseMicros are the stop-the-world pauses for GC (µs, upper bounds
	// of the runtime's buckets; Sum is an upper bound too).
	PauseMicros store.HistSnapshot `json:"pause_us"`
	HeapBytes   uint64             `json:"heap_bytes"`
}

// Handler serves the snapshot.
type Handler struct {
	st store.StatsSource // nil: the store does not report
}

// New returns the handler for st, which may not report stats (then only
// the runtime's figures are served).
func New(st store.Store) *Handler {
	h := &Handler{}
	if s, ok := st.(store.StatsSource); ok {
		h.st = s
	}
	return h
}

// Register mounts the handler.
func (h *Handler) Register(mux *http.ServeMux) { mux.Handle(Path, h) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	snap := Take(ctx, h.st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(snap)
}

// Take reads the counters now; st may be nil.
func Take(ctx context.Context, st store.StatsSource) Snapshot {
	snap := Snapshot{Time: time.Now().UnixMilli(), GC: readGC()}
	if st == nil {
		snap.StoreError = "the store reports no statistics"
		return snap
	}
	ws, err := st.WriterStats(ctx)
	if err != nil {
		snap.StoreError = err.Error()
		return snap
	}
	snap.Store = &ws
	return snap
}

var gcMetrics = []string{"/gc/cycles/total:gc-cycles", "/sched/pauses/total/gc:seconds", "/memory/classes/heap/objects:bytes"}

func readGC() GC {
	samples := make([]metrics.Sample, len(gcMetrics))
	for i, n := range gcMetrics {
		samples[i].Name = n
	}
	metrics.Read(samples)
	var g GC
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			if s.Name == gcMetrics[0] {
				g.Cycles = s.Value.Uint64()
			} else {
				g.HeapBytes = s.Value.Uint64()
			}
		case metrics.KindFloat64Histogram:
			g.PauseMicros = fromSeconds(s.Value.Float64Histogram())
		}
	}
	return g
}

// fromSeconds converts a runtime histogram of seconds into microsecond
// buckets, each labelled with its upper bound (rounded up).
func fromSeconds(h *metrics.Float64Histogram) store.HistSnapshot {
	var out store.HistSnapshot
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		up := h.Buckets[i+1]
		if math.IsInf(up, 1) {
			up = h.Buckets[i] * 2
		}
		le := uint64(math.Ceil(up * 1e6))
		if k := len(out.Buckets); k > 0 && out.Buckets[k-1].Le == le {
			out.Buckets[k-1].N += n // sub-microsecond buckets fold together
		} else {
			out.Buckets = append(out.Buckets, store.Bucket{Le: le, N: n})
		}
		out.Sum += le * n
	}
	return out
}
