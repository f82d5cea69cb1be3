package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

func TestFencedSessions(t *testing.T) {
	st := func(fence string) op { return op{what: "stmt", st: &stmt{fence: fence}} }
	for _, c := range []struct {
		name  string
		batch []op
		want  []string
	}{
		{"none", []op{ev("a", 0, 0), route("b", "x", 0), st(""), fnOp("k")}, nil},
		{"events once each", []op{ev("a", 0, 1), ev("b", 0, 1), ev("a", 1, 1), ev("c", 0, 0)}, []string{"a", "b"}},
		{"routes and stmts", []op{route("r", "x", 3), st("v"), route("r", "y", 3), st(""), ev("v", 0, 2)}, []string{"r", "v"}},
		{"empty", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fencedSessions(c.batch); !slices.Equal(got, c.want) {
				t.Fatalf("fencedSessions = %q, want %q", got, c.want)
			}
		})
	}
}

// uniqueNode is a node id no other test (on a shared server) uses, so that
// its fence lock is this test's own.
func uniqueNode(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])
	return "node-" + hex.EncodeToString(b[:])
}

// awaitLockWaiter returns once some transaction waits for node's fence
// lock (pg_locks: an advisory lock not granted, keys 1181639525 and
// hashtext(node) as an unsigned oid); it fails the test after a bounded
// number of looks.
func awaitLockWaiter(t *testing.T, s *Store, node string) {
	t.Helper()
	ctx := context.Background()
	for range 1000 {
		var n int
		err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid::bigint = 1181639525 AND objid::bigint = (hashtext($1)::bigint + 4294967296) % 4294967296
			AND objsubid = 2`, node).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("nothing waited for the fence lock of %s", node)
}

// TestClaimWaitsForInFlightBatch holds a batch of the owner open after it
// took its fence lock and read the owner row (what the writer does before
// its writes): a claim of the session waits for it, the batch's write of
// the old epoch lands before the claim, and the old epoch's writes after
// the claim are fenced.
func TestClaimWaitsForInFlightBatch(t *testing.T) {
	s := openInternal(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := uniqueNode(t)
	if err := s.OwnNew(ctx, "c1", node).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	batch, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Rollback(context.Background())
	if _, err := batch.Exec(ctx, lockOwners, []string{"c1"}, []string(nil)); err != nil {
		t.Fatal(err)
	}
	type claimed struct {
		to  store.Owner
		err error
	}
	done := make(chan claimed, 1)
	go func() {
		to, err := s.Claim(ctx, store.Owner{SessionID: "c1", NodeID: node, Epoch: 1}, "node-other")
		done <- claimed{to, err}
	}()
	awaitLockWaiter(t, s, node)
	select {
	case c := <-done:
		t.Fatalf("the claim did not wait for the batch in flight: %+v, %v", c.to, c.err)
	default:
	}
	var epoch int64
	if err := batch.QueryRow(ctx, `SELECT epoch FROM session_owners WHERE session_id = 'c1'`).Scan(&epoch); err != nil || epoch != 1 {
		t.Fatalf("the batch read epoch %d, %v; want 1", epoch, err)
	}
	if _, err := batch.Exec(ctx, `INSERT INTO session_events (session_id, position, event_id, at, data) VALUES ('c1', 0, 1, 1, '{}')`); err != nil {
		t.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	c := <-done
	if c.err != nil || c.to.Epoch != 2 || c.to.NodeID != "node-other" {
		t.Fatalf("claim: %+v, %v", c.to, c.err)
	}
	if err := s.AppendEvent(ctx, ev("c1", 1, 1).ev).Wait(ctx); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("old epoch's write after the claim: %v, want ErrFenced", err)
	}
	if err := s.AppendEvent(ctx, ev("c1", 1, 2).ev).Wait(ctx); err != nil {
		t.Fatalf("new owner's write: %v", err)
	}
	evs, err := s.LoadEvents(ctx, "c1")
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %+v, %v; want positions 0 and 1", evs, err)
	}
}

// TestBatchWaitsForClaim holds a claim open after it took the old owner's
// fence lock and changed the owner row: a batch of the old epoch started
// then waits for it and, once it commits, is fenced — on the pipelined path
// (events, routing updates) and on the statement path (a batch with a
// function op). Without the lock the batch would read the row's committed
// old epoch and write.
func TestBatchWaitsForClaim(t *testing.T) {
	s := openInternal(t, 4)
	for _, c := range []struct {
		name  string
		batch func(id string) []op
		at    int  // the fenced write
		known bool // the writer has read the owner row before (fencetrust.go)
	}{
		{"pipelined event", func(id string) []op { return []op{ev(id, 0, 1)} }, 0, false},
		{"pipelined event of a trusted owner row", func(id string) []op { return []op{ev(id, 0, 1)} }, 0, true},
		{"pipelined routing update", func(id string) []op { return []op{route(id, "queued", 1)} }, 0, false},
		{"statement path", func(id string) []op { return []op{fnOp("k-" + id), ev(id, 0, 1)} }, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			node := uniqueNode(t)
			id := "w-" + node
			if err := s.OwnNew(ctx, id, node).Wait(ctx); err != nil {
				t.Fatal(err)
			}
			stored := 0
			if c.known {
				// An event of the session's other writer (another position
				// range) makes the writer read and trust the owner row.
				if failed := mustFlush(t, s, []op{ev(id+"-seen", 0, 0), ev(id, 100, 1)}); len(failed) > 0 {
					t.Fatal(failed)
				}
				if _, ok := trusted(s, id); !ok {
					t.Fatal("the owner row is not trusted")
				}
				stored = 1
			}
			claim, err := s.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer claim.Rollback(context.Background())
			if _, err := claim.Exec(ctx, claimLock, node); err != nil {
				t.Fatal(err)
			}
			if _, err := claim.Exec(ctx, `UPDATE session_owners SET node_id = 'node-other', epoch = 2 WHERE session_id = $1`, id); err != nil {
				t.Fatal(err)
			}
			if _, err := claim.Exec(ctx, countClaim, node); err != nil {
				t.Fatal(err)
			}
			type flushed struct {
				failed []store.ItemError
				err    error
			}
			done := make(chan flushed, 1)
			go func() {
				failed, err := s.w.flush(c.batch(id))
				done <- flushed{failed, err}
			}()
			awaitLockWaiter(t, s, node)
			select {
			case f := <-done:
				t.Fatalf("the batch did not wait for the claim: %v, %v", f.failed, f.err)
			default:
			}
			if err := claim.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			f := <-done
			if f.err != nil {
				t.Fatalf("flush: %v", f.err)
			}
			errs := outcome(len(c.batch(id)), f.failed)
			if !errors.Is(errs[c.at], store.ErrFenced) {
				t.Fatalf("the old epoch's write after the claim: %v, want ErrFenced (all: %v)", errs[c.at], errs)
			}
			var n int
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM session_events WHERE session_id = $1`, id).Scan(&n); err != nil || n != stored {
				t.Fatalf("%d events stored (%v), want %d", n, err, stored)
			}
		})
	}
}
