package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), freshDir(t), Options{})
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

func ev(session string, pos int64, data string) store.EventRow {
	return store.EventRow{SessionID: session, Position: pos, EventID: pos + 1,
		Time: time.UnixMicro(1_700_000_000_000_000 + pos).UTC(), Data: json.RawMessage(data)}
}

// hold blocks the writer until the returned function is called, so that
// the writes queued meanwhile form one batch.
func hold(tb testing.TB, s *Store) (release func()) {
	tb.Helper()
	entered, proceed := make(chan struct{}), make(chan struct{})
	tk := s.gc.Enqueue(context.Background(), op{what: "hold", fn: func(context.Context, *writer) error {
		close(entered)
		<-proceed
		return nil
	}})
	<-entered
	return func() {
		close(proceed)
		if err := tk.Wait(context.Background()); err != nil {
			tb.Fatalf("hold: %v", err)
		}
	}
}

func loadCount(t *testing.T, s *Store, session string) int {
	t.Helper()
	evs, err := s.LoadEvents(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestItemFailuresAreIsolated checks that writes failing on their own in a
// batch get their own errors while the rest of the batch commits, and that
// a session's later events in the batch are not written after its failure.
func TestItemFailuresAreIsolated(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if err := s.AppendEvent(ctx, ev("B", 0, `{"v":1}`)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInteraction(ctx, store.Interaction{ID: "chat-1"}); err != nil {
		t.Fatal(err)
	}

	release := hold(t, s)
	a0 := s.AppendEvent(ctx, ev("A", 0, `{}`))
	b0 := s.AppendEvent(ctx, ev("B", 0, `{"v":2}`)) // conflicts with the stored B/0
	b1 := s.AppendEvent(ctx, ev("B", 1, `{}`))      // not written after B/0 failed
	dup := make(chan error, 1)
	go func() { dup <- s.CreateInteraction(ctx, store.Interaction{ID: "chat-1"}) }()
	for s.Stats().Pending < 4 { // the goroutine's write is queued
		select {
		case err := <-dup:
			t.Fatalf("CreateInteraction returned early: %v", err)
		default:
			runtime.Gosched()
		}
	}
	c0 := s.AppendEvent(ctx, ev("C", 0, `{}`))
	a1 := s.AppendEvent(ctx, ev("A", 1, `{}`))
	release()

	if a0.Commit() != c0.Commit() || a0.Commit() != b1.Commit() {
		t.Fatal("the writes did not share one batch")
	}
	if err := a0.Commit().Wait(ctx); err != nil {
		t.Fatalf("batch failed: %v", err)
	}
	for name, tk := range map[string]store.Ticket{"A/0": a0, "A/1": a1, "C/0": c0} {
		if err := tk.Wait(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := b0.Wait(ctx)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "session B position 0") {
		t.Errorf("B/0: got %v, want a conflict naming the session", err)
	}
	t.Logf("conflict: %v", err)
	err = b1.Wait(ctx)
	t.Logf("after a failure in the batch: %v", err)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "session B position 1") {
		t.Errorf("B/1: got %v, want a conflict naming the session", err)
	}
	if err := <-dup; !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate CreateInteraction: got %v, want ErrExists", err)
	}
	if n := loadCount(t, s, "A"); n != 2 {
		t.Errorf("A has %d events, want 2", n)
	}
	if n := loadCount(t, s, "B"); n != 1 {
		t.Errorf("B has %d events, want 1", n)
	}
	// B goes on in the next batch.
	if err := s.AppendEvent(ctx, ev("B", 1, `{}`)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConstraintFailureNamesSession makes SQLite itself reject one event
// (a trigger on the chunk table a new store appends to, raising an error as
// a CHECK constraint would) and checks the
// error, the batch's other writes, earlier data and later writes.
func TestConstraintFailureNamesSession(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if err := s.AppendEvent(ctx, ev("early", 0, `{}`)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	err := s.do(ctx, "trigger", func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `CREATE TEMP TRIGGER poison BEFORE INSERT ON main.event_log_0
			WHEN NEW.data = CAST('{"poison":true}' AS BLOB) BEGIN SELECT RAISE(ABORT, 'poisoned event'); END`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	release := hold(t, s)
	good := s.AppendEvent(ctx, ev("good", 0, `{}`))
	bad := s.AppendEvent(ctx, ev("sess-42", 0, `{"poison":true}`))
	release()
	err = bad.Wait(ctx)
	t.Logf("poisoned event: %v", err)
	if err == nil || !strings.Contains(err.Error(), "session sess-42 position 0") || !strings.Contains(err.Error(), "poisoned event") {
		t.Fatalf("poisoned event: got %v, want an error naming the session and the cause", err)
	}
	if err := good.Wait(ctx); err != nil {
		t.Fatalf("the other write of the batch: %v", err)
	}
	if loadCount(t, s, "early") != 1 || loadCount(t, s, "good") != 1 || loadCount(t, s, "sess-42") != 0 {
		t.Fatal("stored events do not match")
	}
	if err := s.AppendEvent(ctx, ev("sess-42", 0, `{}`)).Wait(ctx); err != nil {
		t.Fatalf("later write: %v", err)
	}
}

// TestBatchFailure fills the database (max_page_count stands in for a
// full disk): the batch fails as a whole with an error naming its
// sessions, earlier batches stay intact, and once there is room again the
// writer goes on.
func TestBatchFailure(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for i := range int64(10) {
		if err := s.AppendEvent(ctx, ev("early", i, `{}`)).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var pages int64
	err := s.do(ctx, "limit", func(ctx context.Context, w *writer) error {
		if err := w.conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
			return err
		}
		_, err := w.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+2))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	big := `{"blob":"` + strings.Repeat("x", 64<<10) + `"}`
	release := hold(t, s)
	var tks []store.Ticket
	for i := range 20 {
		tks = append(tks, s.AppendEvent(ctx, ev(fmt.Sprint("full-", i), 0, big)))
	}
	release()
	err = tks[0].Wait(ctx)
	t.Logf("full disk: %v", err)
	if err == nil || !strings.Contains(err.Error(), "full-0, full-1") || !strings.Contains(err.Error(), "and 15 more") ||
		!strings.Contains(err.Error(), "full") {
		t.Fatalf("got %v, want the batch error naming its first sessions and the cause", err)
	}
	for i, tk := range tks {
		if tk.Wait(ctx) == nil {
			t.Fatalf("write %d of the failed batch succeeded", i)
		}
	}
	if n := loadCount(t, s, "early"); n != 10 {
		t.Fatalf("earlier data: %d events, want 10", n)
	}
	if n := loadCount(t, s, "full-3"); n != 0 {
		t.Fatalf("failed batch left %d events", n)
	}
	st := s.Stats()
	if st.FailedBatches != 1 || st.FailedWrites != 20 {
		t.Fatalf("stats after the failure: %+v", st)
	}

	err = s.do(ctx, "unlimit", func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, "PRAGMA max_page_count = 4294967294")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The sessions of the failed batch start afresh.
	for i := range 20 {
		if err := s.AppendEvent(ctx, ev(fmt.Sprint("full-", i), 0, big)).Wait(ctx); err != nil {
			t.Fatalf("write after recovery: %v", err)
		}
	}
	if n := loadCount(t, s, "full-3"); n != 1 {
		t.Fatalf("after recovery: %d events, want 1", n)
	}
}

// TestRoutingUpdatesCoalesced queues three routing updates of one
// interaction and one of another into one batch: one write each, the last
// one's content, every ticket with its outcome.
func TestRoutingUpdatesCoalesced(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for _, id := range []string{"r1", "r2"} {
		if err := s.CreateInteraction(ctx, store.Interaction{ID: id, State: "queued"}); err != nil {
			t.Fatal(err)
		}
	}
	release := hold(t, s)
	var tks []store.Ticket
	for i := range 3 {
		tks = append(tks, s.UpdateRouting(ctx, store.RoutingUpdate{ID: "r1", State: fmt.Sprint("s", i), UserData: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}))
	}
	tks = append(tks, s.UpdateRouting(ctx, store.RoutingUpdate{ID: "r2", State: "assigned"}))
	ghost := []store.Ticket{s.UpdateRouting(ctx, store.RoutingUpdate{ID: "ghost", State: "a"}), s.UpdateRouting(ctx, store.RoutingUpdate{ID: "ghost", State: "b"})}
	release()
	for i, tk := range tks {
		if err := tk.Wait(ctx); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	for i, tk := range ghost {
		if err := tk.Wait(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update %d of an unknown interaction: %v", i, err)
		}
	}
	r1, err := s.GetInteraction(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if r1.State != "s2" || string(r1.UserData) != `{"i":2}` || r1.Version != 2 {
		t.Fatalf("r1 after three coalesced updates: state %q, data %s, version %d (want s2, the last, written once)", r1.State, r1.UserData, r1.Version)
	}
	if r2, _ := s.GetInteraction(ctx, "r2"); r2.State != "assigned" || r2.Version != 2 {
		t.Fatalf("r2: %+v", r2)
	}
}
