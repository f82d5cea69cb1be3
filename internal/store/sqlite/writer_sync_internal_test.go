package sqlite

import (
	"context"
	"errors"
	"os"
	"testing"
)

// syncHook replaces s's WAL sync: each call reports on started and waits
// for a value on result (nil, or result closed: the real fsync), so a test holds a batch
// between its COMMIT and its sync.
func syncHook(t *testing.T, s *Store) (started chan struct{}, result chan error) {
	t.Helper()
	if s.w.wal == nil {
		t.Fatal("the writer does not sync the WAL itself")
	}
	started, result = make(chan struct{}, 16), make(chan error)
	s.w.wal.syncFile = func(f *os.File) error {
		started <- struct{}{}
		if err := <-result; err != nil {
			return err
		}
		return f.Sync()
	}
	return started, result
}

// openOwnSync opens a store whose writer syncs the WAL itself.
func openOwnSync(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), freshDir(t), Options{SyncAfterCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestAckWaitsForWALSync: with SyncAfterCommit the writer commits without syncing
// and a write is acknowledged only once the WAL's own fsync, begun after
// the commit, has returned; the next batch is written meanwhile.
func TestAckWaitsForWALSync(t *testing.T) {
	s := openOwnSync(t)
	ctx := context.Background()
	started, result := syncHook(t, s)
	first := s.AppendEvent(ctx, ev("s-1", 0, `{"n":0}`))
	select {
	case <-started:
	case <-first.Done():
		t.Fatal("acknowledged before the WAL was synced")
	}
	// Committed (a reader sees it), not acknowledged: the sync has not
	// returned.
	if n := loadCount(t, s, "s-1"); n != 1 {
		t.Fatalf("%d events stored before the sync, want the committed 1", n)
	}
	select {
	case <-first.Done():
		t.Fatal("acknowledged while its sync runs")
	default:
	}
	// The next batch commits while the first one's sync waits.
	second := s.AppendEvent(ctx, ev("s-2", 0, `{"n":1}`))
	for loadCount(t, s, "s-2") == 0 {
		select {
		case <-second.Done():
			t.Fatal("second batch acknowledged before the first one's sync")
		default:
		}
	}
	result <- nil
	if err := first.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	<-started
	result <- nil
	if err := second.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWALSyncFailureIsKept: a failed fsync fails the batch it was to make
// durable and every later one, without another fsync (the file's state is
// unknown after it).
func TestWALSyncFailureIsKept(t *testing.T) {
	s := openOwnSync(t)
	ctx := context.Background()
	started, result := syncHook(t, s)
	boom := errors.New("EIO")
	tk := s.AppendEvent(ctx, ev("s-1", 0, `{"n":0}`))
	<-started
	result <- boom
	close(result) // a later fsync, which must not happen, would succeed
	if err := tk.Wait(ctx); !errors.Is(err, boom) {
		t.Fatalf("Wait: %v, want the sync's error", err)
	}
	if err := s.AppendEvent(ctx, ev("s-1", 1, `{"n":1}`)).Wait(ctx); !errors.Is(err, boom) {
		t.Fatalf("a later write: %v, want the sync's error again", err)
	}
	select {
	case <-started:
		t.Error("synced again after a failed fsync")
	default:
	}
}

// TestSyncAfterCommit: by default the COMMIT syncs (FULL on the writer's
// connection) and the writer has no sync of its own; with SyncAfterCommit
// it commits at NORMAL and syncs itself; SyncNormal never does.
func TestSyncAfterCommit(t *testing.T) {
	for _, c := range []struct {
		opts Options
		mode int
		own  bool
	}{{Options{}, 2, false}, {Options{SyncAfterCommit: true}, 1, true}, {Options{Synchronous: SyncNormal, SyncAfterCommit: true}, 1, false}} {
		s, err := Open(context.Background(), freshDir(t), c.opts)
		if err != nil {
			t.Fatal(err)
		}
		var mode int
		if err := s.w.conn.QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != c.mode || (s.w.wal != nil) != c.own {
			t.Errorf("%+v: synchronous %d, own sync %v; want %d, %v", c.opts, mode, s.w.wal != nil, c.mode, c.own)
		}
		if err := s.AppendEvent(context.Background(), ev("s", 0, `{}`)).Wait(context.Background()); err != nil {
			t.Error(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
