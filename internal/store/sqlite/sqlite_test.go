package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
	"github.com/confab/confab/internal/store/sqlite/sqlitetest"
	"github.com/confab/confab/internal/store/storetest"
)

// TestMain fails the run if a store's goroutines outlive the tests: every
// Open must be matched by a Close that stops the writer.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && os.Getenv(crashDirEnv) == "" {
		deadline := time.Now().Add(5 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			if !strings.Contains(stacks, "internal/store.(*GroupCommit") {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "leaked store goroutines:\n%s\n", stacks)
				code = 1
				break
			}
			runtime.Gosched()
		}
	}
	os.Exit(code)
}

// openStore opens a store in dir, or in a fresh directory holding an empty
// store of the current schema (sqlitetest: no migrations run), closed when
// the test ends.
func openStore(t testing.TB, dir string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	if dir == "" && opts.PageSize == 0 {
		dir = sqlitetest.Dir(t)
	} else if dir == "" {
		dir = t.TempDir()
	}
	s, err := sqlite.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, "", sqlite.Options{}) })
}

// TestConformanceSmallBatches runs the suite with tiny batches and queue, so
// that batch boundaries and backpressure are exercised everywhere.
func TestConformanceSmallBatches(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, "", sqlite.Options{MaxBatch: 5, MaxPending: 16, Synchronous: sqlite.SyncNormal})
	})
}

// TestWriterBatches has 64 goroutines append concurrently to their own and
// to shared sessions, each waiting for every event, and checks from the
// writer's counters that writes were grouped.
func TestWriterBatches(t *testing.T) {
	s := openStore(t, "", sqlite.Options{})
	ctx := context.Background()
	const goroutines, each = 64, 100
	var mu sync.Mutex
	next := make(map[string]int64) // next position of each session
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				session := fmt.Sprint("own-", g)
				if i%2 == 1 {
					session = fmt.Sprint("shared-", g%4)
				}
				mu.Lock()
				pos := next[session]
				next[session]++
				mu.Unlock()
				e := store.EventRow{SessionID: session, Position: pos, Data: []byte(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))}
				if err := s.AppendEvent(ctx, e).Wait(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	t.Logf("writer stats: %+v", st)
	if st.Writes != goroutines*each || st.FailedWrites != 0 {
		t.Fatalf("stats: %+v, want %d writes", st, goroutines*each)
	}
	if st.MaxBatch < 2 || st.Batches >= st.Writes {
		t.Fatalf("no batch grouped several writes: %+v", st)
	}
	total := 0
	for session, n := range next {
		evs, err := s.LoadEvents(ctx, session)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(evs)) != n {
			t.Fatalf("session %s: %d events stored, %d acknowledged", session, len(evs), n)
		}
		total += len(evs)
	}
	if total != goroutines*each {
		t.Fatalf("%d events stored, want %d", total, goroutines*each)
	}
}
