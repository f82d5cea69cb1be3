package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/confab/confab/internal/store"
)

// finalDoc is a close's final transcript: composed from the session's
// stored events when the transcript describes itself as parts of them
// (store.FinalEvents) and every event it refers to is stored, else what
// its Write gives. The events are read through the read pool by the
// closing goroutine, not on the writer: the session is closed and its
// events durable (the journal waits for them), so nothing changes them
// before the close's own transaction drops them (a move between the log
// and event_cold keeps their bytes; the read is one transaction).
func (s *Store) finalDoc(ctx context.Context, id string, transcript store.JSONWriter) (json.RawMessage, error) {
	if transcript.Events != nil {
		if rows, err := s.finalRows(ctx, id); err == nil {
			if doc, ok := store.ComposeFinal(transcript.Events, rows); ok {
				return doc, nil
			}
		}
	}
	return store.Render(transcript)
}

// finalReads are the prepared statements finalRows reads with (LoadEvents'
// queries: the tail's is a UNION ALL over every chunk table, whose parse
// and plan cost more than the read itself when prepared per call).
type finalReads struct {
	once             sync.Once
	err              error
	sess, cold, tail *sql.Stmt
}

// finalRows returns a session's stored events in position order, as
// LoadEvents does, with statements prepared once on the read pool.
func (s *Store) finalRows(ctx context.Context, id string) (_ []store.EventRow, err error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	fr := &s.finalReads
	fr.once.Do(func() {
		prep := func(q string) *sql.Stmt {
			st, err := s.rdb.PrepareContext(ctx, q)
			fr.err = cmp.Or(fr.err, err)
			return st
		}
		fr.sess = prep("SELECT sid, max(tail_from, (SELECT trimmed FROM event_log_state)) FROM event_sessions WHERE session_id = ?")
		fr.cold = prep("SELECT data FROM event_cold WHERE sid = ? ORDER BY lo")
		fr.tail = prep(s.loadTail)
	})
	if fr.err != nil {
		return nil, fmt.Errorf("prepare the final transcript's reads: %w", fr.err)
	}
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var sid, tailFrom int64
	err = tx.StmtContext(ctx, fr.sess).QueryRowContext(ctx, id).Scan(&sid, &tailFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var evs []store.EventRow
	add := func(e packedEvent) error {
		evs = append(evs, store.EventRow{SessionID: id, Position: e.pos, EventID: e.eid, Data: e.data})
		return nil
	}
	packs, err := tx.StmtContext(ctx, fr.cold).QueryContext(ctx, sid)
	if err != nil {
		return nil, err
	}
	defer packs.Close()
	for packs.Next() {
		var b []byte
		if err := packs.Scan(&b); err != nil {
			return nil, err
		}
		if err := decodePack(b, add); err != nil {
			return nil, err
		}
	}
	if err := packs.Err(); err != nil {
		return nil, err
	}
	rows, err := tx.StmtContext(ctx, fr.tail).QueryContext(ctx, sid, tailFrom)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e packedEvent
		if err := rows.Scan(&e.pos, &e.eid, &e.at, &e.data); err != nil {
			return nil, err
		}
		add(e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !slices.IsSortedFunc(evs, func(a, b store.EventRow) int { return cmp.Compare(a.Position, b.Position) }) {
		slices.SortStableFunc(evs, func(a, b store.EventRow) int { return cmp.Compare(a.Position, b.Position) })
	}
	return evs, nil
}
