package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/confab/confab/internal/store"
)

// coldRows returns event_cold's rows (sid, lo, hi, n and a digest of the
// data) in the order they were moved.
func coldRows(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.rdb.QueryContext(context.Background(), "SELECT sid, lo, hi, n, hex(data) FROM event_cold ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sid, lo, hi, n int64
		var data string
		if err := rows.Scan(&sid, &lo, &hi, &n, &data); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %d-%d %d %s", sid, lo, hi, n, data))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// memWorkload appends 2,800 events to 10 sessions that stay open past a
// span of 500 rows, with sessions that close (some after their rows moved), gaps filled
// late (unsorted packs), replays and a conflict, and returns what
// event_cold holds at the end, with the store still open.
func memWorkload(t *testing.T, opts Options) (*Store, []string) {
	t.Helper()
	ctx := context.Background()
	opts.EventLogSpan = 500
	opts.Synchronous = SyncNormal
	s, err := Open(ctx, freshDir(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprint("open-", i))
	}
	const rounds = 80
	for r := range int64(rounds) {
		var batch []string
		for _, name := range names {
			if name == "open-3" && r%5 == 0 {
				continue // gaps at 5k, filled late below
			}
			batch = append(batch, name)
		}
		batchOf(t, s, batch, r, r+1)
		batchOf(t, s, names[:5], rounds+5*r, rounds+5*r+5) // more than maxGaps below: fills look up the log
		if r%5 == 1 {
			if err := s.AppendEvent(ctx, ev("open-3", r-1, body("open-3")(r-1))).Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if r == rounds/2 {
			for _, name := range names[7:] { // their rows moved already: cold rows to purge
				if err := s.DeleteEvents(ctx, name); err != nil {
					t.Fatal(err)
				}
			}
			names = names[:7]
		}
		if r%8 == 0 { // a replay's lookup reads the whole live log: every round would be most of the test's CPU
			if err := s.AppendEvent(ctx, ev("open-1", 0, body("open-1")(0))).Wait(ctx); err != nil {
				t.Fatalf("replay: %v", err)
			}
			if err := s.AppendEvent(ctx, ev("open-2", 0, `{"other":1}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("conflict: %v", err)
			}
		}
	}
	for i, name := range names {
		n := int64(rounds)
		if i < 5 {
			n = 6 * rounds
		}
		wantEvents(t, s, name, n, body(name))
	}
	return s, coldRows(t, s)
}

// TestEventMemMovesAsTheLog: the same appends, closes, gap fills, replays
// and conflicts with the open sessions' events kept in memory, with a
// budget (20 KiB) below the open sessions' rows in the log, and without
// memory: the moves write the same event_cold rows, byte for byte; with
// memory most moved rows come from it; with the budget memory stops taking
// events at it, the moves of ranges it does not hold read the log, and it
// starts again once emptied.
func TestEventMemMovesAsTheLog(t *testing.T) {
	without, coldRead := memWorkload(t, Options{EventLogMemory: -1})
	if len(coldRead) == 0 || without.w.log.mem.movedAll != 0 {
		t.Fatalf("%d event_cold rows, %d rows moved from memory without memory", len(coldRead), without.w.log.mem.movedAll)
	}
	for _, c := range []struct {
		budget   int
		least    float64 // the fraction of the moved rows from memory, at least ...
		most     float64 // ... and at most
		mostHeld int64
	}{
		{0, 0.5, 1, defaultEventLogMemory},
		{20 << 10, 0.05, 0.5, 20 << 10},
	} {
		s, cold := memWorkload(t, Options{EventLogMemory: c.budget})
		if strings.Join(cold, "\n") != strings.Join(coldRead, "\n") {
			t.Fatalf("budget %d: event_cold (%d rows) differs from event_cold read from the log (%d rows)", c.budget, len(cold), len(coldRead))
		}
		m := &s.w.log.mem
		all := moved(t, s)
		t.Logf("budget %d: %d rows moved in %d packs, %d of them from memory; %d bytes held", c.budget, all, len(cold), m.movedAll, m.bytes)
		if f := float64(m.movedAll) / float64(all); f < c.least || f > c.most {
			t.Fatalf("budget %d: %d of %d rows moved from memory", c.budget, m.movedAll, all)
		}
		if m.bytes <= 0 || m.bytes > c.mostHeld || m.bytes != memBytes(m) {
			t.Fatalf("budget %d: memory counts %d bytes, holds %d", c.budget, m.bytes, memBytes(m))
		}
		st, err := s.WriterStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.EventLogMovedFromMemory != m.movedAll || st.EventLogMemoryBytes != m.bytes {
			t.Fatalf("budget %d: WriterStats says %d rows moved from memory and %d bytes kept, memory %d and %d",
				c.budget, st.EventLogMovedFromMemory, st.EventLogMemoryBytes, m.movedAll, m.bytes)
		}
	}
}

// memBytes is the bytes of the entries memory holds, counted by walking
// them.
func memBytes(m *memLog) int64 {
	var n int64
	m.each(math.MinInt64, math.MaxInt64, func(_, _ int64, e packedEvent) { n += int64(memEventCost + len(e.data)) })
	return n
}

// TestEventMemRollback: a batch whose move fails (a trigger standing in
// for a full disk) leaves memory as it was: the next batches move the same
// rows from memory, and event_cold ends as without the failure.
func TestEventMemRollback(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, freshDir(t), Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	names := []string{"a", "b", "c"}
	l := &s.w.log
	var p int64
	for ; ; p += 50 { // until the next batch moves from memory
		batchOf(t, s, names, p, p+50)
		excess := l.nextSeq - l.trimmed - l.span
		if l.mem.movedAll > 0 && excess >= l.relocStep() && l.mem.covers(l.trimmed, l.trimmed+min(excess, relocMax)) {
			break
		}
		if p > 2000 {
			t.Fatal("no move from memory")
		}
	}
	p += 50
	exec := func(q string) { // straight on the idle writer's connection: no batch
		t.Helper()
		if _, err := s.w.conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TEMP TRIGGER nomove BEFORE INSERT ON main.event_cold BEGIN SELECT RAISE(ABORT, 'no room'); END`)
	bytes, fromMem, movedBefore := l.mem.bytes, l.mem.movedAll, moved(t, s)
	for q := p; q < p+20; q++ { // each batch tries to move from memory and fails
		if err := s.AppendEvent(ctx, ev("a", p, body("a")(p))).Wait(ctx); err == nil || !strings.Contains(err.Error(), "no room") {
			t.Fatalf("append in a failing batch: %v", err)
		}
	}
	if m := &l.mem; m.bytes != bytes || m.bytes != memBytes(m) || moved(t, s) != movedBefore || m.movedAll != fromMem {
		t.Fatalf("after failed moves memory holds %d bytes (counts %d), held %d; %d rows moved, %d before",
			memBytes(m), m.bytes, bytes, moved(t, s), movedBefore)
	}
	exec(`DROP TRIGGER nomove`)
	end := p + 300
	for ; p < end; p += 50 {
		batchOf(t, s, names, p, p+50)
	}
	for _, name := range names {
		wantEvents(t, s, name, end, body(name))
	}
	if l.mem.movedAll == fromMem {
		t.Fatal("nothing moved from memory after the failures")
	}
	if n := logRows(t, s) + countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold"); n != 3*end {
		t.Fatalf("%d events stored, want %d: each once", n, 3*end)
	}
}

// TestEventMemDropsTrimmed: rows that only closed sessions had leave
// memory when a trim raises the watermark past them, without a move: what
// memory holds stays within the log's live rows, and its count of bytes
// agrees with what it holds.
func TestEventMemDropsTrimmed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, freshDir(t), Options{EventLogSpan: 4000, Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	l := &s.w.log
	names := []string{"x", "y"}
	for p := int64(0); p < 1100; p += 50 { // 2,200 rows: memory starts at 2,000
		batchOf(t, s, names, p, p+50)
	}
	if !l.mem.on || l.mem.bytes == 0 {
		t.Fatalf("memory on %v, %d bytes: want on, holding the newest rows", l.mem.on, l.mem.bytes)
	}
	for _, name := range names {
		if err := s.DeleteEvents(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	end := l.nextSeq
	batchOf(t, s, []string{"z"}, 0, 1) // its batch trims the closed sessions' rows
	if l.trimmed < end || moved(t, s) != 0 {
		t.Fatalf("watermark %d, %d rows moved: want a trim to %d, no move", l.trimmed, moved(t, s), end)
	}
	if l.mem.bytes != memBytes(&l.mem) {
		t.Fatalf("memory counts %d bytes, holds %d", l.mem.bytes, memBytes(&l.mem))
	}
	l.mem.each(math.MinInt64, l.trimmed, func(seq, sid int64, _ packedEvent) {
		t.Fatalf("memory holds seq %d (sid %d), below the watermark %d", seq, sid, l.trimmed)
	})
}

// TestEventMemBudgetCoveringTheSpan: sessions that stay open while the log
// passes its span many times over. Memory holds the log's rows from where
// it started to the log's end, which a move reaches at span + relocStep
// rows plus the batch that crossed it. With a budget that holds that many
// rows, every row a move takes is in memory except those of the moves that
// began below where memory started (the log's first half span); with a
// budget of 60% of a span, memory fills, stops taking events until the
// moves have consumed it, and the rows appended meanwhile are read back
// from the log. The default budget holds the default span of events the
// size of the throughput benchmark's (about 330 bytes).
func TestEventMemBudgetCoveringTheSpan(t *testing.T) {
	const benchEvent, benchBatch = 330, 1024
	if need := int64(defaultSpan+relocMax+benchBatch) * (benchEvent + memEventCost); defaultEventLogMemory < need {
		t.Fatalf("default budget %d bytes holds less than the default span of %d-byte events (%d bytes)", defaultEventLogMemory, benchEvent, need)
	}
	const span, rows, per = 1000, 8000, 50 // per: positions per session and batch
	names := []string{"a", "b", "c", "d"}
	batchRows := per * len(names)
	rowBytes := func(n int) int { // of the first n rows
		b := 0
		for i := range n {
			b += memEventCost + len(body(names[i%len(names)])(int64(i/len(names))))
		}
		return b
	}
	step := int((&eventLog{span: span}).relocStep())
	readBack := map[string]int64{}
	for _, c := range []struct {
		name   string
		budget int
	}{{"covering", rowBytes(span + step + 2*batchRows)}, {"short", rowBytes(span) * 3 / 5}} {
		s, err := Open(context.Background(), freshDir(t), Options{EventLogSpan: span, EventLogMemory: c.budget, Synchronous: SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		for p := int64(0); p < rows/int64(len(names)); p += per {
			batchOf(t, s, names, p, p+per)
		}
		all, fromMem := moved(t, s), s.w.log.mem.movedAll
		readBack[c.name] = all - fromMem
		t.Logf("%s budget %d bytes: %d rows moved, %d from memory", c.name, c.budget, all, fromMem)
		if all < rows-2*span {
			t.Fatalf("%s: %d rows moved of %d appended with a span of %d", c.name, all, rows, span)
		}
		for _, name := range names {
			wantEvents(t, s, name, rows/int64(len(names)), body(name))
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if most := int64(span/2 + step + batchRows); readBack["covering"] > most {
		t.Errorf("a budget holding the span read back %d moved rows, want at most %d", readBack["covering"], most)
	}
	if readBack["short"] <= readBack["covering"]+span {
		t.Errorf("a budget of 60%% of the span read back %d moved rows, the covering one %d: want more than %d more", readBack["short"], readBack["covering"], span)
	}
}
