package sqlite

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestWALRestartsUnderSteadyWrites keeps the writer busy without a pause
// (eight sessions, each appending its next event as soon as the previous
// one is durable) while 32-page checkpoints run, and checks that the WAL
// keeps being started again from its beginning: its file stays a few
// checkpoints long instead of growing with everything written. Before the
// fix a checkpoint that copied every frame it saw handed the writer no
// catch-up, the batch committing meanwhile added frames, and the WAL never
// restarted (timelines: 164 MB–1.4 GB).
func TestWALRestartsUnderSteadyWrites(t *testing.T) {
	const ckptPages = 32
	s, err := Open(context.Background(), t.TempDir(), Options{
		Synchronous: SyncNormal, CheckpointPages: ckptPages, CommitWindow: -1, PageSize: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	data := `{"text":"` + strings.Repeat("x", 3000) + `"}`
	const total = 48 * ckptPages // pages to write, 48 checkpoints' worth
	var maxWAL int64
	var wg sync.WaitGroup
	var mu sync.Mutex // guards maxWAL
	stop := make(chan struct{})
	for i := range 8 {
		wg.Go(func() {
			for p := int64(0); ; p++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.AppendEvent(ctx, ev(fmt.Sprint("w", i), p, data)).Wait(ctx); err != nil {
					t.Error(err)
					return
				}
				if fi, err := os.Stat(s.path + "-wal"); err == nil {
					mu.Lock()
					maxWAL = max(maxWAL, fi.Size())
					mu.Unlock()
				}
				if s.w.pages.Load() >= total {
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	st, err := s.WriterStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	frames := s.ckpt.maxFrames.Load()
	t.Logf("%d pages written, %d checkpoints (%d by the writer), the WAL at most %d frames (file %d KiB)",
		st.PagesWritten, st.Checkpoints, s.ckpt.catchUps.Load(), frames, maxWAL/1024)
	if frames > total/2 {
		t.Fatalf("the WAL grew to %d frames for %d pages written: it does not restart", frames, st.PagesWritten)
	}
}
