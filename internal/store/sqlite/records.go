package sqlite

import (
	"context"
	"fmt"
)

// records is what the writer knows of the interaction records it wrote
// itself: the row (rid) of every open record it created and the row of its
// final transcript (fid, 0 for none), and the next free rid and fid. With
// them a close writes without reading: no RETURNING, no lookup of the id in
// its unique index, no third statement pointing the record at its final
// row, and no savepoint (see closeKnown); a routing update writes by rid.
// The last maxClosedKnown records closed stay known (routing writes a
// closed record's state once more after its close), older closed ones are
// forgotten, so what it holds is bounded by the open records. A record the
// writer does not know (created before the store was opened, or by another
// connection) is written as before, reading what it needs.
//
// It agrees with the database as the writer's transaction sees it, as the
// event log's bookkeeping does: a failed write in a savepoint undoes its
// changes here (rollbackTo), a failed batch all of its changes (rollback),
// and a commit of another connection (a tool, a test; PRAGMA data_version)
// empties it (reset). Used on the writer's goroutine only.
type records struct {
	byID    map[string]recRef
	closed  []string // ids closed, oldest first from head on; forgotten past maxClosedKnown
	head    int
	atLen   int // len(closed) and head as the batch began (committed, reset)
	atHead  int
	nextRid int64 // the next rid to give; 0: to read from the table
	nextFid int64 // the next fid to give; 0: to read from the table
	undo    []recUndo
}

// recRef is where a known open record is.
type recRef struct {
	rid, fid int64 // fid 0: no final row yet
	closed   bool
}

// maxClosedKnown is the number of closed records the writer keeps knowing.
const maxClosedKnown = 8192

// recUndo restores one id's entry.
type recUndo struct {
	id  string
	old recRef
	had bool
}

// get returns where the open record id is, if the writer knows it.
func (r *records) get(id string) (recRef, bool) {
	ref, ok := r.byID[id]
	return ref, ok
}

// set records where the open record id is.
func (r *records) set(id string, ref recRef) {
	if r.byID == nil {
		r.byID = make(map[string]recRef)
	}
	old, had := r.byID[id]
	r.undo = append(r.undo, recUndo{id: id, old: old, had: had})
	r.byID[id] = ref
}

// close marks the record id closed: its row stays known for the routing
// updates that follow, until maxClosedKnown later closes.
func (r *records) close(id string) {
	ref, ok := r.byID[id]
	if !ok {
		return
	}
	ref.closed = true
	r.set(id, ref)
	r.closed = append(r.closed, id)
	for len(r.closed)-r.head > maxClosedKnown {
		old := r.closed[r.head]
		r.head++
		if ref, ok := r.byID[old]; ok && ref.closed {
			r.forget(old)
		}
	}
}

// forget drops id.
func (r *records) forget(id string) {
	old, had := r.byID[id]
	if !had {
		return
	}
	r.undo = append(r.undo, recUndo{id: id, old: old, had: true})
	delete(r.byID, id)
}

// recMark is a point to roll back to (a savepoint's).
type recMark struct{ undo, closedLen, head int }

func (r *records) mark() recMark { return recMark{len(r.undo), len(r.closed), r.head} }

// rollbackTo undoes the changes made after m. Within a batch the closed
// list is only appended to and its head only advances (committed
// compacts it), so restoring both restores it.
func (r *records) rollbackTo(m recMark) {
	for i := len(r.undo) - 1; i >= m.undo; i-- {
		u := r.undo[i]
		if u.had {
			r.byID[u.id] = u.old
		} else {
			delete(r.byID, u.id)
		}
	}
	r.undo = r.undo[:m.undo]
	r.closed, r.head = r.closed[:m.closedLen], m.head
}

// rollback undoes the batch's changes. The next rid and fid stay where
// they are: numbers given in a rolled-back batch are never used, which
// leaves a gap and nothing else.
func (r *records) rollback() { r.rollbackTo(recMark{0, r.atLen, r.atHead}) }

// committed ends the batch: its changes are the database's.
func (r *records) committed() {
	r.undo = r.undo[:0]
	if r.head > maxClosedKnown {
		n := copy(r.closed, r.closed[r.head:])
		clear(r.closed[n:])
		r.closed, r.head = r.closed[:n], 0
	}
	r.atLen, r.atHead = len(r.closed), r.head
}

// reset forgets everything (another connection wrote): records are looked
// up again and the next numbers read again.
func (r *records) reset() {
	clear(r.byID)
	clear(r.closed)
	r.closed, r.head, r.atLen, r.atHead = r.closed[:0], 0, 0, 0
	r.undo = r.undo[:0]
	r.nextRid, r.nextFid = 0, 0
}

// newRid returns a rid above every record's, reading the largest at first
// use (inside the writer's transaction).
func (w *writer) newRid(ctx context.Context) (int64, error) {
	r := &w.recs
	if r.nextRid == 0 {
		if err := w.conn.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) + 1 FROM interactions").Scan(&r.nextRid); err != nil {
			return 0, fmt.Errorf("read the next record number: %w", err)
		}
	}
	r.nextRid++
	return r.nextRid - 1, nil
}

// newFid returns a fid above every final row's.
func (w *writer) newFid(ctx context.Context) (int64, error) {
	r := &w.recs
	if r.nextFid == 0 {
		if err := w.conn.QueryRowContext(ctx, "SELECT coalesce(max(fid), 0) + 1 FROM interaction_finals").Scan(&r.nextFid); err != nil {
			return 0, fmt.Errorf("read the next final number: %w", err)
		}
	}
	r.nextFid++
	return r.nextFid - 1, nil
}

// doBare queues fn as a bare write (op.bare) and waits for its commit.
func (s *Store) doBare(ctx context.Context, what string, fn func(ctx context.Context, w *writer) error) error {
	return s.gc.Enqueue(ctx, op{fn: fn, what: what, bare: true}).Wait(ctx)
}

// afterWrite marks err, a failure after a bare write's first statement
// changed the database, as failing the batch: no savepoint can undo what
// came before it. Its text keeps the cause; its chain does not, so that no
// sentinel makes it a failure of this write alone (isItemErr).
func afterWrite(step string, err error) error {
	return fmt.Errorf("%s, after the record was written (a bare write: the batch fails): %v", step, err)
}
