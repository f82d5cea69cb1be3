package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// The intermediate transcripts are an append-only log (migration 0006):
// every event is one row of event_log keyed by the store's next sequence
// number, so the rows of one batch, whatever their sessions, fill the last
// pages of one B-tree. Where a session's rows are is kept in event_sessions
// and, complete, in the writer's memory (eventLog): the block [first,
// blockEnd) holds only the session's rows (written in one piece when the
// store opened or when the session was moved up the log); after it, the
// rows from tailFrom on that carry the session's sid. A closed session's
// bookkeeping goes at once; its rows go later, with every row below the
// oldest open session's, by range (trim). A session that stays open while
// the log grows past span rows is moved up (relocate), so one long chat
// never keeps the log from being trimmed.

// logSession is where one open session's events are.
type logSession struct {
	name                      string
	sid                       int64
	first, blockEnd, tailFrom int64
	next                      int64 // the position after the highest stored
	// gaps are the positions below next never stored, while they are few
	// (maxGaps; then gapsUnknown), so that an event filling a gap is
	// appended without a read. Copied on change: an undo record keeps the
	// old slice.
	gaps        []int64
	gapsUnknown bool
}

const maxGaps = 64

// skipTo records the positions from next to pos (excluded) as gaps.
func (s *logSession) skipTo(pos int64) {
	if pos <= s.next {
		return
	}
	if s.gapsUnknown || int64(len(s.gaps))+pos-s.next > maxGaps {
		s.gaps, s.gapsUnknown = nil, true
		return
	}
	g := slices.Clone(s.gaps)
	for p := s.next; p < pos; p++ {
		g = append(g, p)
	}
	s.gaps = g
}

// fill reports whether pos is a known gap, and takes it out.
func (s *logSession) fill(pos int64) bool {
	i := slices.Index(s.gaps, pos)
	if i < 0 {
		return false
	}
	s.gaps = slices.Delete(slices.Clone(s.gaps), i, i+1)
	return true
}

// mayHave reports whether pos below next may be stored (always, once the
// gaps are unknown).
func (s *logSession) mayHave(pos int64) bool { return s.gapsUnknown || !slices.Contains(s.gaps, pos) }

// pin is the lowest seq the session's rows may have.
func (s *logSession) pin() int64 { return min(s.first, s.tailFrom) }

// Log maintenance bounds.
const (
	defaultSpan = 1 << 18 // rows between the oldest open session and the end before it is moved up
	trimMin     = 256     // rows removed at once, at least (fewer wait for the next batch) ...
	trimMax     = 4096    // ... and at most, so that no batch waits long for a trim
)

// eventLog is the writer's view of the log. Only the writer goroutine uses
// it (and Open, before that goroutine starts).
type eventLog struct {
	byName  map[string]*logSession
	bySID   map[int64]*logSession
	nextSeq int64 // the seq the next appended row gets
	trimmed int64 // every row below is gone
	pins    []pinEntry
	span    int64

	undo             []undoRec // changes of the transaction in progress
	seqAt, trimmedAt int64     // nextSeq and trimmed when it began
}

// pinEntry orders the open sessions by pin; entries whose session has gone
// or moved are dropped when they reach the head.
type pinEntry struct {
	sid, pin int64
}

// undoRec restores one session's bookkeeping if the transaction rolls back.
type undoRec struct {
	s       *logSession
	old     logSession
	created bool // the session was new: forget it
	deleted bool // the session was removed: put it back
}

func (l *eventLog) begin() {
	l.undo = l.undo[:0]
	l.seqAt, l.trimmedAt = l.nextSeq, l.trimmed
}

func (l *eventLog) committed() { l.undo = l.undo[:0] }

// rollback undoes the whole transaction.
func (l *eventLog) rollback() {
	l.rollbackTo(0)
	l.nextSeq, l.trimmed = l.seqAt, l.trimmedAt
}

// rollbackTo undoes the changes recorded after mark (a savepoint's).
func (l *eventLog) rollbackTo(mark int) {
	if len(l.undo) <= mark {
		return
	}
	for i := len(l.undo) - 1; i >= mark; i-- {
		u := l.undo[i]
		switch {
		case u.created:
			delete(l.byName, u.s.name)
			delete(l.bySID, u.s.sid)
		case u.deleted:
			*u.s = u.old
			l.byName[u.s.name], l.bySID[u.s.sid] = u.s, u.s
		default:
			*u.s = u.old
		}
	}
	l.undo = l.undo[:mark]
	l.rebuildPins()
}

func (l *eventLog) rebuildPins() {
	l.pins = l.pins[:0]
	for _, s := range l.bySID {
		l.pins = append(l.pins, pinEntry{s.sid, s.pin()})
	}
	slices.SortFunc(l.pins, func(a, b pinEntry) int { return int(a.pin - b.pin) })
}

func (l *eventLog) changed(s *logSession) { l.undo = append(l.undo, undoRec{s: s, old: *s}) }

// lowWater is the lowest seq an open session's row may have: every row
// below belongs to closed sessions.
func (l *eventLog) lowWater() int64 {
	for len(l.pins) > 0 {
		p := l.pins[0]
		if s := l.bySID[p.sid]; s != nil && s.pin() == p.pin {
			return p.pin
		}
		l.pins = l.pins[1:]
	}
	return l.nextSeq
}

// loadLog compacts the log and reads it into memory; run by Open on the
// writer connection before the writer starts. Compacting drops the rows of
// closed sessions and rewrites the others in one block per session, so
// that loading a session's events at restoration reads its rows only.
func loadLog(ctx context.Context, conn *sql.Conn) (*eventLog, error) {
	var rows, maxSeq int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*), coalesce(max(seq), 0) FROM event_log").Scan(&rows, &maxSeq); err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	if rows > 0 {
		if err := compactLog(ctx, conn, maxSeq+1); err != nil {
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
	l.span = w.log.span
	w.log, w.seenVersion = *l, v
	w.reloads.Add(1)
	return nil
}

// readLog reads the log's bookkeeping: the sessions, their next positions,
// the log's ends.
func readLog(ctx context.Context, conn *sql.Conn) (*eventLog, error) {
	l := &eventLog{byName: map[string]*logSession{}, bySID: map[int64]*logSession{}, span: defaultSpan}
	var maxSeq int64
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM event_log").Scan(&l.trimmed, &maxSeq); err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	l.nextSeq = max(maxSeq+1, 1)
	if l.trimmed == 0 {
		l.trimmed = l.nextSeq
	}
	q, err := conn.QueryContext(ctx, "SELECT sid, session_id, first_seq, block_end, tail_from FROM event_sessions")
	if err != nil {
		return nil, fmt.Errorf("read event sessions: %w", err)
	}
	for q.Next() {
		s := &logSession{}
		if err := q.Scan(&s.sid, &s.name, &s.first, &s.blockEnd, &s.tailFrom); err != nil {
			q.Close()
			return nil, fmt.Errorf("read event sessions: %w", err)
		}
		l.byName[s.name], l.bySID[s.sid] = s, s
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read event sessions: %w", err)
	}
	q, err = conn.QueryContext(ctx, "SELECT sid, max(position) + 1 FROM event_log GROUP BY sid")
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
			s.next = next
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read event positions: %w", err)
	}
	l.rebuildPins()
	return l, nil
}

// compactLog rewrites the open sessions' rows from base on, one block per
// session in position order, and drops every other row; one transaction.
func compactLog(ctx context.Context, conn *sql.Conn, base int64) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	for _, q := range []string{
		`INSERT INTO event_log (seq, sid, position, event_id, at, data)
			SELECT ?1 - 1 + row_number() OVER (ORDER BY sid, position, seq), sid, position, event_id, at, data
			FROM event_log WHERE sid IN (SELECT sid FROM event_sessions)`,
		`DELETE FROM event_log WHERE seq < ?1`,
		`UPDATE event_sessions SET first_seq = b.f, block_end = b.e, tail_from = b.e
			FROM (SELECT sid, min(seq) AS f, max(seq) + 1 AS e FROM event_log GROUP BY sid) AS b
			WHERE b.sid = event_sessions.sid`,
		`UPDATE event_sessions SET first_seq = e.e, block_end = e.e, tail_from = e.e
			FROM (SELECT coalesce(max(seq) + 1, ?1) AS e FROM event_log) AS e
			WHERE event_sessions.sid NOT IN (SELECT sid FROM event_log)`,
	} {
		if _, err := conn.ExecContext(ctx, q, base); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// session returns the bookkeeping of a session, creating it (its
// event_sessions row, its block starting at seq) if it has none.
func (w *writer) session(ctx context.Context, name string, seq int64) (*logSession, error) {
	l := &w.log
	if s := l.byName[name]; s != nil {
		return s, nil
	}
	s := &logSession{name: name, first: seq, blockEnd: seq, tailFrom: seq}
	if err := w.insSession.QueryRowContext(ctx, name, seq, seq, seq).Scan(&s.sid); err != nil {
		return nil, err
	}
	l.byName[name], l.bySID[s.sid] = s, s
	l.undo = append(l.undo, undoRec{s: s, created: true})
	l.pins = append(l.pins, pinEntry{s.sid, s.pin()})
	return s, nil
}

// deleteEvents forgets a session's events: its bookkeeping goes now, its
// rows with the next trims.
func (w *writer) deleteEvents(ctx context.Context, name string) error {
	l := &w.log
	s := l.byName[name]
	if s == nil {
		return nil
	}
	if _, err := w.delSession.ExecContext(ctx, s.sid); err != nil {
		return err
	}
	l.undo = append(l.undo, undoRec{s: s, old: *s, deleted: true})
	delete(l.byName, name)
	delete(l.bySID, s.sid)
	return nil
}

// stored returns the stored event of a session at a position, if any
// (replays only: an append at a new position never reads).
func (w *writer) stored(ctx context.Context, s *logSession, pos int64) (eid, at int64, data []byte, ok bool, err error) {
	err = w.findEvent.QueryRowContext(ctx, s.first, s.blockEnd, s.tailFrom, s.sid, pos).Scan(&eid, &at, &data)
	if err == sql.ErrNoRows {
		return 0, 0, nil, false, nil
	}
	return eid, at, data, err == nil, err
}

// maintain runs at the start of a batch's transaction: it moves the oldest
// open sessions up the log when they hold too much of it below them, then
// removes a range of rows that only closed sessions had.
func (w *writer) maintain(ctx context.Context) error {
	l := &w.log
	low := l.lowWater()
	if l.nextSeq-low > l.span {
		if err := w.relocate(ctx, low, low+l.span/2); err != nil {
			return fmt.Errorf("move sessions up the event log: %w", err)
		}
		low = l.lowWater()
	}
	if low-l.trimmed < trimMin {
		return nil
	}
	to := min(low, l.trimmed+trimMax)
	if _, err := w.trim.ExecContext(ctx, to); err != nil {
		return fmt.Errorf("trim the event log: %w", err)
	}
	l.trimmed = to
	return nil
}

// relocate copies the rows below target of every session pinned below it
// to the end of the log, one block per session, so that the rows below
// target can be trimmed.
func (w *writer) relocate(ctx context.Context, low, target int64) error {
	l := &w.log
	type row struct {
		pos, eid, at int64
		data         []byte
	}
	moving := map[int64][]row{}
	var order []int64
	q, err := w.conn.QueryContext(ctx, "SELECT sid, position, event_id, at, data FROM event_log WHERE seq >= ? AND seq < ? ORDER BY seq", low, target)
	if err != nil {
		return err
	}
	for q.Next() {
		var sid int64
		var r row
		if err := q.Scan(&sid, &r.pos, &r.eid, &r.at, &r.data); err != nil {
			q.Close()
			return err
		}
		if s := l.bySID[sid]; s == nil || s.pin() >= target {
			continue
		}
		if _, ok := moving[sid]; !ok {
			order = append(order, sid)
		}
		moving[sid] = append(moving[sid], r)
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	for _, s := range l.bySID {
		if s.pin() < target && moving[s.sid] == nil {
			order = append(order, s.sid) // nothing below target: only its bookkeeping moves
		}
	}
	for _, sid := range order {
		s := l.bySID[sid]
		l.changed(s)
		s.first = l.nextSeq
		for _, r := range moving[sid] {
			if _, err := w.insOne.ExecContext(ctx, l.nextSeq, sid, r.pos, r.eid, r.at, r.data); err != nil {
				return err
			}
			l.nextSeq++
		}
		s.blockEnd, s.tailFrom = l.nextSeq, target
		if _, err := w.moveSession.ExecContext(ctx, s.first, s.blockEnd, s.tailFrom, sid); err != nil {
			return err
		}
	}
	l.rebuildPins()
	return nil
}
