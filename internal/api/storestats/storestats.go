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
	// HeapLiveBytes is the heap the last GC cycle found reachable, and
	// ScanHeapBytes and ScanStackBytes what the next cycle will have to scan
	// of the heap and of the goroutines' stacks: the mark work that grows
	// with what the server keeps per session.
	HeapLiveBytes  uint64 `json:"heap_live_bytes,omitempty"`
	ScanHeapBytes  uint64 `json:"scan_heap_bytes,omitempty"`
	ScanStackBytes uint64 `json:"scan_stack_bytes,omitempty"`
	// CPU time the process's Ps were not idle (the runtime's estimate: time
	// on a P, which includes time the OS took the thread away), of the GC in all
	// (background marking, assists, pauses, idle marking) and of the
	// assists alone (goroutines made to mark while they allocate), in
	// seconds. The runtime brings them up to date at the end of each GC
	// cycle, so a difference covers the time since the previous cycle: it
	// tells how much the GC took from the server's work.
	CPUSeconds       float64 `json:"cpu_s,omitempty"`
	GCCPUSeconds     float64 `json:"gc_cpu_s,omitempty"`
	AssistCPUSeconds float64 `json:"assist_cpu_s,omitempty"`
	// RunnableMicros is how long goroutines waited runnable for a P before
	// they ran (the runtime samples it): long waits with a modest CPU use
	// mean the process is short of CPU (other processes, GC), not of work.
	RunnableMicros store.HistSnapshot `json:"runnable_us"`
	Goroutines     uint64             `json:"goroutines,omitempty"`
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

var gcMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/sched/pauses/total/gc:seconds",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
	"/gc/scan/heap:bytes",
	"/gc/scan/stack:bytes",
	"/cpu/classes/total:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/sched/latencies:seconds",
	"/sched/goroutines:goroutines",
}

func readGC() GC {
	samples := make([]metrics.Sample, len(gcMetrics))
	for i, n := range gcMetrics {
		samples[i].Name = n
	}
	metrics.Read(samples)
	var g GC
	for _, s := range samples {
		switch s.Name {
		case "/gc/cycles/total:gc-cycles":
			g.Cycles = uint64Of(s)
		case "/memory/classes/heap/objects:bytes":
			g.HeapBytes = uint64Of(s)
		case "/gc/heap/live:bytes":
			g.HeapLiveBytes = uint64Of(s)
		case "/gc/scan/heap:bytes":
			g.ScanHeapBytes = uint64Of(s)
		case "/gc/scan/stack:bytes":
			g.ScanStackBytes = uint64Of(s)
		case "/sched/goroutines:goroutines":
			g.Goroutines = uint64Of(s)
		case "/cpu/classes/total:cpu-seconds":
			g.CPUSeconds += float64Of(s) // GOMAXPROCS × the time since start…
		case "/cpu/classes/idle:cpu-seconds":
			g.CPUSeconds -= float64Of(s) // …less the idle Ps' time
		case "/cpu/classes/gc/total:cpu-seconds":
			g.GCCPUSeconds = float64Of(s)
		case "/cpu/classes/gc/mark/assist:cpu-seconds":
			g.AssistCPUSeconds = float64Of(s)
		case "/sched/pauses/total/gc:seconds":
			if s.Value.Kind() == metrics.KindFloat64Histogram {
				g.PauseMicros = fromSeconds(s.Value.Float64Histogram())
			}
		case "/sched/latencies:seconds":
			if s.Value.Kind() == metrics.KindFloat64Histogram {
				g.RunnableMicros = fromSeconds(s.Value.Float64Histogram())
			}
		}
	}
	return g
}

// uint64Of and float64Of read a sample, 0 if the runtime does not know it.
func uint64Of(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

func float64Of(s metrics.Sample) float64 {
	if s.Value.Kind() == metrics.KindFloat64 {
		return s.Value.Float64()
	}
	return 0
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
