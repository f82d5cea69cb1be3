package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/confab/confab/internal/store"
)

const interactionCols = `id, session_id, tenant, endpoint, queue, contact_id, subject, user_data,
	status, state, owner, version, created_at, closed_at, transcript, stats`

// CreateInteraction stores a new interaction; see store.Interactions.
func (s *Store) CreateInteraction(ctx context.Context, in store.Interaction) error {
	if in.ID == "" {
		return fmt.Errorf("sqlite: create interaction: %w: empty id", store.ErrInvalid)
	}
	if in.Status == "" {
		in.Status = store.StatusOpen
	}
	if err := validStatus(in.Status); err != nil {
		return fmt.Errorf("sqlite: create interaction %s: %w", in.ID, err)
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.now()
	}
	err := s.do(ctx, in.ID, func(ctx context.Context, w *writer) error {
		st, err := w.lazy(ctx, &w.lazyStmts.createIn, createInSQL)
		if err != nil {
			return classify(err)
		}
		_, err = st.ExecContext(ctx,
			in.ID, in.SessionID, in.Tenant, in.Endpoint, in.Queue, nullString(in.ContactID), in.Subject,
			blob(in.UserData), string(in.Status), in.State, in.Owner,
			micros(in.CreatedAt), nullMicros(in.ClosedAt), blob(in.Transcript), blob(in.Stats))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create interaction %s: %w", in.ID, err)
	}
	return nil
}

// GetInteraction returns an interaction; see store.Interactions.
func (s *Store) GetInteraction(ctx context.Context, id string) (store.Interaction, error) {
	if err := s.readable(); err != nil {
		return store.Interaction{}, err
	}
	in, err := scanInteraction(s.rdb.QueryRowContext(ctx, "SELECT "+interactionCols+" FROM interactions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Interaction{}, fmt.Errorf("sqlite: get interaction %s: %w", id, err)
	}
	return in, nil
}

// UpdateInteraction replaces an interaction if its version matches; see
// store.Interactions.
func (s *Store) UpdateInteraction(ctx context.Context, in store.Interaction) (int64, error) {
	if err := validStatus(in.Status); err != nil {
		return 0, fmt.Errorf("sqlite: update interaction %s: %w", in.ID, err)
	}
	err := s.do(ctx, in.ID, func(ctx context.Context, w *writer) error {
		st, err := w.lazy(ctx, &w.lazyStmts.updateIn, updateInSQL)
		if err != nil {
			return classify(err)
		}
		res, err := st.ExecContext(ctx,
			in.SessionID, in.Tenant, in.Endpoint, in.Queue, nullString(in.ContactID), in.Subject,
			blob(in.UserData), string(in.Status), in.State, in.Owner,
			nullMicros(in.ClosedAt), blob(in.Transcript), blob(in.Stats), in.ID, in.Version)
		if err != nil {
			return classify(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var v int64
		err = w.conn.QueryRowContext(ctx, "SELECT version FROM interactions WHERE id = ?", in.ID).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		return fmt.Errorf("%w: version %d is stale, the stored version is %d", store.ErrConflict, in.Version, v)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: update interaction %s: %w", in.ID, err)
	}
	return in.Version + 1, nil
}

// UpdateRouting queues routing's update of an interaction's state and user
// data; see store.RoutingWriter.
func (s *Store) UpdateRouting(ctx context.Context, u store.RoutingUpdate) store.Ticket {
	if err := store.CheckRoutingUpdate(u); err != nil {
		return store.FailedTicket(fmt.Errorf("sqlite: routing update %s: %w", u.ID, err))
	}
	return s.gc.Enqueue(ctx, op{route: &u, what: "interaction " + u.ID})
}

var _ store.RoutingWriter = (*Store)(nil)

// CloseInteraction closes an interaction; see store.Interactions.
func (s *Store) CloseInteraction(ctx context.Context, id string, closedAt time.Time, transcript store.JSONWriter, stats, userData json.RawMessage) error {
	// Encoded here, by the closing goroutine, not on the writer: a batch
	// carrying hundreds of closes (sessions ending together) used to spend
	// most of its time encoding their transcripts while every other write
	// waited (store timeline, dense: batches of 100–500 ms).
	doc, err := store.Render(transcript)
	if err != nil {
		return fmt.Errorf("sqlite: close interaction %s: %w", id, err)
	}
	err = s.do(ctx, id, func(ctx context.Context, w *writer) error {
		res, err := w.closeIn.ExecContext(ctx, micros(closedAt), blob(doc), blob(stats), blob(userData), id)
		if err != nil {
			return classify(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = store.ErrNotFound
			}
			return err
		}
		// In the same transaction: a crash leaves either the open record
		// with its intermediate transcript or the closed one without.
		return w.deleteEvents(ctx, id)
	})
	if err != nil {
		return fmt.Errorf("sqlite: close interaction %s: %w", id, err)
	}
	return nil
}

// ListInteractions lists interactions; see store.Interactions.
func (s *Store) ListInteractions(ctx context.Context, f store.InteractionFilter) ([]store.Interaction, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	cols := interactionCols
	if !f.WithTranscript {
		cols = strings.Replace(cols, "transcript", "NULL", 1)
	}
	var where []string
	var args []any
	for _, c := range []struct{ col, val string }{
		{"queue", f.Queue}, {"status", string(f.Status)}, {"state", f.State}, {"contact_id", f.ContactID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if f.AfterID != "" {
		var created int64
		err := s.rdb.QueryRowContext(ctx, "SELECT created_at FROM interactions WHERE id = ?", f.AfterID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlite: list interactions after %s: %w", f.AfterID, store.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: list interactions: %w", err)
		}
		cmp := ">"
		if f.Newest {
			cmp = "<"
		}
		where = append(where, "(created_at, id) "+cmp+" (?, ?)")
		args = append(args, created, f.AfterID)
	}
	q := "SELECT " + cols + " FROM interactions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Newest {
		q += " ORDER BY created_at DESC, id DESC"
	} else {
		q += " ORDER BY created_at, id"
	}
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list interactions: %w", err)
	}
	defer rows.Close()
	var out []store.Interaction
	for rows.Next() {
		in, err := scanInteraction(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list interactions: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list interactions: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanInteraction(sc scanner) (store.Interaction, error) {
	var in store.Interaction
	var contact sql.NullString
	var status string
	var created int64
	var closed sql.NullInt64
	err := sc.Scan(&in.ID, &in.SessionID, &in.Tenant, &in.Endpoint, &in.Queue, &contact, &in.Subject,
		(*[]byte)(&in.UserData), &status, &in.State, &in.Owner, &in.Version, &created, &closed,
		(*[]byte)(&in.Transcript), (*[]byte)(&in.Stats))
	if err != nil {
		return store.Interaction{}, err
	}
	in.ContactID = contact.String
	in.Status = store.InteractionStatus(status)
	in.CreatedAt = fromMicros(created)
	in.ClosedAt = fromNullMicros(closed)
	return in, nil
}

func validStatus(st store.InteractionStatus) error {
	if st != store.StatusOpen && st != store.StatusClosed {
		return fmt.Errorf("%w: unknown status %q", store.ErrInvalid, st)
	}
	return nil
}

// blob passes a JSON document as a BLOB, nil as NULL.
func blob(b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}
