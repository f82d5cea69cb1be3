package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/confab/confab/internal/api/storestats"
)

// StorePoint is one second of the store's latency timeline, from the
// differences of two samples of the server's GET /debug/store.
type StorePoint struct {
	T float64 `json:"t"` // seconds since the run started

	Batches float64 `json:"commits_per_sec"`
	Writes  float64 `json:"writes_per_sec"`
	// Flush is a batch's time on the writer (statements and commit), Sync
	// the commit alone (WAL write and fsync); upper bounds of 12.5% wide
	// buckets.
	FlushP50Ms float64 `json:"flush_p50_ms"`
	FlushP99Ms float64 `json:"flush_p99_ms"`
	FlushMaxMs float64 `json:"flush_max_ms"`
	SyncP50Ms  float64 `json:"sync_p50_ms"`
	SyncP99Ms  float64 `json:"sync_p99_ms"`
	BatchP50   float64 `json:"batch_p50"`
	BatchP99   float64 `json:"batch_p99"`
	BatchMax   float64 `json:"batch_max"`
	// Busy is the share of the second the writer spent flushing (0–1).
	Busy    float64 `json:"writer_busy"`
	Pending int     `json:"pending"`
	// WindowWaits are the batches per second that waited in the commit
	// window, WindowMs the time they waited in the second.
	WindowWaits float64 `json:"window_waits_per_sec,omitempty"`
	WindowMs    float64 `json:"window_ms,omitempty"`

	PagesPerSec    float64 `json:"pages_written_per_sec"`
	WALBytesPerSec float64 `json:"wal_bytes_written_per_sec"`
	WALSizeBytes   int64   `json:"wal_size_bytes"`
	EventLogRows   int64   `json:"event_log_rows,omitempty"`
	// EventLogMoved is the rows the store moved out of its event log in
	// the second (SQLite: to event_cold, at most once per event).
	EventLogMoved float64 `json:"event_log_moved_per_sec,omitempty"`
	// EventLogMovedFromMemory is those packed from the events the writer
	// keeps in memory, EventLogMemoryBytes what it keeps at the second's end.
	EventLogMovedFromMemory float64 `json:"event_log_moved_from_memory_per_sec,omitempty"`
	EventLogMemoryBytes     int64   `json:"event_log_memory_bytes,omitempty"`

	Checkpoints  uint64  `json:"checkpoints"`
	CheckpointMs float64 `json:"checkpoint_ms"` // time spent checkpointing in the second
	// CatchUpMs is the part of it the writer spent on its catch-ups (SQLite),
	// when no batch commits.
	CatchUpMs       float64 `json:"catch_up_ms,omitempty"`
	CheckpointPages uint64  `json:"checkpointed_pages"`
	Checkpointing   bool    `json:"checkpointing"`

	GCCycles     uint64  `json:"gc_cycles"`
	GCPauseMaxMs float64 `json:"gc_pause_max_ms"`
	GCPauseMs    float64 `json:"gc_pause_ms"` // total (upper bound)
	HeapBytes    uint64  `json:"heap_bytes"`
	// HeapLiveBytes is the heap the last GC found reachable; ScanBytes what
	// the next GC will scan of the heap and the stacks (storestats.GC).
	HeapLiveBytes uint64 `json:"heap_live_bytes,omitempty"`
	ScanBytes     uint64 `json:"gc_scan_bytes,omitempty"`
	// GCCPUMs and AssistCPUMs are the CPU time of the GC (all of it, and
	// the assists that allocating goroutines were made to do) reported by
	// the cycles that ended in the second; GCSharePct is that GC time over
	// the process's CPU time since the previous cycle ended (0 when no
	// cycle ended). The runtime's estimates: time on a P.
	GCCPUMs     float64 `json:"gc_cpu_ms,omitempty"`
	AssistCPUMs float64 `json:"gc_assist_cpu_ms,omitempty"`
	GCSharePct  float64 `json:"gc_share_pct,omitempty"`
	// RunnableP99Ms and RunnableMaxMs are how long goroutines waited
	// runnable for a CPU before they ran (sampled by the runtime; bucket
	// upper bounds): the server short of CPU, whatever it waits for.
	RunnableP99Ms float64 `json:"runnable_p99_ms"`
	RunnableMaxMs float64 `json:"runnable_max_ms"`
	Goroutines    uint64  `json:"goroutines,omitempty"`

	// The machine in the second, read by the generator from /proc
	// (timeline_machine.go): absent where /proc has no such figures.
	Machine *MachinePoint `json:"machine,omitempty"`
}

// timeline samples the server's store statistics every second.
type timeline struct {
	url    string
	start  time.Time
	client *http.Client

	disk string // the major:minor of the temp directory's disk, "" if unknown

	mu       sync.Mutex // guards the following
	prev     *storestats.Snapshot
	prevMach machineSample
	points   []StorePoint
	note     string // why there is no timeline, if there is none
}

func newTimeline(healthURL string, start time.Time) *timeline {
	return &timeline{url: healthURL + "/debug/store", start: start, client: &http.Client{Timeout: 2 * time.Second},
		disk: diskOf(os.TempDir(), "/proc/self/mountinfo")}
}

// run samples until ctx ends; a server without the endpoint ends it at once.
func (t *timeline) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if !t.sample(ctx) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if !t.sample(ctx) {
				return
			}
		}
	}
}

// sample takes one snapshot and adds a point; false when the server has no
// statistics to give.
func (t *timeline) sample(ctx context.Context) bool {
	snap, err := t.fetch(ctx)
	mach := readMachine(t.disk, time.Now())
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil && t.prev == nil {
			t.note = err.Error()
			return false
		}
		return true // a missed second; the next point spans two
	}
	if snap.Store == nil {
		t.note = "server: " + snap.StoreError
		return false
	}
	if t.prev != nil {
		p := point(t.prev, snap, t.start)
		p.Machine = machinePoint(t.prevMach, mach)
		t.points = append(t.points, p)
	}
	t.prev, t.prevMach = snap, mach
	return true
}

func (t *timeline) fetch(ctx context.Context) (*storestats.Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s (a server without the store timeline)", t.url, resp.Status)
	}
	var snap storestats.Snapshot
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&snap); err != nil {
		return nil, fmt.Errorf("GET %s: %w", t.url, err)
	}
	return &snap, nil
}

// point derives one second from two snapshots.
func point(a, b *storestats.Snapshot, start time.Time) StorePoint {
	dt := float64(b.Time-a.Time) / 1000
	if dt <= 0 {
		dt = 1e-3
	}
	sa, sb := a.Store, b.Store
	flush := sb.FlushMicros.Sub(sa.FlushMicros)
	sync := sb.SyncMicros.Sub(sa.SyncMicros)
	batch := sb.BatchSize.Sub(sa.BatchSize)
	ckpt := sb.CheckpointMicros.Sub(sa.CheckpointMicros)
	catchUp := sb.CatchUpMicros.Sub(sa.CatchUpMicros)
	gc := b.GC.PauseMicros.Sub(a.GC.PauseMicros)
	runnable := b.GC.RunnableMicros.Sub(a.GC.RunnableMicros)
	ms := func(us uint64) float64 { return round2(float64(us) / 1000) }
	p := StorePoint{
		T:               round1(time.UnixMilli(b.Time).Sub(start).Seconds()),
		Batches:         round1(float64(sb.Batches-sa.Batches) / dt),
		Writes:          round1(float64(sb.Writes-sa.Writes) / dt),
		FlushP50Ms:      ms(flush.Quantile(0.5)),
		FlushP99Ms:      ms(flush.Quantile(0.99)),
		FlushMaxMs:      ms(flush.Max()),
		SyncP50Ms:       ms(sync.Quantile(0.5)),
		SyncP99Ms:       ms(sync.Quantile(0.99)),
		BatchP50:        float64(batch.Quantile(0.5)),
		BatchP99:        float64(batch.Quantile(0.99)),
		BatchMax:        float64(batch.Max()),
		Busy:            round2(float64(flush.Sum) / 1e6 / dt),
		Pending:         sb.Pending,
		WindowWaits:     round1(float64(sb.WindowWaits-min(sa.WindowWaits, sb.WindowWaits)) / dt),
		WindowMs:        ms(sb.WindowMicros - min(sa.WindowMicros, sb.WindowMicros)),
		PagesPerSec:     round1(float64(sb.PagesWritten-min(sa.PagesWritten, sb.PagesWritten)) / dt),
		WALSizeBytes:    sb.WALBytes,
		EventLogRows:    sb.EventLogRows,
		EventLogMoved:   round1(float64(sb.EventLogMoved-min(sa.EventLogMoved, sb.EventLogMoved)) / dt),
		Checkpoints:     sb.Checkpoints - min(sa.Checkpoints, sb.Checkpoints),
		CheckpointMs:    ms(ckpt.Sum),
		CatchUpMs:       ms(catchUp.Sum),
		CheckpointPages: sb.CheckpointedPages - min(sa.CheckpointedPages, sb.CheckpointedPages),
		Checkpointing:   sb.Checkpointing,
		GCCycles:        b.GC.Cycles - min(a.GC.Cycles, b.GC.Cycles),
		GCPauseMaxMs:    ms(gc.Max()),
		GCPauseMs:       ms(gc.Sum),
		HeapBytes:       b.GC.HeapBytes,
		HeapLiveBytes:   b.GC.HeapLiveBytes,
		ScanBytes:       b.GC.ScanHeapBytes + b.GC.ScanStackBytes,
		GCCPUMs:         round2(max(b.GC.GCCPUSeconds-a.GC.GCCPUSeconds, 0) * 1000),
		AssistCPUMs:     round2(max(b.GC.AssistCPUSeconds-a.GC.AssistCPUSeconds, 0) * 1000),
		RunnableP99Ms:   ms(runnable.Quantile(0.99)),
		RunnableMaxMs:   ms(runnable.Max()),
		Goroutines:      b.GC.Goroutines,
	}
	p.EventLogMovedFromMemory = round1(float64(sb.EventLogMovedFromMemory-min(sa.EventLogMovedFromMemory, sb.EventLogMovedFromMemory)) / dt)
	p.EventLogMemoryBytes = sb.EventLogMemoryBytes
	if cpu := b.GC.CPUSeconds - a.GC.CPUSeconds; cpu > 0 {
		p.GCSharePct = round1(p.GCCPUMs / 10 / cpu)
	}
	switch {
	case sb.WALPosition > 0:
		p.WALBytesPerSec = round1(float64(sb.WALPosition-min(sa.WALPosition, sb.WALPosition)) / dt)
	case sb.PageSize > 0:
		p.WALBytesPerSec = round1(p.PagesPerSec * float64(sb.PageSize))
	}
	return p
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// stop returns the points and, if there are none, why.
func (t *timeline) result() ([]StorePoint, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]StorePoint(nil), t.points...), t.note
}

// worstStorePoint returns the index of the second with the slowest flush
// p99, -1 if there is none.
func worstStorePoint(ps []StorePoint) int {
	w := -1
	for i, p := range ps {
		if w < 0 || p.FlushP99Ms > ps[w].FlushP99Ms {
			w = i
		}
	}
	return w
}

// WriteTimeline prints the store timeline, one line per second, then the
// generator's own (genstats.go).
func (r *Result) WriteTimeline(w io.Writer) {
	defer r.writeGenTimeline(w) // genstats.go
	if len(r.StoreTimeline) == 0 {
		if r.StoreTimelineNote != "" {
			fmt.Fprintf(w, "store timeline: none (%s)\n", r.StoreTimelineNote)
		}
		return
	}
	fmt.Fprintln(w, "store timeline (per second; flush = a batch's statements and commit, sync = the commit; ms are bucket upper bounds):")
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "t s\tcommits/s\twrites/s\tflush p50\tp99\tmax ms\tsync p50\tp99 ms\tbatch p50\tp99\tmax\tbusy\tpending\twin/s\twin ms\tpages/s\tWAL MB/s\tWAL MiB\tckpt n\tms\tpages\tgc n\tpause max ms\tgc cpu ms\tassist\tgc %\trunnable p99\tmax ms\tgoroutines\tidle %\tiowait\tsteal\tdisk w/s\tMB/s\tawait ms\tflush/s\tflush ms\tbusy %\t")
	for _, p := range r.StoreTimeline {
		fmt.Fprintf(tw, "%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f%%\t%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.1f\t%d\t%.0f\t%d\t%d\t%.2f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%d\t%s\n",
			p.T, p.Batches, p.Writes, p.FlushP50Ms, p.FlushP99Ms, p.FlushMaxMs, p.SyncP50Ms, p.SyncP99Ms,
			p.BatchP50, p.BatchP99, p.BatchMax, p.Busy*100, p.Pending, p.WindowWaits, p.WindowMs, p.PagesPerSec, p.WALBytesPerSec/1e6,
			float64(p.WALSizeBytes)/(1<<20), p.Checkpoints, p.CheckpointMs, p.CheckpointPages, p.GCCycles, p.GCPauseMaxMs,
			p.GCCPUMs, p.AssistCPUMs, p.GCSharePct, p.RunnableP99Ms, p.RunnableMaxMs, p.Goroutines, p.Machine.columns())
	}
	tw.Flush()
	if i := worstStorePoint(r.StoreTimeline); i >= 0 {
		p := r.StoreTimeline[i]
		fmt.Fprintf(w, "worst second: t=%.0fs flush p99 %.2f ms (max %.2f), sync p99 %.2f ms, batch p99 %.0f, %d checkpoints (%.0f ms), GC pause max %.2f ms, runnable p99 %.2f ms\n",
			p.T, p.FlushP99Ms, p.FlushMaxMs, p.SyncP99Ms, p.BatchP99, p.Checkpoints, p.CheckpointMs, p.GCPauseMaxMs, p.RunnableP99Ms)
	}
	if c := commitSummary(r.StoreTimeline); c != "" {
		fmt.Fprintln(w, c)
	}
	if g := gcSummary(r.StoreTimeline); g != "" {
		fmt.Fprintln(w, g)
	}
	if h := heapSummary(r.StoreTimeline, r.ConcurrentSessionsMax); h != "" {
		fmt.Fprintln(w, h)
	}
}

// heapSummary names the largest live heap and scan work of the timeline,
// per concurrent session when the scenario counts them.
func heapSummary(ps []StorePoint, sessions int64) string {
	var live, scan uint64
	for _, p := range ps {
		live, scan = max(live, p.HeapLiveBytes), max(scan, p.ScanBytes)
	}
	if live == 0 {
		return ""
	}
	s := fmt.Sprintf("heap: live at most %.1f MiB, GC scan work at most %.1f MiB (heap and stacks)", float64(live)/(1<<20), float64(scan)/(1<<20))
	if sessions > 0 {
		s += fmt.Sprintf("; per concurrent session (max %d): live %.0f bytes, scan %.0f bytes", sessions, float64(live)/float64(sessions), float64(scan)/float64(sessions))
	}
	return s
}

// gcSummary sums the GC's share of the server's CPU over the timeline and
// names the second whose goroutines waited longest for a CPU.
func gcSummary(ps []StorePoint) string {
	var gc, assist, cpu float64
	worst := -1
	for i, p := range ps {
		gc += p.GCCPUMs
		assist += p.AssistCPUMs
		if p.GCSharePct > 0 {
			cpu += p.GCCPUMs / (p.GCSharePct / 100)
		}
		if worst < 0 || p.RunnableP99Ms > ps[worst].RunnableP99Ms {
			worst = i
		}
	}
	if cpu <= 0 || worst < 0 {
		return ""
	}
	return fmt.Sprintf("GC: %.1f s of CPU, %.0f%% of the server's (assists %.1f s, %.0f%%; the runtime's estimate, time on a P); goroutines waited runnable longest at t=%.0fs: p99 %.2f ms, max %.2f ms",
		gc/1000, 100*gc/cpu, assist/1000, 100*assist/cpu, ps[worst].T, ps[worst].RunnableP99Ms, ps[worst].RunnableMaxMs)
}

// timelineCharts draws the store timeline for the HTML report.
func timelineCharts(r *Result) []template.HTML {
	ps := r.StoreTimeline
	if len(ps) == 0 {
		return nil
	}
	xs := make([]float64, len(ps))
	col := func(f func(StorePoint) float64) []float64 {
		out := make([]float64, len(ps))
		for i, p := range ps {
			out[i] = f(p)
		}
		return out
	}
	for i, p := range ps {
		xs[i] = p.T
	}
	charts := []template.HTML{
		svgChart("Store commit time (per second)", "ms", xs, []chartLine{
			{"flush p50", "#1f77b4", col(func(p StorePoint) float64 { return p.FlushP50Ms })},
			{"flush p99", "#d62728", col(func(p StorePoint) float64 { return p.FlushP99Ms })},
			{"sync p99", "#ff7f0e", col(func(p StorePoint) float64 { return p.SyncP99Ms })},
			{"GC pause max", "#7f7f7f", col(func(p StorePoint) float64 { return p.GCPauseMaxMs })},
			{"runnable p99", "#9467bd", col(func(p StorePoint) float64 { return p.RunnableP99Ms })},
		}),
		svgChart("Store batches", "writes per batch, commits/s", xs, []chartLine{
			{"batch p50", "#1f77b4", col(func(p StorePoint) float64 { return p.BatchP50 })},
			{"batch p99", "#d62728", col(func(p StorePoint) float64 { return p.BatchP99 })},
			{"commits/s", "#2ca02c", col(func(p StorePoint) float64 { return p.Batches })},
		}),
		svgChart("Store writes to the log", "pages/s, MiB", xs, []chartLine{
			{"pages written/s", "#9467bd", col(func(p StorePoint) float64 { return p.PagesPerSec })},
			{"WAL size MiB", "#8c564b", col(func(p StorePoint) float64 { return float64(p.WALSizeBytes) / (1 << 20) })},
			{"checkpointed pages", "#17becf", col(func(p StorePoint) float64 { return float64(p.CheckpointPages) })},
		}),
		svgChart("Checkpoints and writer load", "ms in the second, %", xs, []chartLine{
			{"checkpoint ms", "#17becf", col(func(p StorePoint) float64 { return p.CheckpointMs })},
			{"writer's catch-up ms", "#e377c2", col(func(p StorePoint) float64 { return p.CatchUpMs })},
			{"writer busy %", "#d62728", col(func(p StorePoint) float64 { return p.Busy * 100 })},
			{"GC pause ms", "#7f7f7f", col(func(p StorePoint) float64 { return p.GCPauseMs })},
			{"GC CPU ms", "#bcbd22", col(func(p StorePoint) float64 { return p.GCCPUMs })},
		}),
	}
	if slices.ContainsFunc(ps, func(p StorePoint) bool { return p.Machine != nil }) {
		m := func(f func(*MachinePoint) float64) []float64 {
			return col(func(p StorePoint) float64 {
				if p.Machine == nil {
					return 0
				}
				return f(p.Machine)
			})
		}
		charts = append(charts, svgChart("The machine: idle CPU and the data's disk", "%, ms", xs, []chartLine{
			{"CPU idle %", "#2ca02c", m(func(p *MachinePoint) float64 { return p.IdlePct })},
			{"iowait %", "#ff7f0e", m(func(p *MachinePoint) float64 { return p.IOWaitPct })},
			{"disk busy %", "#8c564b", m(func(p *MachinePoint) float64 { return p.BusyPct })},
			{"disk flush ms", "#d62728", m(func(p *MachinePoint) float64 { return p.FlushAwaitMs })},
			{"sync p50 ms", "#1f77b4", col(func(p StorePoint) float64 { return p.SyncP50Ms })},
		}))
	}
	return charts
}

// commitSummary averages the commit path over the seconds the store wrote
// more than a hundred times: what tells a fast durable round from a slow
// one (a commit's sync time, the commits and their size, the time batches
// waited in the window) beside the machine's idle CPU and its disk's flush
// time. "" when no second qualifies.
func commitSummary(ps []StorePoint) string {
	var n, nm, nf float64
	var sync, flush, commits, writes, win, idle, flushMs, disk float64
	for _, p := range ps {
		if p.Writes < 100 {
			continue
		}
		n++
		sync += p.SyncP50Ms
		flush += p.FlushP50Ms
		commits += p.Batches
		writes += p.Writes
		win += p.WindowMs
		if m := p.Machine; m != nil {
			nm++
			idle += m.IdlePct
			disk += m.WriteMB
			if m.Flushes > 0 {
				nf++
				flushMs += m.FlushAwaitMs
			}
		}
	}
	if n == 0 {
		return ""
	}
	s := fmt.Sprintf("commit path over %.0f s of writes: sync p50 %.2f ms, flush p50 %.2f ms (means), %.0f commits/s of %.1f writes, window %.0f ms/s",
		n, sync/n, flush/n, commits/n, writes/max(commits, 1), win/n)
	if nm > 0 {
		s += fmt.Sprintf("; machine idle %.1f%%, disk %.1f MB/s", idle/nm, disk/nm)
	}
	if nf > 0 {
		s += fmt.Sprintf(", disk flush %.2f ms", flushMs/nf)
	}
	return s
}
