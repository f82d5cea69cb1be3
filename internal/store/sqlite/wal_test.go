package sqlite

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestWALRestartsUnderSteadyWrites keeps the writer busy without a pause
// (eight sessions, each appending its next event as soon as the previous
// one is durable) while 32-page checkpoints run, and checks that the WAL
// keeps being started again from its beginning. It counts the restarts
// from the WAL file's header, whose checkpoint sequence number SQLite
// increments each time it starts the WAL afresh (and rewrites with the
// first frame after it): not from the WAL's length, which a checkpoint
// starved under load lets grow for a while even though the WAL restarts.
// Before the fix a checkpoint that copied every frame it saw handed the
// writer no catch-up, the batch committing meanwhile added frames, and the
// WAL never restarted (timelines: 164 MB–1.4 GB).
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
	const total = 192 * ckptPages // pages to write, 192 checkpoints' worth
	var (
		mu          sync.Mutex // guards the following
		first, last uint32     // checkpoint sequence numbers: the first and the highest seen
		seen        bool
		maxWAL      int64
		wg          sync.WaitGroup
		stop        = make(chan struct{})
		walPath     = s.path + "-wal"
		sawHeader   = func(seq uint32, size int64) {
			mu.Lock()
			defer mu.Unlock()
			if !seen {
				first, last, seen = seq, seq, true
			}
			last = max(last, seq)
			maxWAL = max(maxWAL, size)
		}
	)
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
				if seq, size, ok := walCheckpointSeq(walPath); ok {
					sawHeader(seq, size)
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
	restarts := last - first
	t.Logf("%d pages written, %d checkpoints, the WAL restarted %d times (checkpoint sequence %d → %d), its file at most %d KiB",
		st.PagesWritten, st.Checkpoints, restarts, first, last, maxWAL/1024)
	if !seen {
		t.Fatal("no valid WAL header read")
	}
	if restarts < minWALRestarts {
		t.Fatalf("the WAL restarted %d times while %d pages were written (%d checkpoints): want at least %d",
			restarts, st.PagesWritten, st.Checkpoints, minWALRestarts)
	}
}

// minWALRestarts is the fewest WAL restarts TestWALRestartsUnderSteadyWrites
// accepts for 192 checkpoints' worth of pages (the first few hundred
// pages go before the first restart).
const minWALRestarts = 4

// walCheckpointSeq reads a WAL file's header and returns its checkpoint
// sequence number and the file's size; ok is false when the file is
// missing, shorter than a header, or its header is not valid (a WAL not
// written yet, or a header read while SQLite rewrote it).
func walCheckpointSeq(path string) (seq uint32, size int64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var h [32]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, 0, false
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, false
	}
	be := binary.BigEndian
	magic := be.Uint32(h[0:])
	if magic&^1 != 0x377f0682 || be.Uint32(h[4:]) != 3007000 {
		return 0, 0, false
	}
	// The header's checksum (bytes 24–31) over its first 24 bytes, in the
	// byte order the magic's low bit names (https://sqlite.org/fileformat.html#wal_file_format).
	var order binary.ByteOrder = binary.LittleEndian
	if magic&1 == 1 {
		order = binary.BigEndian
	}
	var s0, s1 uint32
	for i := 0; i < 24; i += 8 {
		s0 += order.Uint32(h[i:]) + s1
		s1 += order.Uint32(h[i+4:]) + s0
	}
	if s0 != be.Uint32(h[24:]) || s1 != be.Uint32(h[28:]) {
		return 0, 0, false
	}
	return be.Uint32(h[12:]), fi.Size(), true
}
