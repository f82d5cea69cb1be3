package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/confab/confab/internal/store"
)

// outcomes returns the batch's failed writes, superseded routing updates
// failing with the update that replaced them.
func (r *batchRun) outcomes() []store.ItemError {
	if len(r.follow) == 0 {
		return r.failed
	}
	byIndex := make(map[int]error, len(r.failed))
	for _, f := range r.failed {
		byIndex[f.Index] = f.Err
	}
	for _, f := range r.follow {
		if err, ok := byIndex[f[1]]; ok {
			r.failed = append(r.failed, store.ItemError{Index: f[0], Err: err})
		}
	}
	return r.failed
}

// maxEncBuf bounds the encoding buffer the writer keeps between batches.
const maxEncBuf = 1 << 20

// maxChunk is the number of events inserted by one statement.
const maxChunk = 32

// batchRun is the state of one flush.
type batchRun struct {
	w        *writer
	batch    []op
	failed   []store.ItemError
	poisoned map[string]poison // sessions with a failed event in this batch
	chunk    []pending         // the events waiting to be inserted
	follow   [][2]int          // superseded routing updates: (index, index of the last)
}

// add gives event i its place: a new position joins the chunk with the next
// seq; a position already taken is checked against the stored event. A
// returned error fails the batch.
func (r *batchRun) add(ctx context.Context, i int) error {
	w, e := r.w, &r.batch[i].ev
	l := &w.log
	s, err := w.session(ctx, e.SessionID, l.nextSeq)
	if err != nil {
		if isItemErr(err) {
			r.fail(i, err)
			return nil
		}
		return err
	}
	if e.Position >= s.next {
		l.changed(s)
		s.skipTo(e.Position)
		s.next = e.Position + 1
		r.chunk = append(r.chunk, pending{i: i, seq: l.nextSeq, sid: s.sid})
		l.nextSeq++
		return nil
	}
	if !s.mayHave(e.Position) { // a known gap filled late
		l.changed(s)
		s.fill(e.Position)
		r.chunk = append(r.chunk, pending{i: i, seq: l.nextSeq, sid: s.sid})
		l.nextSeq++
		return nil
	}
	// A replay (or a gap filled late that was not tracked): the stored
	// event, if any, may be in the chunk not yet inserted.
	if err := r.flushChunk(ctx); err != nil {
		return err
	}
	if r.skip(i) {
		return nil
	}
	eid, at, data, ok, err := w.stored(ctx, s, e.Position)
	if err != nil {
		return err
	}
	if !ok {
		r.chunk = append(r.chunk, pending{i: i, seq: l.nextSeq, sid: s.sid})
		l.nextSeq++
		return nil
	}
	if eid != e.EventID || at != micros(e.Time) || !bytes.Equal(data, e.Data) {
		r.fail(i, fmt.Errorf("%w: a different event is stored at this position", store.ErrConflict))
	}
	return nil
}

// skip fails event i if an earlier event of its session failed in this
// batch, so that a session's stored events never skip a failed one.
func (r *batchRun) skip(i int) bool {
	e := &r.batch[i].ev
	p, ok := r.poisoned[e.SessionID]
	if !ok {
		return false
	}
	r.failed = append(r.failed, store.ItemError{Index: i, Err: fmt.Errorf(
		"sqlite: append event session %s position %d: not written after the failure of position %d in the same batch: %w",
		e.SessionID, e.Position, p.pos, p.err)})
	return true
}

// fail records the failure of event i and poisons its session.
func (r *batchRun) fail(i int, err error) {
	e := &r.batch[i].ev
	r.failed = append(r.failed, store.ItemError{Index: i, Err: fmt.Errorf(
		"sqlite: append event session %s position %d: %w", e.SessionID, e.Position, err)})
	if r.poisoned == nil {
		r.poisoned = make(map[string]poison)
	}
	r.poisoned[e.SessionID] = poison{e.Position, err}
}

// flushChunk inserts the pending events. A returned error fails the batch.
func (r *batchRun) flushChunk(ctx context.Context) error {
	if len(r.chunk) == 0 {
		return nil
	}
	w := r.w
	defer func() { r.chunk = r.chunk[:0] }()
	tbl := w.log.appendTable(r.chunk[0].seq)
	err := w.insertChunk(r, tbl)
	if err == nil {
		for _, p := range r.chunk {
			w.log.mem.appended(p.sid, p.seq, &r.batch[p.i].ev)
		}
	}
	if err == nil || (!isItemErr(err) && !errors.Is(err, errSeqGap)) {
		return err
	}
	insOne, err := w.lazy(ctx, &w.chunkStmts[tbl].insOne,
		"INSERT INTO "+chunkTable(tbl)+" (seq, sid, position, event_id, at, data) VALUES (?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	for _, p := range r.chunk {
		if r.skip(p.i) {
			continue
		}
		e := &r.batch[p.i].ev
		if _, err := insOne.ExecContext(ctx, p.seq, p.sid, e.Position, e.EventID, micros(e.Time), []byte(e.Data)); err != nil {
			if !isItemErr(err) {
				return err
			}
			r.fail(p.i, err)
			continue
		}
		w.log.mem.appended(p.sid, p.seq, e)
	}
	return nil
}

// poison records the first failed event of a session in a batch.
type poison struct {
	pos int64
	err error
}
