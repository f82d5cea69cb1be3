package storestats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/storestats"
	"github.com/confab/confab/internal/leakcheck"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestServesWriterStats writes events through a real SQLite store and
// checks that the endpoint reports them: batches, writes, pages written,
// the WAL file, and the GC figures.
func TestServesWriterStats(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	mux := http.NewServeMux()
	storestats.New(st).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func() storestats.Snapshot {
		t.Helper()
		resp, err := http.Get(srv.URL + "/debug/store")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var s storestats.Snapshot
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		if s.Store == nil {
			t.Fatalf("no store figures: %s", s.StoreError)
		}
		return s
	}
	before := get()
	const n = 50
	for i := range n {
		tk := st.AppendEvent(ctx, store.EventRow{SessionID: "s", Position: int64(i), EventID: int64(i + 1),
			Time: time.UnixMicro(1_700_000_000_000_000), Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC() // the runtime's CPU classes are brought up to date by a cycle
	after := get()
	w := after.Store
	if w.Driver != "sqlite" || w.Writes-before.Store.Writes != n || w.Batches-before.Store.Batches != n {
		t.Errorf("writes %d, batches %d after %d acknowledged appends one at a time (%s)", w.Writes, w.Batches, n, w.Driver)
	}
	if d := w.FlushMicros.Sub(before.Store.FlushMicros); d.Count() != n {
		t.Errorf("%d flush times for %d batches", d.Count(), n)
	}
	if d := w.SyncMicros.Sub(before.Store.SyncMicros); d.Count() != n {
		t.Errorf("%d commit times for %d batches", d.Count(), n)
	}
	if w.PagesWritten <= before.Store.PagesWritten || w.WALBytes == 0 || w.PageSize != 8192 {
		t.Errorf("pages %d → %d, WAL %d bytes, page size %d", before.Store.PagesWritten, w.PagesWritten, w.WALBytes, w.PageSize)
	}
	if after.Time < before.Time || after.GC.HeapBytes == 0 {
		t.Errorf("time %d → %d, heap %d", before.Time, after.Time, after.GC.HeapBytes)
	}
	g := after.GC
	if g.CPUSeconds <= 0 || g.CPUSeconds < before.GC.CPUSeconds || g.GCCPUSeconds > g.CPUSeconds ||
		g.AssistCPUSeconds > g.GCCPUSeconds || g.Goroutines == 0 {
		t.Errorf("runtime CPU %.3f s (before %.3f), GC %.3f s, assists %.3f s, %d goroutines",
			g.CPUSeconds, before.GC.CPUSeconds, g.GCCPUSeconds, g.AssistCPUSeconds, g.Goroutines)
	}
	if g.RunnableMicros.Count() == 0 {
		t.Error("no scheduling latencies sampled")
	}
}

// TestWithoutStats serves the runtime's figures and says why the store's
// are missing.
func TestWithoutStats(t *testing.T) {
	s := storestats.Take(context.Background(), nil)
	if s.Store != nil || s.StoreError == "" || s.Time == 0 {
		t.Errorf("snapshot without a store: %+v", s)
	}
}
