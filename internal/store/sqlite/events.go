package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/confab/confab/internal/store"
)

// AppendEvent queues e on the group-commit writer; see store.Events.
func (s *Store) AppendEvent(ctx context.Context, e store.EventRow) store.Ticket {
	if err := validEvent(&e); err != nil {
		return store.FailedTicket(fmt.Errorf("sqlite: append event session %s position %d: %w", e.SessionID, e.Position, err))
	}
	return s.gc.Enqueue(ctx, op{ev: e})
}

// LoadEvents returns a session's stored events ordered by position: its
// packs of event_cold and its rows of the event log (see eventlog.go),
// read in one read transaction.
func (s *Store) LoadEvents(ctx context.Context, sessionID string) (_ []store.EventRow, err error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("sqlite: load events of session %s: %w", sessionID, err)
		}
	}()
	q, err := s.eventReads.get(s.rdb, s.loadTail)
	if err != nil {
		return nil, err
	}
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// Its log rows are those from tail_from on, and at or above the
	// watermark (eventchunk.go).
	var sid, tailFrom int64
	err = tx.StmtContext(ctx, q.sess).QueryRowContext(ctx, sessionID).Scan(&sid, &tailFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var evs []store.EventRow
	add := func(e packedEvent) error {
		evs = append(evs, store.EventRow{SessionID: sessionID, Position: e.pos, EventID: e.eid,
			Time: fromMicros(e.at), Data: e.data})
		return nil
	}
	// Its packs in event_cold (eventpack.go), in order of their lowest
	// position, then its log rows in position order.
	packs, err := tx.StmtContext(ctx, q.cold).QueryContext(ctx, sid)
	if err != nil {
		return nil, err
	}
	defer packs.Close()
	sorted := true // packs and log rows come in position order unless a late event filled a gap
	for packs.Next() {
		var b []byte
		if err := packs.Scan(&b); err != nil {
			return nil, err
		}
		n := len(evs)
		if err := decodePack(b, add); err != nil {
			return nil, err
		}
		sorted = sorted && (n == 0 || len(evs) == n || evs[n-1].Position < evs[n].Position)
	}
	if err := packs.Err(); err != nil {
		return nil, err
	}
	rows, err := tx.StmtContext(ctx, q.tail).QueryContext(ctx, sid, tailFrom)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := len(evs)
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
	sorted = sorted && (n == 0 || len(evs) == n || evs[n-1].Position < evs[n].Position)
	if !sorted {
		slices.SortStableFunc(evs, func(a, b store.EventRow) int { return cmp.Compare(a.Position, b.Position) })
	}
	return evs, nil
}

// DeleteEvents removes a session's events; see store.Events.
func (s *Store) DeleteEvents(ctx context.Context, sessionID string) error {
	err := s.do(ctx, sessionID, func(ctx context.Context, w *writer) error {
		return w.deleteEvents(ctx, sessionID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete events of session %s: %w", sessionID, err)
	}
	return nil
}

// eventReads are LoadEvents' statements, prepared on the read pool at the
// first load and kept: the log's query is a UNION ALL over every chunk
// table, whose parse and plan cost more than the read itself when prepared
// per call. A failed prepare is tried again at the next load.
type eventReads struct {
	mu               sync.Mutex // guards the following
	sess, cold, tail *sql.Stmt
}

func (r *eventReads) get(db *sql.DB, tailQuery string) (*eventReads, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tail != nil {
		return r, nil
	}
	var stmts [3]*sql.Stmt
	for i, q := range []string{
		"SELECT sid, max(tail_from, (SELECT trimmed FROM event_log_state)) FROM event_sessions WHERE session_id = ?",
		"SELECT data FROM event_cold WHERE sid = ? ORDER BY lo",
		tailQuery,
	} {
		st, err := db.PrepareContext(context.Background(), q)
		if err != nil {
			for _, p := range stmts[:i] {
				p.Close()
			}
			return nil, fmt.Errorf("prepare the event reads: %w", err)
		}
		stmts[i] = st
	}
	r.sess, r.cold, r.tail = stmts[0], stmts[1], stmts[2]
	return r, nil
}
