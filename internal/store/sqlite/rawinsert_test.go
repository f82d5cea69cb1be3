package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestInsertSQL: the first row binds its seq (?1), the others take theirs
// from the table (NULL: its largest rowid + 1, no lookup of a bound one),
// and every other value has its own parameter (numbered 2, 3, ... by
// SQLite, unnamed): ?1 is the statement's only numbered parameter, so the
// driver's search of the parameter names for each bind stays short (see
// insertSQL). TestChunkSeqs and TestChunkEventIDs check what they store,
// TestChunkSeqMismatch that a chunk given seqs the table does not follow
// fails its batch.
func TestInsertSQL(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{
		{1, "INSERT INTO event_log_3 (seq, sid, position, event_id, at, data) VALUES (?1, ?, ?, ?, ?, ?)"},
		{3, "INSERT INTO event_log_3 (seq, sid, position, event_id, at, data) VALUES (?1, ?, ?, ?, ?, ?), " +
			"(NULL, ?, ?, ?, ?, ?), (NULL, ?, ?, ?, ?, ?)"},
	} {
		if got := insertSQL("event_log_3", c.n); got != c.want {
			t.Errorf("insertSQL(%d)\n got %s\nwant %s", c.n, got, c.want)
		}
	}
	q := insertSQL("event_log_0", maxChunk)
	if n := strings.Count(q, "?1"); n != 1 {
		t.Errorf("insertSQL(%d) refers to ?1 %d times, want once", maxChunk, n)
	}
	if n := strings.Count(q, "?"); n != 1+5*maxChunk {
		t.Errorf("insertSQL(%d) has %d parameters, want 1 + 5 per row", maxChunk, n)
	}
}

// TestChunkEventIDs: the event ids stored are those given, whether every
// id of the chunk is its position + 1 (as the chat engine gives them) or
// one is not, and the other columns land where they belong in both.
func TestChunkEventIDs(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	want := map[string][]int64{}
	release := hold(t, s) // one batch: ids position + 1, then one that is not
	var tickets []interface{ Wait(context.Context) error }
	for p := range int64(maxChunk) {
		e := ev("derived", p, fmt.Sprintf(`{"p":%d}`, p))
		want["derived"] = append(want["derived"], e.EventID)
		tickets = append(tickets, s.AppendEvent(ctx, e))
	}
	for p := range int64(5) {
		e := ev("bound", p, fmt.Sprintf(`{"p":%d}`, p))
		if p == 3 {
			e.EventID = 1000 // not position + 1
		}
		want["bound"] = append(want["bound"], e.EventID)
		tickets = append(tickets, s.AppendEvent(ctx, e))
	}
	release()
	for i, tk := range tickets {
		if err := tk.Wait(ctx); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	for session, ids := range want {
		evs, err := s.LoadEvents(ctx, session)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != len(ids) {
			t.Fatalf("%s: %d events loaded, want %d", session, len(evs), len(ids))
		}
		for i, e := range evs {
			wantTime := time.UnixMicro(1_700_000_000_000_000 + int64(i)).UTC()
			if e.Position != int64(i) || e.EventID != ids[i] || !e.Time.Equal(wantTime) || string(e.Data) != fmt.Sprintf(`{"p":%d}`, i) {
				t.Errorf("%s event %d: position %d id %d (want %d) time %v (want %v) data %s",
					session, i, e.Position, e.EventID, ids[i], e.Time, wantTime, e.Data)
			}
		}
	}
}

// TestChunkSeqs: a chunk's rows get the seqs the writer gave them (the
// first bound, the others computed), and a chunk whose seqs do not follow
// each other is refused whole (errSeqGap) before anything is written.
func TestChunkSeqs(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	release := hold(t, s) // the appends below form one batch once released
	var tickets []interface{ Wait(context.Context) error }
	for p := range int64(maxChunk + 3) { // a full chunk and a short one
		tickets = append(tickets, s.AppendEvent(ctx, ev("seqs", p, fmt.Sprintf(`{"p":%d}`, p))))
	}
	release()
	for p, tk := range tickets {
		if err := tk.Wait(ctx); err != nil {
			t.Fatalf("append %d: %v", p, err)
		}
	}
	var gapErr error
	tk := s.gc.Enqueue(ctx, op{what: "gap", fn: func(ctx context.Context, w *writer) error {
		batch := []op{{ev: ev("gap", 0, `{}`)}, {ev: ev("gap", 1, `{}`)}}
		r := &batchRun{w: w, batch: batch, chunk: []pending{{i: 0, seq: 1 << 40, sid: 1 << 40}, {i: 1, seq: 1<<40 + 2, sid: 1 << 40}}}
		gapErr = w.insertChunk(r, 0)
		return nil
	}})
	if err := tk.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(gapErr, errSeqGap) {
		t.Errorf("a chunk with a seq gap: %v, want errSeqGap", gapErr)
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM event_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != maxChunk+3 {
		t.Errorf("%d rows in the event log, want %d (none from the refused chunk)", n, maxChunk+3)
	}
	var lo, hi int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM event_log`).Scan(&lo, &hi); err != nil {
		t.Fatal(err)
	}
	if hi-lo+1 != int64(n) {
		t.Errorf("seqs %d..%d for %d rows: not consecutive", lo, hi, n)
	}
	evs, err := s.LoadEvents(ctx, "seqs")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Position != int64(i) || string(e.Data) != fmt.Sprintf(`{"p":%d}`, i) {
			t.Fatalf("event %d: position %d data %s", i, e.Position, e.Data)
		}
	}
	if len(evs) != maxChunk+3 {
		t.Errorf("%d events loaded, want %d", len(evs), maxChunk+3)
	}
}

// TestChunkSeqMismatch: a chunk whose rows would not get the seqs the
// writer gave them (its table holds a seq above the chunk's first: the
// writer's bookkeeping of the log wrong) fails its batch, which rolls
// back: nothing of it stays, and no row lands at another seq.
func TestChunkSeqMismatch(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if err := s.AppendEvent(ctx, ev("before", 0, `{}`)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var before int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT max(seq) FROM event_log`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	var insErr error
	tk := s.gc.Enqueue(ctx, op{what: "mismatch", fn: func(ctx context.Context, w *writer) error {
		next := w.log.nextSeq
		tbl := w.log.appendTable(next)
		if _, err := w.conn.ExecContext(ctx, "INSERT INTO "+chunkTable(tbl)+
			" (seq, sid, position, event_id, at, data) VALUES (?, 1, 0, 1, 0, x'7b7d')", next+100); err != nil {
			return err
		}
		batch := []op{{ev: ev("m", 0, `{"a":1}`)}, {ev: ev("m", 1, `{"a":2}`)}}
		r := &batchRun{w: w, batch: batch, chunk: []pending{{i: 0, seq: next, sid: 1 << 40}, {i: 1, seq: next + 1, sid: 1 << 40}}}
		insErr = w.insertChunk(r, tbl)
		return insErr
	}})
	err := tk.Wait(ctx)
	if !errors.Is(insErr, errSeqMismatch) {
		t.Fatalf("a chunk below a larger seq of its table: %v, want errSeqMismatch", insErr)
	}
	if !errors.Is(err, errSeqMismatch) {
		t.Fatalf("its batch: %v, want it failed with errSeqMismatch", err)
	}
	var n int
	var hi int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*), max(seq) FROM event_log`).Scan(&n, &hi); err != nil {
		t.Fatal(err)
	}
	if n != 1 || hi != before {
		t.Errorf("%d rows in the event log, the highest at seq %d; want the one before the failed batch, at %d", n, hi, before)
	}
	if err := s.AppendEvent(ctx, ev("after", 0, `{}`)).Wait(ctx); err != nil {
		t.Fatalf("an append after the failed batch: %v", err)
	}
}
