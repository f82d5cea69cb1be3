package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// The event log is logChunks tables, event_log_0 to event_log_15
// (migration 0011), each holding one contiguous range of seqs: a chunk.
// The writer appends to the newest chunk until it holds chunkRows rows,
// then starts the next chunk in an empty table. Consuming the log from its
// low end (maintain: trims and moves) only raises a watermark, trimmed,
// kept in event_log_state in the same transaction: a row below it is gone
// from the log whether or not its table still holds it. A chunk whose rows
// are all below the watermark is then emptied whole, at most one a batch
// (clearChunks): a DELETE without WHERE, which SQLite runs as a clear of the
// table's B-tree that puts its pages on the free list without writing them
// to the WAL. Deleting the consumed rows one by one (a range DELETE on one
// table, before) rewrote every page of the range into the WAL before
// freeing it, about as many bytes again as the rows themselves.
//
// Readers see the live rows only: the view event_log filters on the
// watermark; LoadEvents and the writer's replay lookup read the chunk
// tables with a bound at or above it (logArms). The chunks' bookkeeping in
// memory (eventLog.chunks) is read from the tables at open and at each
// reload: a table's rows are one chunk, its lowest seq the chunk's start.
// If every table holds a chunk, the newest one grows past chunkRows until a
// table is emptied, so nothing waits for a clear.

// logChunks is the number of chunk tables (migration 0011).
const logChunks = 16

// chunkTable is the name of chunk table k.
func chunkTable(k int) string { return fmt.Sprintf("event_log_%d", k) }

// logArms returns a UNION ALL of one SELECT per chunk table, each with the
// given columns and condition.
func logArms(cols, where string) string {
	var b strings.Builder
	for k := range logChunks {
		if k > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT %s FROM %s WHERE %s", cols, chunkTable(k), where)
	}
	return b.String()
}

// logChunk is one chunk: table tbl holds the log's rows from seq from up to
// the next chunk's from (the newest chunk: up to nextSeq).
type logChunk struct {
	tbl  int
	from int64
}

// chunkRows is the number of rows after which the writer starts a new
// chunk: an eighth of the span (so that the log fills about nine of the
// sixteen tables, the one being emptied included), at least relocMin;
// chunkSize instead if set (tests).
func (l *eventLog) chunkRows() int64 {
	if l.chunkSize > 0 {
		return l.chunkSize
	}
	return max(l.span/8, relocMin)
}

// appendTable returns the chunk table that rows from seq on go to, starting
// a new chunk at seq if the newest is full and a table is free. The rows of
// one call (a chunk of inserts) go to one table.
func (l *eventLog) appendTable(seq int64) int {
	n := len(l.chunks)
	if n == 0 {
		l.chunks = append(l.chunks, logChunk{tbl: 0, from: seq})
		return 0
	}
	cur := l.chunks[n-1]
	if seq-cur.from < l.chunkRows() || n == logChunks {
		return cur.tbl
	}
	var used [logChunks]bool
	for _, c := range l.chunks {
		used[c.tbl] = true
	}
	for k := range logChunks {
		if !used[k] {
			l.chunks = append(l.chunks, logChunk{tbl: k, from: seq})
			return k
		}
	}
	return cur.tbl // not reached: fewer than logChunks chunks leave a table free
}

// clearChunks empties the oldest chunk table if all its rows are below the
// watermark (a chunk that is not the newest), or the newest if the whole
// log is below it and it holds at least relocMin rows; at most one table a
// batch, so that a batch frees at most one chunk's pages.
func (w *writer) clearChunks(ctx context.Context) error {
	l := &w.log
	if len(l.chunks) == 0 {
		return nil
	}
	c := l.chunks[0]
	switch {
	case len(l.chunks) > 1 && l.chunks[1].from <= l.trimmed:
		if err := w.clearChunk(ctx, c.tbl); err != nil {
			return err
		}
		l.chunks = append(l.chunks[:0:0], l.chunks[1:]...) // a copy: the snapshot of begin keeps the old
	case len(l.chunks) == 1 && l.trimmed >= l.nextSeq && l.nextSeq-c.from >= relocMin:
		if err := w.clearChunk(ctx, c.tbl); err != nil {
			return err
		}
		l.chunks = []logChunk{{tbl: c.tbl, from: l.nextSeq}}
	}
	return nil
}

// clearChunk empties chunk table k.
func (w *writer) clearChunk(ctx context.Context, k int) error {
	st, err := w.lazy(ctx, &w.chunkStmts[k].clear, "DELETE FROM "+chunkTable(k))
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx); err != nil {
		return fmt.Errorf("empty %s: %w", chunkTable(k), err)
	}
	w.clears.Add(1)
	return nil
}

// setTrimmed records the watermark in event_log_state.
func (w *writer) setTrimmed(ctx context.Context, to int64) error {
	st, err := w.lazy(ctx, &w.setWatermark, "UPDATE event_log_state SET trimmed = ? WHERE id = 0")
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, to); err != nil {
		return fmt.Errorf("set the event log's watermark: %w", err)
	}
	return nil
}

// chunkStmts are the writer's statements on one chunk table, prepared at
// first use.
type chunkStmts struct {
	insOne, relocate, clear *sql.Stmt
}

// readChunks reads the chunks from the tables: each non-empty table is a
// chunk starting at its lowest seq, ordered by it; the watermark and the
// highest seq in any table are returned with them.
func readChunks(ctx context.Context, conn *sql.Conn) (chunks []logChunk, trimmed, maxSeq int64, err error) {
	if err := conn.QueryRowContext(ctx, "SELECT trimmed FROM event_log_state WHERE id = 0").Scan(&trimmed); err != nil {
		return nil, 0, 0, fmt.Errorf("read the event log's watermark: %w", err)
	}
	var arms []string
	for k := range logChunks {
		arms = append(arms, fmt.Sprintf("SELECT %d, min(seq), max(seq) FROM %s", k, chunkTable(k)))
	}
	q, err := conn.QueryContext(ctx, strings.Join(arms, " UNION ALL "))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read the event log's chunks: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var k int
		var lo, hi sql.NullInt64
		if err := q.Scan(&k, &lo, &hi); err != nil {
			return nil, 0, 0, fmt.Errorf("read the event log's chunks: %w", err)
		}
		if lo.Valid {
			chunks = append(chunks, logChunk{tbl: k, from: lo.Int64})
			maxSeq = max(maxSeq, hi.Int64)
		}
	}
	if err := q.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("read the event log's chunks: %w", err)
	}
	slices.SortFunc(chunks, func(a, b logChunk) int { return cmp.Compare(a.from, b.from) })
	return chunks, trimmed, maxSeq, nil
}
