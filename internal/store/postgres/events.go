package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

// AppendEvent queues e on the group-commit writer; see store.Events.
func (s *Store) AppendEvent(ctx context.Context, e store.EventRow) store.Ticket {
	if err := validEvent(&e); err != nil {
		return store.FailedTicket(fmt.Errorf("postgres: append event session %s position %d: %w", e.SessionID, e.Position, err))
	}
	return s.gc.Enqueue(ctx, op{ev: e})
}

// LoadEvents returns a session's stored events ordered by position.
func (s *Store) LoadEvents(ctx context.Context, sessionID string) ([]store.EventRow, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT position, event_id, at, data FROM session_events
		WHERE session_id = $1 ORDER BY position`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("postgres: load events of session %s: %w", sessionID, err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.EventRow, error) {
		e := store.EventRow{SessionID: sessionID}
		var at int64
		err := row.Scan(&e.Position, &e.EventID, &at, &e.Data)
		e.Time = fromMicros(at)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: load events of session %s: %w", sessionID, err)
	}
	return evs, nil
}

// DeleteEvents removes a session's events; see store.Events.
func (s *Store) DeleteEvents(ctx context.Context, sessionID string) error {
	err := s.doStmt(ctx, sessionID, &stmt{
		build: fixed(`DELETE FROM session_events WHERE session_id = $1`, sessionID),
		check: func(int64) error { return nil },
	})
	if err != nil {
		return fmt.Errorf("postgres: delete events of session %s: %w", sessionID, err)
	}
	return nil
}
