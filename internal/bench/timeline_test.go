package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/storestats"
	"github.com/confab/confab/internal/store"
)

func hist(vals ...uint64) store.HistSnapshot {
	var h store.Hist
	for _, v := range vals {
		h.Record(v)
	}
	return h.Snapshot()
}

// TestTimelinePoint derives one second from two snapshots of the server's
// counters, and prints it with the worst second named.
func TestTimelinePoint(t *testing.T) {
	start := time.UnixMilli(1_000_000)
	a := &storestats.Snapshot{Time: 1_001_000, Store: &store.WriterStats{Batches: 10, Writes: 100,
		FlushMicros: hist(1000), BatchSize: hist(10), PagesWritten: 5, PageSize: 8192, Checkpoints: 1, EventLogMoved: 1000},
		GC: storestats.GC{CPUSeconds: 10, GCCPUSeconds: 1, AssistCPUSeconds: 0.5, RunnableMicros: hist(10, 20)}}
	b := &storestats.Snapshot{Time: 1_003_000, Store: &store.WriterStats{Batches: 30, Writes: 500,
		FlushMicros: hist(1000, 2000, 2000, 40000), BatchSize: hist(10, 20, 20, 20), PagesWritten: 205, PageSize: 8192,
		Checkpoints: 2, CheckpointMicros: hist(7000), CheckpointedPages: 4096, WALBytes: 1 << 20, EventLogMoved: 3000},
		GC: storestats.GC{CPUSeconds: 14, GCCPUSeconds: 2, AssistCPUSeconds: 0.75, RunnableMicros: hist(10, 20, 30, 50000),
			Goroutines: 42, HeapLiveBytes: 3 << 20, ScanHeapBytes: 2 << 20, ScanStackBytes: 1 << 20}}
	p := point(a, b, start)
	if p.T != 3 || p.Batches != 10 || p.Writes != 200 || p.PagesPerSec != 100 || p.WALBytesPerSec != 100*8192 || p.EventLogMoved != 1000 {
		t.Errorf("rates: %+v", p)
	}
	if p.FlushP50Ms < 2 || p.FlushP50Ms > 2.3 || p.FlushMaxMs < 40 || p.FlushMaxMs > 45 {
		t.Errorf("flush p50 %.2f max %.2f, want about 2 and 40 ms", p.FlushP50Ms, p.FlushMaxMs)
	}
	if p.Checkpoints != 1 || p.CheckpointPages != 4096 || p.CheckpointMs < 7 || p.WALSizeBytes != 1<<20 {
		t.Errorf("checkpoints: %+v", p)
	}
	// GC: 1 s of 4 s of CPU since the last cycle, 0.25 s of it assists; one
	// goroutine waited 50 ms for a CPU.
	if p.GCCPUMs != 1000 || p.AssistCPUMs != 250 || p.GCSharePct != 25 || p.Goroutines != 42 {
		t.Errorf("GC: %.0f ms, assists %.0f ms, share %.1f%%, %d goroutines", p.GCCPUMs, p.AssistCPUMs, p.GCSharePct, p.Goroutines)
	}
	if p.RunnableMaxMs < 50 || p.RunnableMaxMs > 57 {
		t.Errorf("runnable max %.2f ms, want about 50", p.RunnableMaxMs)
	}
	if p.HeapLiveBytes != 3<<20 || p.ScanBytes != 3<<20 {
		t.Errorf("heap: live %d, scan %d", p.HeapLiveBytes, p.ScanBytes)
	}
	r := &Result{StoreTimeline: []StorePoint{{T: 1, FlushP99Ms: 3}, p, {T: 4, FlushP99Ms: 1}}, ConcurrentSessionsMax: 1024}
	var out bytes.Buffer
	r.WriteTimeline(&out)
	if !strings.Contains(out.String(), "worst second: t=3s") || !strings.Contains(out.String(), "GC: 1.0 s of CPU, 25% of the server's") ||
		!strings.Contains(out.String(), "heap: live at most 3.0 MiB, GC scan work at most 3.0 MiB (heap and stacks); per concurrent session (max 1024): live 3072 bytes, scan 3072 bytes") ||
		strings.Count(out.String(), "\n") != 9 {
		t.Errorf("printed timeline:\n%s", out.String())
	}
	if len(timelineCharts(r)) == 0 {
		t.Error("no charts for the HTML report")
	}
}
