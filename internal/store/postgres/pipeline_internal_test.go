package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

func openInternal(t testing.TB, conns int) *Store {
	t.Helper()
	dsn, schema := pgtest.Schema(t)
	s, err := Open(context.Background(), dsn, Options{Schema: schema, MaxConns: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func ev(session string, pos, epoch int64) op {
	return op{ev: store.EventRow{SessionID: session, Position: pos, EventID: pos + 1,
		Time: time.UnixMicro(1_700_000_000_000_000 + pos), Data: json.RawMessage(fmt.Sprintf(`{"p":%d}`, pos)), Epoch: epoch}}
}

func route(id, state string, epoch int64) op {
	return op{route: &store.RoutingUpdate{ID: id, State: state, UserData: json.RawMessage(`{"s":"` + state + `"}`), Epoch: epoch}, what: id}
}

// outcome returns each write's error from a flush's result.
func outcome(n int, failed []store.ItemError) []error {
	out := make([]error, n)
	for _, f := range failed {
		out[f.Index] = f.Err
	}
	return out
}

// TestPipelinedBatch writes one batch mixing events of a fenced and an
// unfenced session, coalesced routing updates (one fenced, one of a missing
// record, one of a record created earlier in the same batch) and session
// lifecycle statements: it must go in one pipeline (no fallback) and every
// write must get the outcome the statement path would give it.
func TestPipelinedBatch(t *testing.T) {
	s := openInternal(t, 4)
	ctx := context.Background()
	for _, id := range []string{"X", "Y", "C"} {
		if err := s.CreateInteraction(ctx, store.Interaction{ID: id, SessionID: id, State: "queued"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.OwnNew(ctx, "X", "a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, store.Owner{SessionID: "X", NodeID: "a", Epoch: 1}, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.OwnNew(ctx, "Y", "a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for p := range int64(3) {
		if err := s.AppendEvent(ctx, ev("C", p, 0).ev).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w := &stmt{build: fixed(`INSERT INTO interactions (id, session_id, tenant, endpoint, queue, subject, status, state, owner, version, created_at)
		VALUES ('W', 'W', '', '', '', '', 'open', 'new', '', 1, 0)`), check: one(store.ErrExists)}
	batch := []op{
		ev("X", 0, 1),             // 0 fenced: X's owner is at epoch 2
		ev("Y", 0, 1),             // 1
		route("X", "assigned", 1), // 2 fenced
		route("Y", "assigned", 1), // 3 superseded by 9
		ev("X", 1, 1),             // 4 fenced
		ev("C", 3, 0),             // 5 deleted by the close
		route("Z", "assigned", 0), // 6 not found
		{st: w, what: "W"},        // 7
		route("W", "routed", 0),   // 8 after W's creation
		route("Y", "stopped", 1),  // 9
		ev("Y", 1, 1),             // 10
		closeOp(s, "C"),           // 11
		closeOp(s, "nobody"),      // 12 not found
		{st: &stmt{build: fixed(`DELETE FROM session_owners WHERE session_id = 'Y' AND epoch = 5`), check: one(store.ErrFenced)}}, // 13
		deferred("Y", 2, 1), // 14 encoded by the writer as it builds the pipeline
	}
	errs := outcome(len(batch), mustFlush(t, s, batch))
	want := map[int]error{0: store.ErrFenced, 2: store.ErrFenced, 4: store.ErrFenced, 6: store.ErrNotFound, 12: store.ErrNotFound, 13: store.ErrFenced}
	for i, err := range errs {
		if w := want[i]; (w == nil) != (err == nil) || w != nil && !errors.Is(err, w) {
			t.Errorf("write %d: %v, want %v", i, err, w)
		}
	}
	if p, f := s.w.nPipelined.Load(), s.w.nFellBack.Load(); f != 0 || p == 0 {
		t.Fatalf("%d batches pipelined, %d fell back to statements; want this one pipelined", p, f)
	}
	checkState := func(id, state string, version int64) {
		t.Helper()
		in, err := s.GetInteraction(ctx, id)
		if err != nil || in.State != state || in.Version != version {
			t.Fatalf("%s: state %q version %d (%v), want %q version %d", id, in.State, in.Version, err, state, version)
		}
	}
	checkState("X", "queued", 1)
	checkState("Y", "stopped", 2) // one write for the two updates
	checkState("W", "routed", 2)
	if in, _ := s.GetInteraction(ctx, "C"); in.Status != store.StatusClosed {
		t.Fatalf("C not closed: %+v", in)
	}
	for id, n := range map[string]int{"X": 0, "Y": 3, "C": 0} {
		if evs, err := s.LoadEvents(ctx, id); err != nil || len(evs) != n {
			t.Fatalf("%s: %d events (%v), want %d", id, len(evs), err, n)
		}
	}
	if evs, _ := s.LoadEvents(ctx, "Y"); string(evs[2].Data) != `{"deferred":2}` {
		t.Fatalf("deferred event stored as %s", evs[2].Data)
	}
}

// encoder is a deferred event's encoder (store.EventRow.Encoder).
type encoder int64

func (e encoder) EncodeEvent() (json.RawMessage, error) {
	return json.RawMessage(fmt.Sprintf(`{"deferred":%d}`, e)), nil
}

func deferred(session string, pos, epoch int64) op {
	o := ev(session, pos, epoch)
	o.ev.Data, o.ev.Encoder = nil, encoder(pos)
	return o
}

// TestPipelineFallsBack sends a batch the pipeline cannot finish (a
// replay and a conflict: the server refuses the insert) and checks that it
// is written again by the statement path with every outcome right.
func TestPipelineFallsBack(t *testing.T) {
	s := openInternal(t, 4)
	ctx := context.Background()
	for p := range int64(2) {
		if err := s.AppendEvent(ctx, ev("A", p, 0).ev).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	conflict := ev("A", 1, 0)
	conflict.ev.Data = json.RawMessage(`{"other":1}`)
	batch := []op{ev("B", 0, 0), ev("A", 0, 0), conflict, ev("A", 2, 0), ev("B", 1, 0)}
	errs := outcome(len(batch), mustFlush(t, s, batch))
	if errs[0] != nil || errs[1] != nil || errs[4] != nil || !errors.Is(errs[2], store.ErrConflict) || !errors.Is(errs[3], store.ErrConflict) {
		t.Fatalf("outcomes %v: want B's and the replay written, the conflict and A's next event refused", errs)
	}
	if f := s.w.nFellBack.Load(); f != 1 {
		t.Fatalf("%d batches fell back, want 1", f)
	}
	for id, n := range map[string]int{"A": 2, "B": 2} {
		if evs, err := s.LoadEvents(ctx, id); err != nil || len(evs) != n {
			t.Fatalf("%s: %d events (%v), want %d", id, len(evs), err, n)
		}
	}
}

func closeOp(s *Store, id string) op {
	return op{what: id, st: &stmt{
		build: func() (string, []any, error) {
			return closeInteraction, []any{int64(1), []byte(`{}`), []byte(`{}`), nil, id}, nil
		},
		check: one(store.ErrNotFound),
	}}
}

func mustFlush(t *testing.T, s *Store, batch []op) []store.ItemError {
	t.Helper()
	failed, err := s.w.flush(batch)
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	return failed
}

// fnOp is a write only the statement path knows (like contact
// identification): it stores a setting.
func fnOp(key string) op {
	return op{what: "setting " + key, fn: func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, 'v')`, key)
		return classify(err)
	}}
}

// TestPipelinedSegments writes batches holding function ops: the runs of
// writes between them go pipelined inside the batch's transaction, a run
// the server refuses (a conflict) is written again write by write, and a
// session whose event failed in one run has its later events in the batch
// refused too.
func TestPipelinedSegments(t *testing.T) {
	s := openInternal(t, 4)
	ctx := context.Background()
	if err := s.CreateInteraction(ctx, store.Interaction{ID: "Y", SessionID: "Y", State: "queued"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvent(ctx, ev("B", 0, 0).ev).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	conflict := ev("B", 0, 0)
	conflict.ev.Data = json.RawMessage(`{"other":1}`)
	batch := []op{
		ev("A", 0, 0),           // 0 run 1
		route("Y", "a", 0),      // 1 run 1, superseded by 6
		fnOp("k1"),              // 2
		ev("A", 1, 0),           // 3 run 2
		deferred("A", 2, 0),     // 4 run 2
		fnOp("k1"),              // 5 fails alone: the key is taken
		route("Y", "b", 0),      // 6 run 3
		conflict,                // 7 run 3: refused by the server, written again one by one
		ev("B", 1, 0),           // 8 run 3: after B's failure
		fnOp("k2"),              // 9
		ev("B", 2, 0),           // 10 run 4: B failed earlier in the batch
		ev("A", 3, 0),           // 11 run 4
		route("nobody", "c", 0), // 12 run 4: not found
	}
	errs := outcome(len(batch), mustFlush(t, s, batch))
	want := map[int]error{5: store.ErrExists, 7: store.ErrConflict, 8: store.ErrConflict, 10: store.ErrConflict, 12: store.ErrNotFound}
	for i, err := range errs {
		if w := want[i]; (w == nil) != (err == nil) || w != nil && !errors.Is(err, w) {
			t.Errorf("write %d: %v, want %v", i, err, w)
		}
	}
	if n := s.w.nSegments.Load(); n != 3 {
		t.Errorf("%d runs pipelined inside the transaction, want 3 (the fourth was refused)", n)
	}
	for id, n := range map[string]int{"A": 4, "B": 1} {
		if evs, err := s.LoadEvents(ctx, id); err != nil || len(evs) != n {
			t.Fatalf("%s: %d events (%v), want %d", id, len(evs), err, n)
		}
	}
	if in, err := s.GetInteraction(ctx, "Y"); err != nil || in.State != "b" || in.Version != 2 {
		t.Fatalf("Y: %+v %v; want state b, version 2 (one write for two updates)", in, err)
	}
	for _, k := range []string{"k1", "k2"} {
		if v, err := s.GetSetting(ctx, k); err != nil || v != "v" {
			t.Fatalf("setting %s: %q %v", k, v, err)
		}
	}
}

// TestUpdateInteractionPipelined checks the versioned update's outcomes
// from its one statement (pipelined, no fallback): done, a stale version,
// a missing record, a stale owner epoch.
func TestUpdateInteractionPipelined(t *testing.T) {
	s := openInternal(t, 4)
	ctx := context.Background()
	in := store.Interaction{ID: "U", SessionID: "U", State: "queued", Status: store.StatusOpen}
	if err := s.CreateInteraction(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.OwnNew(ctx, "U", "a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	in.Version, in.State, in.Epoch = 1, "assigned", 1
	if v, err := s.UpdateInteraction(ctx, in); err != nil || v != 2 {
		t.Fatalf("update: version %d, %v", v, err)
	}
	if _, err := s.UpdateInteraction(ctx, in); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale version: %v, want ErrConflict", err)
	}
	missing := in
	missing.ID = "nobody"
	if _, err := s.UpdateInteraction(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing: %v, want ErrNotFound", err)
	}
	if _, err := s.Claim(ctx, store.Owner{SessionID: "U", NodeID: "a", Epoch: 1}, "b"); err != nil {
		t.Fatal(err)
	}
	in.Version = 2
	if _, err := s.UpdateInteraction(ctx, in); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale epoch: %v, want ErrFenced", err)
	}
	if got, err := s.GetInteraction(ctx, "U"); err != nil || got.State != "assigned" || got.Version != 2 {
		t.Fatalf("U: %+v %v", got, err)
	}
	if f := s.w.nFellBack.Load(); f != 0 {
		t.Fatalf("%d batches fell back to the statement path, want 0", f)
	}
}

func TestPipelinable(t *testing.T) {
	for _, c := range []struct {
		name  string
		batch []op
		want  bool
	}{
		{"one epoch", []op{ev("a", 0, 1), ev("b", 0, 1), route("a", "q", 3), ev("a", 1, 1)}, true},
		{"an epoch per session", []op{ev("a", 0, 1), ev("b", 0, 2), ev("a", 1, 1), ev("b", 1, 2)}, true},
		{"two epochs of a session", []op{ev("a", 0, 1), ev("b", 0, 2), ev("a", 1, 2)}, false},
		{"fenced and unfenced of a session", []op{ev("a", 0, 0), ev("a", 1, 1)}, false},
		{"a function op", []op{ev("a", 0, 1), fnOp("k")}, false},
		{"empty", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := pipelinable(c.batch); got != c.want {
				t.Fatalf("pipelinable = %v, want %v", got, c.want)
			}
		})
	}
}
