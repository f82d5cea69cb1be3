package sqlite

import (
	"context"
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

// LoadEvents returns a session's stored events ordered by position.
func (s *Store) LoadEvents(ctx context.Context, sessionID string) ([]store.EventRow, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT e.position, e.event_id, e.at, e.data
		FROM event_sessions s JOIN session_events e ON e.sid = s.sid
		WHERE s.session_id = ? ORDER BY e.position`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: load events of session %s: %w", sessionID, err)
	}
	defer rows.Close()
	var evs []store.EventRow
	for rows.Next() {
		e := store.EventRow{SessionID: sessionID}
		var at int64
		if err := rows.Scan(&e.Position, &e.EventID, &at, (*[]byte)(&e.Data)); err != nil {
			return nil, fmt.Errorf("sqlite: load events of session %s: %w", sessionID, err)
		}
		e.Time = fromMicros(at)
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: load events of session %s: %w", sessionID, err)
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
