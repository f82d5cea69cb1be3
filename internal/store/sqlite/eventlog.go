package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync/atomic"
)

// The intermediate transcripts are an append-only log (migration 0006):
// every event is one row of event_log keyed by the store's next sequence
// number, so the rows of one batch, whatever their sessions, fill the last
// pages of one B-tree. An open session's rows in the log are those from its
// tail_from on that carry its sid (event_sessions; complete in the writer's
// memory, eventLog).
//
// The log is consumed from its low end, a bounded range per batch
// (maintain), by raising a watermark (trimmed, kept in event_log_state):
// rows below it are gone from the log. The log is sixteen chunk tables
// (eventchunk.go, migration 0011), and a chunk table whose rows are all
// below the watermark is emptied whole, at most one a batch, which frees
// its pages without writing them (a range DELETE wrote each page of the
// range once more). Rows below the oldest open session's tail_from belong
// to closed sessions only and are trimmed by the watermark alone; once the
// log is longer than span rows by a step (relocStep: span/8, within
// relocMin and relocMax), its oldest rows are moved (relocate, migrations
// 0007, 0008 and 0010): the open sessions' ones to event_cold, the
// watermark raised above the range in the same transaction. So every live
// event is in exactly one of the two places (the log at or above the
// watermark, event_cold), is moved at most once, and a batch moves at most
// relocMax rows, whatever the number of sessions a long run keeps open.
// Once the log is half its span long, the open sessions' new events are
// also kept in the writer's memory, up to a budget, so that a move takes
// them from there instead of reading the range back (eventmem.go). A move packs
// each open session's rows of the range into ONE event_cold row
// (eventpack.go: a blob of the events with their positions, ids and times,
// plus the lowest and highest position and the count), rows numbered in the
// order they are moved, with one index entry on (sid, lo, hi) per pack: a
// move of 4096 rows over 200 sessions inserts about 200 rows and 200 index
// entries instead of 4096 of each, and its blobs fill the table's last
// pages whole. The moves are large and rare rather than following the
// appends, so that packs are large. Readers (LoadEvents, replays, the open's
// bookkeeping) decode the packs; a closed session's bookkeeping goes in its
// closing transaction; its log rows go with the trims, its packs later by
// range of their lowest positions, at most purgeMax positions a batch
// (purge), its sid kept meanwhile in event_cold_dead so that no new
// session gets it.

// logSession is where one open session's events are.
type logSession struct {
	name     string
	sid      int64
	tailFrom int64 // its log rows have seq >= tailFrom
	next     int64 // the position after the highest stored
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

// pin is the lowest seq the session's log rows may have.
func (s *logSession) pin() int64 { return s.tailFrom }

// Log maintenance bounds, in rows per batch.
const (
	defaultSpan = 1 << 18 // rows the log keeps before its oldest are moved to event_cold
	trimMin     = 256     // rows trimmed at once, at least (fewer wait for the next batch): a trim raises the watermark (eventchunk.go)
	relocMin    = 256     // rows moved at once, at least (relocStep) ...
	relocMax    = 4096    // ... and at most, so that no batch waits long for a move
	purgeMax    = 4096    // positions of closed sessions' cold rows deleted per batch, at most
)

// relocStep is how far the log may grow past its span before its oldest
// rows move: span/8 within relocMin and relocMax (4096 rows for the
// default span). A move takes the whole excess, at most relocMax rows.
func (l *eventLog) relocStep() int64 { return min(max(l.span/8, relocMin), relocMax) }

// eventLog is the writer's view of the log. Only the writer goroutine uses
// it (and Open, before that goroutine starts).
type eventLog struct {
	byName  map[string]*logSession
	bySID   map[int64]*logSession
	nextSeq int64 // the seq the next appended row gets
	trimmed int64 // every row below is gone from the log
	nextSID int64 // the sid the next session gets: above every sid in any table
	// coldBelow: a session whose tailFrom is below it may have rows in
	// event_cold.
	coldBelow int64
	pins      []pinEntry
	span      int64
	packs     packer // a move's packs (eventpack.go): kept across reloads
	// chunks are the chunk tables holding rows, oldest first; the last
	// takes the appends (eventchunk.go). Never changed in place: a
	// transaction's changes make a new slice or append past chunksAt.
	chunks    []logChunk
	chunkSize int64  // rows of a chunk if set (tests; see chunkRows)
	mem       memLog // the open sessions' newest events (eventmem.go)
	// dead are the closed sessions whose cold rows are still to be
	// purged, from deadHead on (event_cold_dead).
	dead     []deadSession
	deadHead int

	undo                    []undoRec     // changes of the transaction in progress
	seqAt, trimmedAt, sidAt int64         // nextSeq, trimmed, nextSID when it began
	coldAt                  int64         // coldBelow when it began
	chunksAt                []logChunk    // chunks when it began
	deadLenAt, deadHeadAt   int           // dead's length and head when it began ...
	deadDoneAt              int64         // ... and its head's progress
	moved                   int64         // rows moved to event_cold by the transaction
	moves                   *atomic.Int64 // rows moved to event_cold by committed transactions (WriterStats)
	purged                  int64         // positions purged by the transaction
	mostMoved, mostPurged   int64         // the most one committed transaction moved and purged (tests)
}

// deadSession is a closed session whose cold rows, at positions below
// next, are deleted from done on.
type deadSession struct {
	sid, next, done int64
}

// pinEntry orders the open sessions by pin; entries whose session has gone
// are dropped when they reach the head.
type pinEntry struct {
	sid, pin int64
}

// undoRec restores one session's bookkeeping if the transaction rolls back.
type undoRec struct {
	s       *logSession
	old     logSession
	created bool // the session was new: forget it
	deleted bool // the session was removed: put it back
	dead    bool // ... and it was queued for a purge: unqueue it
}

func (l *eventLog) begin() {
	l.undo = l.undo[:0]
	l.seqAt, l.trimmedAt, l.sidAt, l.coldAt = l.nextSeq, l.trimmed, l.nextSID, l.coldBelow
	l.chunksAt = l.chunks
	l.deadLenAt, l.deadHeadAt, l.deadDoneAt = len(l.dead), l.deadHead, 0
	if l.deadHead < len(l.dead) {
		l.deadDoneAt = l.dead[l.deadHead].done
	}
	l.moved = 0
}

func (l *eventLog) committed() {
	l.undo = l.undo[:0]
	if l.deadHead > 64 && l.deadHead*2 > len(l.dead) {
		l.dead = slices.Delete(l.dead, 0, l.deadHead)
		l.deadHead = 0
	}
	if l.moves != nil {
		l.moves.Add(l.moved)
	}
	l.mostMoved, l.mostPurged = max(l.mostMoved, l.moved), max(l.mostPurged, l.purged)
	l.moved, l.purged = 0, 0
	l.memCommit()
}

// rollback undoes the whole transaction.
func (l *eventLog) rollback() {
	l.rollbackTo(0)
	l.nextSeq, l.trimmed, l.nextSID, l.coldBelow = l.seqAt, l.trimmedAt, l.sidAt, l.coldAt
	l.chunks = l.chunksAt
	l.dead, l.deadHead = l.dead[:l.deadLenAt], l.deadHeadAt
	if l.deadHead < len(l.dead) {
		l.dead[l.deadHead].done = l.deadDoneAt
	}
	for i := l.deadHead + 1; i < len(l.dead); i++ {
		l.dead[i].done = 0 // purged by the transaction: undone with it
	}
	l.moved, l.purged = 0, 0
	l.mem.abort()
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
			if u.dead {
				l.dead = l.dead[:len(l.dead)-1] // the last queued: undo runs backwards
			}
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

// session returns the bookkeeping of a session, creating it (its
// event_sessions row, its log rows from seq on) if it has none.
func (w *writer) session(ctx context.Context, name string, seq int64) (*logSession, error) {
	l := &w.log
	if s := l.byName[name]; s != nil {
		return s, nil
	}
	s := &logSession{name: name, sid: l.nextSID, tailFrom: seq}
	if _, err := w.insSession.ExecContext(ctx, s.sid, name, seq); err != nil {
		return nil, err
	}
	l.nextSID++
	l.byName[name], l.bySID[s.sid] = s, s
	l.undo = append(l.undo, undoRec{s: s, created: true})
	l.pins = append(l.pins, pinEntry{s.sid, s.pin()})
	return s, nil
}

// deleteEvents forgets a session's events: its bookkeeping goes now, its
// log rows with the next trims, its cold rows with the next purges.
func (w *writer) deleteEvents(ctx context.Context, name string) error {
	l := &w.log
	s := l.byName[name]
	if s == nil {
		return nil
	}
	if _, err := w.delSession.ExecContext(ctx, s.sid); err != nil {
		return err
	}
	u := undoRec{s: s, old: *s, deleted: true}
	if s.tailFrom < l.coldBelow && s.next > 0 {
		if _, err := w.insDead.ExecContext(ctx, s.sid, s.next); err != nil {
			return err
		}
		l.dead = append(l.dead, deadSession{sid: s.sid, next: s.next})
		u.dead = true
	}
	l.undo = append(l.undo, u)
	delete(l.byName, name)
	delete(l.bySID, s.sid)
	return nil
}

// findEventSQL reads where the stored event of a session (?1) at a
// position (?2) may be, its log rows starting at ?3 (at or above the
// watermark): the packs whose range holds the position (packed 1, to
// decode) and the log row (packed 0) in any chunk table.
func findEventSQL() string {
	return `SELECT 1, 0, 0, data FROM event_cold WHERE sid = ?1 AND lo <= ?2 AND hi >= ?2 UNION ALL ` +
		logArms("0, event_id, at, data", "seq >= ?3 AND sid = ?1 AND position = ?2")
}

// stored returns the stored event of a session at a position, if any
// (replays only: an append at a new position never reads).
func (w *writer) stored(ctx context.Context, s *logSession, pos int64) (eid, at int64, data []byte, ok bool, err error) {
	rows, err := w.findEvent.QueryContext(ctx, s.sid, pos, max(s.tailFrom, w.log.trimmed))
	if err != nil {
		return 0, 0, nil, false, err
	}
	defer rows.Close()
	for rows.Next() && !ok {
		var packed bool
		var b []byte
		if err := rows.Scan(&packed, &eid, &at, &b); err != nil {
			return 0, 0, nil, false, err
		}
		if !packed {
			return eid, at, b, true, nil
		}
		err := decodePack(b, func(e packedEvent) error {
			if e.pos == pos && !ok {
				eid, at, data, ok = e.eid, e.at, e.data, true
			}
			return nil
		})
		if err != nil {
			return 0, 0, nil, false, fmt.Errorf("session %d position %d: %w", s.sid, pos, err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, nil, false, err
	}
	return eid, at, data, ok, nil
}

// maintain runs at the start of a batch's transaction: it purges some of
// the closed sessions' cold rows, then consumes a range of the log's low
// end: rows only closed sessions had are deleted; once the log is longer
// than span, the oldest rows are moved (the open sessions' to event_cold)
// and deleted.
func (w *writer) maintain(ctx context.Context) error {
	l := &w.log
	if err := w.purge(ctx); err != nil {
		return fmt.Errorf("purge closed sessions' events: %w", err)
	}
	low := max(l.lowWater(), l.trimmed)
	var to int64
	switch excess := l.nextSeq - l.trimmed - l.span; {
	case low-l.trimmed >= trimMin:
		to = low // only the watermark moves: the rows go with their chunk's clear
	case excess >= l.relocStep():
		to = l.trimmed + min(excess, relocMax)
		n, err := w.relocateRange(ctx, l.trimmed, to)
		l.mem.consumeTo = to
		if err != nil {
			return fmt.Errorf("move open sessions' events to event_cold: %w", err)
		}
		l.moved += n
		l.coldBelow = max(l.coldBelow, to)
	default:
		return w.clearChunks(ctx)
	}
	if err := w.setTrimmed(ctx, to); err != nil {
		return err
	}
	l.trimmed = to
	return w.clearChunks(ctx)
}

// purge deletes the cold rows of closed sessions, at most purgeMax
// positions' worth.
func (w *writer) purge(ctx context.Context) error {
	l := &w.log
	for budget := int64(purgeMax); budget > 0 && l.deadHead < len(l.dead); {
		d := &l.dead[l.deadHead]
		hi := min(d.next, d.done+budget)
		if hi > d.done {
			if _, err := w.purgeCold.ExecContext(ctx, d.sid, d.done, hi); err != nil {
				return err
			}
			budget -= hi - d.done
			l.purged += hi - d.done
			d.done = hi
		}
		if d.done < d.next {
			break
		}
		if _, err := w.delDead.ExecContext(ctx, d.sid); err != nil {
			return err
		}
		l.deadHead++
	}
	return nil
}

// relocateRows reads the range [?1, ?2) of a chunk table in seq order, for
// a move.
const relocateRows = `SELECT seq, sid, position, event_id, at, data FROM %s WHERE seq >= ?1 AND seq < ?2`

// relocateRange packs each open session's rows of the log range [from, to)
// into one event_cold row (the caller then deletes the range) and returns
// the number of events moved. The rows are taken in seq order, from memory
// if it holds the range (eventmem.go), else read from the chunk tables (a
// range of the log's key: no sort), and packed in Go; the packs are
// inserted in sid order.
func (w *writer) relocateRange(ctx context.Context, from, to int64) (int64, error) {
	l := &w.log
	p := &l.packs
	p.reset()
	if l.mem.covers(from, to) {
		l.mem.each(from, to, func(seq, sid int64, e packedEvent) {
			if s := l.bySID[sid]; s != nil && seq >= s.tailFrom {
				p.add(sid, e)
			}
		})
	} else {
		for i, c := range l.chunks { // the chunks holding part of the range
			end := l.nextSeq
			if i+1 < len(l.chunks) {
				end = l.chunks[i+1].from
			}
			if end <= from || c.from >= to {
				continue
			}
			if err := w.relocateChunk(ctx, c.tbl, from, to); err != nil {
				return 0, err
			}
		}
	}
	if len(p.order) == 0 {
		return 0, nil
	}
	ins, err := w.lazy(ctx, &p.ins, insertPackSQL)
	if err != nil {
		return 0, err
	}
	slices.Sort(p.order)
	var moved int64
	for _, sid := range p.order {
		pb := p.bufs[sid]
		b, err := pb.sorted()
		if err != nil {
			return 0, fmt.Errorf("pack session %d: %w", sid, err)
		}
		if _, err := ins.ExecContext(ctx, sid, pb.lo, pb.hi, pb.n, b); err != nil {
			return 0, err
		}
		moved += pb.n
	}
	if l.mem.covers(from, to) {
		l.mem.moved += moved
	}
	return moved, nil
}

// relocateChunk adds the open sessions' rows of the range [from, to) of
// chunk table k to the move's packs.
func (w *writer) relocateChunk(ctx context.Context, k int, from, to int64) error {
	l := &w.log
	st, err := w.lazy(ctx, &w.chunkStmts[k].relocate, fmt.Sprintf(relocateRows, chunkTable(k)))
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, from, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	// Declared once: Scan's pointers make them escape, and declared in the
	// loop they were four allocations per row moved (an eighth of the
	// move's CPU in BenchmarkEventLogMove without memory). packer.add
	// copies the data, so the RawBytes need not outlive the row.
	var seq, sid int64
	var e packedEvent
	var data sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&seq, &sid, &e.pos, &e.eid, &e.at, &data); err != nil {
			return err
		}
		if s := l.bySID[sid]; s != nil && seq >= s.tailFrom {
			e.data = data
			l.packs.add(sid, e)
		}
	}
	return rows.Err()
}
