package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
// rows of event_cold and of the event log (see eventlog.go), read in one
// read transaction.
func (s *Store) LoadEvents(ctx context.Context, sessionID string) (_ []store.EventRow, err error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("sqlite: load events of session %s: %w", sessionID, err)
		}
	}()
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var sid, tailFrom int64
	err = tx.QueryRowContext(ctx, "SELECT sid, tail_from FROM event_sessions WHERE session_id = ?",
		sessionID).Scan(&sid, &tailFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT position, event_id, at, data FROM event_cold WHERE sid = ?1
		UNION ALL
		SELECT position, event_id, at, data FROM event_log WHERE seq >= ?2 AND sid = ?1
		ORDER BY 1`, sid, tailFrom)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []store.EventRow
	for rows.Next() {
		e := store.EventRow{SessionID: sessionID}
		var at int64
		if err := rows.Scan(&e.Position, &e.EventID, &at, (*[]byte)(&e.Data)); err != nil {
			return nil, err
		}
		e.Time = fromMicros(at)
		evs = append(evs, e)
	}
	return evs, rows.Err()
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
