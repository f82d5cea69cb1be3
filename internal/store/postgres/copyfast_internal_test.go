package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

func TestCopySQL(t *testing.T) {
	for _, c := range []struct {
		name  string
		plan  fencePlan
		want  string // "" for no fast path
		lines int
	}{
		{"unfenced", fencePlan{}, copyEvents, 1},
		{"one node", fencePlan{nodes: []string{"n1"}, claims: []int64{7}},
			"EXECUTE confab_fence_lock('n1');\nEXECUTE confab_fence_check('n1', 7);\n" + copyEvents, 3},
		{"quotes doubled, backslash kept", fencePlan{nodes: []string{`it's\`}, claims: []int64{0}},
			"EXECUTE confab_fence_lock('it''s\\');\nEXECUTE confab_fence_check('it''s\\', 0);\n" + copyEvents, 3},
		{"two nodes go pipelined", fencePlan{nodes: []string{"n1", "n2"}, claims: []int64{0, 1}}, "", 0},
		{"invalid UTF-8 goes pipelined", fencePlan{nodes: []string{"n\xff"}, claims: []int64{0}}, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := copySQL(&c.plan)
			if ok != (c.want != "") || got != c.want {
				t.Fatalf("copySQL = %q, %v; want %q", got, ok, c.want)
			}
			if ok && strings.Count(got, "\n")+1 != c.lines {
				t.Fatalf("%d statements, want %d", strings.Count(got, "\n")+1, c.lines)
			}
		})
	}
}

// TestCopyFastPath writes batches of trusted sessions (a node id with a
// quote and a backslash in it) and of unfenced ones: they go by COPY and
// are stored exactly; a batch holding a replay, one holding a conflict and
// one after a claim by another store are refused by the server on the
// COPY path and get, from the pipelined and statement paths, the outcomes
// they always had (replay: done; conflict: ErrConflict; claimed: ErrFenced
// and not stored).
func TestCopyFastPath(t *testing.T) {
	s := openInternal(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := uniqueNode(t) + `'s \node`
	for _, id := range []string{"s1", "s2"} {
		if err := s.OwnNew(ctx, id, node).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	counts := func() [3]uint64 {
		return [3]uint64{s.w.nCopied.Load(), s.w.nCopyFellBack.Load(), s.w.nFellBack.Load()}
	}
	expect := func(what string, before [3]uint64, copied, copyFell, fell uint64) {
		t.Helper()
		now := counts()
		if d := [3]uint64{now[0] - before[0], now[1] - before[1], now[2] - before[2]}; d != [3]uint64{copied, copyFell, fell} {
			t.Fatalf("%s: copied, refused on the COPY path, fell back to statements: %v, want %v", what, d, [3]uint64{copied, copyFell, fell})
		}
	}
	// The first batch reads the owner rows (pipelined); then they are trusted.
	c0 := counts()
	if failed := mustFlush(t, s, []op{ev("s1", 0, 1), ev("s2", 0, 1)}); len(failed) > 0 {
		t.Fatal(failed)
	}
	expect("first batch", c0, 0, 0, 0)

	c0 = counts()
	big := ev("s2", 1, 1)
	big.ev.Data = json.RawMessage(`{"text":"` + strings.Repeat("x", 70000) + `"}`) // more than one CopyData message
	batch := []op{ev("s1", 1, 1), big, ev("u", 0, 0), deferred("s1", 2, 1), ev("u", 1, 0)}
	if failed := mustFlush(t, s, batch); len(failed) > 0 {
		t.Fatal(failed)
	}
	expect("trusted batch", c0, 1, 0, 0)
	want := map[string][]op{"s1": {ev("s1", 0, 1), ev("s1", 1, 1), deferred("s1", 2, 1)}, "s2": {ev("s2", 0, 1), big}, "u": {ev("u", 0, 0), ev("u", 1, 0)}}
	want["s1"][2].ev.Data = json.RawMessage(`{"deferred":2}`)
	for id, ops := range want {
		got, err := s.LoadEvents(ctx, id)
		if err != nil || len(got) != len(ops) {
			t.Fatalf("%s: %d events (%v), want %d", id, len(got), err, len(ops))
		}
		for k, o := range ops {
			g := got[k]
			if g.Position != o.ev.Position || g.EventID != o.ev.EventID || !g.Time.Equal(o.ev.Time) || !bytes.Equal(g.Data, o.ev.Data) {
				t.Fatalf("%s event %d stored as %+v, want %+v", id, k, g, o.ev)
			}
		}
	}

	// The writer's own path (two in flight: start) takes it too.
	c0 = counts()
	if err := s.AppendEvent(ctx, ev("s1", 3, 1).ev).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	expect("appended", c0, 1, 0, 0)

	// A replay (identical) with a new event: both done.
	c0 = counts()
	if failed := mustFlush(t, s, []op{ev("s1", 1, 1), ev("s2", 2, 1)}); len(failed) > 0 {
		t.Fatalf("replay: %v", failed)
	}
	expect("replay", c0, 0, 1, 1)
	if evs, err := s.LoadEvents(ctx, "s2"); err != nil || len(evs) != 3 {
		t.Fatalf("s2 after the replay: %d events (%v), want 3", len(evs), err)
	}

	// A conflict (a different event at a stored place).
	c0 = counts()
	conflict := ev("s1", 1, 1)
	conflict.ev.Data = json.RawMessage(`{"other":1}`)
	errs := outcome(2, mustFlush(t, s, []op{conflict, ev("s2", 3, 1)}))
	if !errors.Is(errs[0], store.ErrConflict) || errs[1] != nil {
		t.Fatalf("conflict: %v, want ErrConflict and s2 written", errs)
	}
	expect("conflict", c0, 0, 1, 1)

	// Another store claims s2: this store still trusts it, the COPY
	// path's check refuses the batch, the pipeline fences s2.
	other, err := Open(ctx, pgtest.DSN(t), Options{Schema: s.opts.Schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Claim(ctx, store.Owner{SessionID: "s2", NodeID: node, Epoch: 1}, "node-b"); err != nil {
		t.Fatal(err)
	}
	c0 = counts()
	errs = outcome(2, mustFlush(t, s, []op{ev("s2", 4, 1), ev("s1", 4, 1)}))
	if !errors.Is(errs[0], store.ErrFenced) || errs[1] != nil {
		t.Fatalf("after the claim: %v, want s2 ErrFenced and s1 written", errs)
	}
	expect("claimed", c0, 0, 1, 0)
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM session_events WHERE session_id = 's2' AND position = 4`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the fenced event is stored (%d, %v)", n, err)
	}
	// s1 was read again with the new count: the COPY path again.
	c0 = counts()
	if failed := mustFlush(t, s, []op{ev("s1", 5, 1)}); len(failed) > 0 {
		t.Fatal(failed)
	}
	expect("after the claim, s1", c0, 1, 0, 0)
}

// TestCopyPreparedLost: a connection that lost the fence statements (a
// DEALLOCATE, a pooler handing over another session) has its batch
// refused on the COPY path and written the pipelined way, then prepares
// them again.
func TestCopyPreparedLost(t *testing.T) {
	s := openInternal(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := uniqueNode(t)
	if err := s.OwnNew(ctx, "p1", node).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		what         string
		dealloc      bool
		copied, fell uint64
	}{
		{"first batch: read", false, 0, 0},
		{"trusted: prepared, COPY", false, 1, 0},
		{"lost: refused, pipelined", true, 0, 1},
		{"prepared again, COPY", false, 1, 0},
	}
	for pos, st := range steps {
		if st.dealloc {
			c, err := s.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Conn().PgConn().Exec(ctx, "DEALLOCATE confab_fence_lock; DEALLOCATE confab_fence_check").ReadAll()
			c.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		c0, f0 := s.w.nCopied.Load(), s.w.nCopyFellBack.Load()
		if failed := mustFlush(t, s, []op{ev("p1", int64(pos), 1)}); len(failed) > 0 {
			t.Fatalf("%s: %v", st.what, failed)
		}
		if c, f := s.w.nCopied.Load()-c0, s.w.nCopyFellBack.Load()-f0; c != st.copied || f != st.fell {
			t.Fatalf("%s: copied %d, refused %d; want %d, %d", st.what, c, f, st.copied, st.fell)
		}
	}
	if evs, err := s.LoadEvents(ctx, "p1"); err != nil || len(evs) != len(steps) {
		t.Fatalf("%d events (%v), want %d", len(evs), err, len(steps))
	}
}
