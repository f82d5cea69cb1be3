package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// loadLog compacts the log and reads it into memory; run by Open on the
// writer connection before the writer starts. Compacting moves the open
// sessions' rows to event_cold and empties the log, and purges the cold
// rows of closed sessions, so that loading a session's events at
// restoration reads its rows only, in position order.
func loadLog(ctx context.Context, conn *sql.Conn) (*eventLog, error) {
	var rows, dead int64
	if err := conn.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM event_log), (SELECT count(*) FROM event_cold_dead)").Scan(&rows, &dead); err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	if rows > 0 || dead > 0 {
		if err := compactLog(ctx, conn); err != nil {
			return nil, fmt.Errorf("compact event log: %w", err)
		}
	}
	return readLog(ctx, conn)
}

// syncLog runs at the start of each batch, in its transaction (which holds
// the database's write lock): if another connection committed since the
// writer last looked, the bookkeeping is read again from the tables.
func (w *writer) syncLog(ctx context.Context) error {
	var v int64
	if err := w.dataVersion.QueryRowContext(ctx).Scan(&v); err != nil {
		return fmt.Errorf("read data version: %w", err)
	}
	if v == w.seenVersion {
		return nil
	}
	l, err := readLog(ctx, w.conn)
	if err != nil {
		return err
	}
	l.span, l.moves, l.mostMoved, l.mostPurged, l.packs = w.log.span, w.log.moves, w.log.mostMoved, w.log.mostPurged, w.log.packs
	l.chunkSize = w.log.chunkSize
	// Kept events are dropped: the log changed under them.
	l.mem = memLog{budget: w.log.mem.budget, movedAll: w.log.mem.movedAll, stats: w.log.mem.stats}
	w.log, w.seenVersion = *l, v
	w.reloads.Add(1)
	return nil
}

// readLog reads the log's bookkeeping: the sessions, their next positions,
// the log's ends, the closed sessions still to purge.
func readLog(ctx context.Context, conn *sql.Conn) (*eventLog, error) {
	l := &eventLog{byName: map[string]*logSession{}, bySID: map[int64]*logSession{}, span: defaultSpan}
	chunks, trimmed, maxSeq, err := readChunks(ctx, conn)
	if err != nil {
		return nil, err
	}
	l.chunks, l.trimmed = chunks, trimmed
	var maxTail int64
	err = conn.QueryRowContext(ctx, `SELECT coalesce((SELECT max(tail_from) FROM event_sessions), 0),
		max(coalesce((SELECT max(sid) FROM event_sessions), 0), coalesce((SELECT max(sid) FROM event_cold_dead), 0),
			coalesce((SELECT max(sid) FROM event_cold), 0)) + 1`).Scan(&maxTail, &l.nextSID)
	if err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	// Every session's rows are at or above its tail_from, every row of
	// the chunk tables (below the watermark or not) at most maxSeq: the
	// next row goes above them all.
	l.nextSeq = max(maxSeq+1, maxTail, l.trimmed, 1)
	// The live log starts at its lowest row at or above the watermark
	// (the whole log is below it if there is none).
	var low sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT min(m) FROM ("+logArms("min(seq) AS m", "seq >= ?1")+")", l.trimmed).Scan(&low); err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	l.trimmed = l.nextSeq
	if low.Valid {
		l.trimmed = low.Int64
	}
	l.coldBelow = l.nextSeq // every session may have cold rows
	q, err := conn.QueryContext(ctx, `SELECT sid, session_id, tail_from,
		coalesce((SELECT max(hi) + 1 FROM event_cold AS c WHERE c.sid = event_sessions.sid), 0) FROM event_sessions`)
	if err != nil {
		return nil, fmt.Errorf("read event sessions: %w", err)
	}
	for q.Next() {
		s := &logSession{}
		if err := q.Scan(&s.sid, &s.name, &s.tailFrom, &s.next); err != nil {
			q.Close()
			return nil, fmt.Errorf("read event sessions: %w", err)
		}
		l.byName[s.name], l.bySID[s.sid] = s, s
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read event sessions: %w", err)
	}
	q, err = conn.QueryContext(ctx, `SELECT l.sid, max(l.position) + 1 FROM event_log AS l
		JOIN event_sessions AS s ON s.sid = l.sid AND l.seq >= s.tail_from GROUP BY l.sid`)
	if err != nil {
		return nil, fmt.Errorf("read event positions: %w", err)
	}
	for q.Next() {
		var sid, next int64
		if err := q.Scan(&sid, &next); err != nil {
			q.Close()
			return nil, fmt.Errorf("read event positions: %w", err)
		}
		if s := l.bySID[sid]; s != nil {
			s.next = max(s.next, next)
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read event positions: %w", err)
	}
	q, err = conn.QueryContext(ctx, "SELECT sid, next_pos FROM event_cold_dead ORDER BY sid")
	if err != nil {
		return nil, fmt.Errorf("read closed sessions: %w", err)
	}
	for q.Next() {
		var d deadSession
		if err := q.Scan(&d.sid, &d.next); err != nil {
			q.Close()
			return nil, fmt.Errorf("read closed sessions: %w", err)
		}
		l.dead = append(l.dead, d)
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read closed sessions: %w", err)
	}
	l.rebuildPins()
	return l, nil
}

// compactLog moves the open sessions' log rows to event_cold, empties the
// log and purges the closed sessions' cold rows; one transaction.
func compactLog(ctx context.Context, conn *sql.Conn) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	for _, q := range []string{
		// Packs of at most 4096 rows (as a move's) of each session.
		`INSERT INTO event_cold ` + packColumns + ` SELECT ` + packSelect + `
			FROM event_log AS l JOIN event_sessions AS s ON s.sid = l.sid AND l.seq >= s.tail_from
			GROUP BY l.sid, l.seq >> 12 ORDER BY l.sid, min(l.seq)`,
		`UPDATE event_sessions SET tail_from = (SELECT max(coalesce(max(seq), 0) + 1, tail_from) FROM event_log)`,
		// The watermark above every row of the chunk tables, which are
		// then emptied.
		`UPDATE event_log_state SET trimmed = max(trimmed, coalesce((SELECT max(seq) FROM (` + logArms("seq", "1") + `)), 0) + 1)`,
		`DELETE FROM event_cold WHERE sid IN (SELECT sid FROM event_cold_dead)`,
		`DELETE FROM event_cold_dead`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	for k := range logChunks {
		if _, err := conn.ExecContext(ctx, "DELETE FROM "+chunkTable(k)); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
