package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/confab/confab/internal/store"
)

// physicalRows counts the rows of every chunk table, those below the
// watermark included.
func physicalRows(t *testing.T, s *Store) int64 {
	t.Helper()
	return countRows(t, s, "SELECT count(*) FROM ("+logArms("seq", "1")+")")
}

// wantChunksAgree checks the writer's chunks against the tables: each
// table outside them is empty, each inside holds seqs from its chunk's
// start up to the next's, and the watermark in event_log_state is the
// writer's.
func wantChunksAgree(t *testing.T, s *Store) {
	t.Helper()
	l := &s.w.log
	mark := countRows(t, s, "SELECT trimmed FROM event_log_state")
	between := countRows(t, s, fmt.Sprintf("SELECT count(*) FROM event_log WHERE seq < %d", l.trimmed))
	if mark > l.trimmed || between != 0 {
		t.Fatalf("watermark %d in event_log_state, the writer's %d, %d live rows below the writer's", mark, l.trimmed, between)
	}
	if len(l.chunks) > logChunks {
		t.Fatalf("%d chunks in %d tables", len(l.chunks), logChunks)
	}
	in := map[int]int{}
	for i, c := range l.chunks {
		in[c.tbl] = i
	}
	for k := range logChunks {
		i, ok := in[k]
		n := countRows(t, s, "SELECT count(*) FROM "+chunkTable(k))
		if !ok {
			if n != 0 {
				t.Fatalf("%s holds %d rows and is no chunk", chunkTable(k), n)
			}
			continue
		}
		end := l.nextSeq
		if i+1 < len(l.chunks) {
			end = l.chunks[i+1].from
		}
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE seq < %d OR seq >= %d", chunkTable(k), l.chunks[i].from, end)
		if bad := countRows(t, s, q); bad != 0 {
			t.Fatalf("%s: %d rows outside its chunk [%d, %d)", chunkTable(k), bad, l.chunks[i].from, end)
		}
	}
}

// TestEventLogChunksClearedWhole keeps 15 sessions open far past a small
// span while short sessions come and go: the log is consumed by its
// watermark and its chunk tables are emptied whole (no table ever holds
// more than the live log and one chunk below the watermark), every event
// is stored once (live in the log or in event_cold), readers never see a
// row below the watermark although its table still holds it, and all of
// it survives a reopen.
func TestEventLogChunksClearedWhole(t *testing.T) {
	dir := freshDir(t)
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 15 {
		names = append(names, fmt.Sprint("open-", i))
	}
	const perBatch, rounds = 10, 60 // 150 events of the open sessions a batch
	sawGarbage := false
	for r := range int64(rounds) {
		batchOf(t, s, names, r*perBatch, (r+1)*perBatch)
		short := fmt.Sprint("short-", r)
		appendN(t, s, short, 0, 40)
		if err := s.DeleteEvents(ctx, short); err != nil {
			t.Fatal(err)
		}
		live, phys := logRows(t, s), physicalRows(t, s)
		if live != countRows(t, s, "SELECT count(*) FROM event_log") {
			t.Fatalf("round %d: the view holds %d rows, the writer counts %d", r, countRows(t, s, "SELECT count(*) FROM event_log"), live)
		}
		if phys > live+s.w.log.chunkRows()+perBatch*int64(len(names))+40 {
			t.Fatalf("round %d: %d rows in the chunk tables for %d live: consumed chunks are not emptied", r, phys, live)
		}
		if phys > live && r%7 == 0 {
			sawGarbage = true
			wantEvents(t, s, names[r%15], (r+1)*perBatch, body(names[r%15])) // rows below the watermark not read
		}
		wantChunksAgree(t, s)
	}
	if !sawGarbage {
		t.Fatal("no check ran while a chunk table held rows below the watermark")
	}
	if n := s.w.clears.Load(); n < 10 {
		t.Fatalf("%d chunk tables emptied", n)
	}
	total := int64(rounds * perBatch * len(names))
	cold := countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold")
	live := countRows(t, s, "SELECT count(*) FROM event_log AS l JOIN event_sessions AS s ON s.sid = l.sid AND l.seq >= s.tail_from")
	if live+cold != total || moved(t, s) != cold {
		t.Fatalf("%d live log rows of open sessions + %d in event_cold (%d moved), want %d: each event once", live, cold, moved(t, s), total)
	}
	for _, name := range names {
		wantEvents(t, s, name, rounds*perBatch, body(name))
	}
	wantEvents(t, s, "short-3", 0, nil)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, dir, Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if n := physicalRows(t, s); n != 0 {
		t.Fatalf("%d rows in the chunk tables after the open's compaction", n)
	}
	wantChunksAgree(t, s)
	for _, name := range names {
		wantEvents(t, s, name, rounds*perBatch, body(name))
	}
	batchOf(t, s, names, rounds*perBatch, rounds*perBatch+5)
	wantEvents(t, s, names[0], rounds*perBatch+5, body(names[0]))
	for _, p := range []int64{0, rounds*perBatch - 1, rounds*perBatch + 4} {
		if err := s.AppendEvent(ctx, ev(names[1], p, `{"other":1}`)).Wait(ctx); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("different event at %d: %v", p, err)
		}
	}
	wantChunksAgree(t, s)
}

// TestEventLogChunksFull: batches far larger than a chunk, with the oldest
// session pinning the log (nothing below it can go until the span is
// passed), fill every table; the newest chunk then grows past its size
// instead of an append waiting, and the log comes back to its tables once
// the moves catch up.
func TestEventLogChunksFull(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, freshDir(t), Options{EventLogSpan: 20000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	s.w.log.span, s.w.log.chunkSize = 1<<30, 256 // no moves: the log only grows, in chunks of 256 rows
	names := []string{"a", "b", "c", "d"}
	var p int64
	for ; len(s.w.log.chunks) < logChunks || logRows(t, s) < 20*s.w.log.chunkRows(); p += 500 {
		batchOf(t, s, names, p, p+500) // 2,000 rows a batch
		if p > 100000 {
			t.Fatalf("%d chunks after %d rows", len(s.w.log.chunks), logRows(t, s))
		}
	}
	wantChunksAgree(t, s)
	s.w.log.span = 2000
	for i := range 300 {
		batchOf(t, s, names, p, p+1)
		p++
		if i%20 == 0 {
			wantChunksAgree(t, s)
		}
	}
	if n := logRows(t, s); n > 2000+relocMax+4 {
		t.Fatalf("%d rows in the log after the moves caught up", n)
	}
	if n := len(s.w.log.chunks); n == logChunks {
		t.Fatalf("still %d chunks", n)
	}
	for _, name := range names {
		wantEvents(t, s, name, p, body(name))
	}
}

// TestMigrateEventLogToChunks builds a database of schema version 10 (one
// event_log table, event_cold of packs) holding an open session's packs and
// log rows, a closed session queued for its purge and a session without
// events, and checks that migration 0011 and the open keep exactly what
// version 10 would read, and that the log then works in chunks.
func TestMigrateEventLogToChunks(t *testing.T) {
	dir := t.TempDir()
	db, upTo, mustExec := migratedBefore(t, dir, "", "_event_log_chunks")
	a := body("a")
	var evs []packedEvent
	for p := range int64(300) {
		e := ev("a", p, a(p))
		evs = append(evs, packedEvent{pos: p, eid: e.EventID, at: micros(e.Time), data: []byte(e.Data)})
	}
	mustExec("INSERT INTO event_cold (sid, lo, hi, n, data) VALUES (1, 0, 299, 300, ?)", appendPack(nil, evs...))
	mustExec("INSERT INTO event_cold (sid, lo, hi, n, data) VALUES (2, 0, 3, 4, ?)", appendPack(nil, evs[:4]...))
	oldLayoutRest(mustExec, a, 300, 301, 302)
	db.Close()

	ctx := context.Background()
	s, err := Open(ctx, dir, Options{EventLogSpan: 1000})
	if err != nil {
		t.Fatalf("open the database of version %d: %v", upTo, err)
	}
	defer s.Close(ctx)
	if n := countRows(t, s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name GLOB 'event_log_[0-9]*'"); n != logChunks {
		t.Fatalf("%d chunk tables, want %d", n, logChunks)
	}
	wantChunksAgree(t, s)
	wantEvents(t, s, "a", 303, a)
	wantEvents(t, s, "empty", 0, nil)
	if n := countRows(t, s, "SELECT count(*) FROM event_cold WHERE sid = 2"); n != 0 {
		t.Fatalf("%d packs of the closed session left", n)
	}
	wantMigratedReplays(t, s, "a", a, 0, 299, 302)
	appendN(t, s, "a", 303, 3000)
	appendN(t, s, "empty", 0, 3)
	wantEvents(t, s, "a", 3000, a)
	wantEvents(t, s, "empty", 3, body("empty"))
	if m := moved(t, s); m == 0 || s.w.clears.Load() == 0 {
		t.Fatalf("%d rows moved, %d chunk tables emptied past the span", m, s.w.clears.Load())
	}
	if n := logRows(t, s) + countRows(t, s, "SELECT coalesce(sum(n), 0) FROM event_cold"); n != 3003 {
		t.Fatalf("%d events stored, want 3003: each event once", n)
	}
	wantChunksAgree(t, s)
}
