package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

const interactionCols = `id, session_id, tenant, endpoint, queue, contact_id, subject, user_data,
	status, state, owner, version, created_at, closed_at, transcript, stats`

// CreateInteraction stores a new interaction; see store.Interactions.
func (s *Store) CreateInteraction(ctx context.Context, in store.Interaction) error {
	if in.ID == "" {
		return fmt.Errorf("postgres: create interaction: %w: empty id", store.ErrInvalid)
	}
	if in.Status == "" {
		in.Status = store.StatusOpen
	}
	if err := validStatus(in.Status); err != nil {
		return fmt.Errorf("postgres: create interaction %s: %w", in.ID, err)
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.now()
	}
	err := s.doStmt(ctx, "interaction "+in.ID, &stmt{
		build: fixed(`INSERT INTO interactions (`+interactionCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $15)
			ON CONFLICT (id) DO NOTHING`,
			in.ID, in.SessionID, in.Tenant, in.Endpoint, in.Queue, nullString(in.ContactID), in.Subject,
			blob(in.UserData), string(in.Status), in.State, in.Owner,
			micros(in.CreatedAt), nullMicros(in.ClosedAt), blob(in.Transcript), blob(in.Stats)),
		check: one(fmt.Errorf("%w: the id is taken", store.ErrExists)),
	})
	if err != nil {
		return fmt.Errorf("postgres: create interaction %s: %w", in.ID, err)
	}
	return nil
}

// GetInteraction returns an interaction; see store.Interactions.
func (s *Store) GetInteraction(ctx context.Context, id string) (store.Interaction, error) {
	if err := s.readable(); err != nil {
		return store.Interaction{}, err
	}
	in, err := scanInteraction(s.pool.QueryRow(ctx, "SELECT "+interactionCols+" FROM interactions WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Interaction{}, fmt.Errorf("postgres: get interaction %s: %w", id, err)
	}
	return in, nil
}

// updateInteraction replaces an interaction's fields if its version is
// $15 and, when $16 is not 0, the session's owner epoch is $16 or absent
// (the batch holds the owner's fence lock: fencelock.go); it returns
// whether it did, the stored version before, and the owner epoch.
const updateInteraction = `WITH o AS (SELECT epoch FROM session_owners WHERE session_id = $14 AND $16::bigint <> 0),
	upd AS (UPDATE interactions SET session_id = $1, tenant = $2, endpoint = $3,
		queue = $4, contact_id = $5, subject = $6, user_data = $7, status = $8, state = $9, owner = $10,
		version = version + 1, closed_at = $11, transcript = $12, stats = $13
		WHERE id = $14 AND version = $15 AND NOT EXISTS (SELECT 1 FROM o WHERE o.epoch <> $16)
		RETURNING 1)
SELECT (SELECT count(*) FROM upd), (SELECT version FROM interactions WHERE id = $14), (SELECT epoch FROM o)`

// UpdateInteraction replaces an interaction if its version matches; see
// store.Interactions.
func (s *Store) UpdateInteraction(ctx context.Context, in store.Interaction) (int64, error) {
	if err := validStatus(in.Status); err != nil {
		return 0, fmt.Errorf("postgres: update interaction %s: %w", in.ID, err)
	}
	err := s.doStmt(ctx, "interaction "+in.ID, &stmt{
		build: fixed(updateInteraction,
			in.SessionID, in.Tenant, in.Endpoint, in.Queue, nullString(in.ContactID), in.Subject,
			blob(in.UserData), string(in.Status), in.State, in.Owner,
			nullMicros(in.ClosedAt), blob(in.Transcript), blob(in.Stats), in.ID, in.Version, in.Epoch),
		fence: fenceOf(in.ID, in.Epoch),
		row: func(row pgx.Row) error {
			var n int64
			var stored, owner *int64
			if err := row.Scan(&n, &stored, &owner); err != nil {
				return err
			}
			switch {
			case n == 1:
				return nil
			case owner != nil && in.Epoch != 0 && *owner != in.Epoch:
				return fmt.Errorf("%w: epoch %d, the owner's is %d", store.ErrFenced, in.Epoch, *owner)
			case stored == nil:
				return store.ErrNotFound
			}
			return fmt.Errorf("%w: version %d is stale, the stored version is %d", store.ErrConflict, in.Version, *stored)
		},
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: update interaction %s: %w", in.ID, err)
	}
	return in.Version + 1, nil
}

// UpdateRouting queues routing's update of an interaction's state and user
// data; see store.RoutingWriter.
func (s *Store) UpdateRouting(ctx context.Context, u store.RoutingUpdate) store.Ticket {
	if err := store.CheckRoutingUpdate(u); err != nil {
		return store.FailedTicket(fmt.Errorf("postgres: routing update %s: %w", u.ID, err))
	}
	return s.gc.Enqueue(ctx, op{route: &u, what: "interaction " + u.ID})
}

var _ store.RoutingWriter = (*Store)(nil)

// closeInteraction closes an interaction and, if there was one, deletes its
// session's events; it returns a row if it did.
const closeInteraction = `WITH c AS (UPDATE interactions SET status = 'closed', closed_at = $1,
		transcript = $2, stats = $3, user_data = coalesce($4, user_data), version = version + 1
		WHERE id = $5 RETURNING id),
	d AS (DELETE FROM session_events WHERE session_id = $5 AND EXISTS (SELECT 1 FROM c))
SELECT 1 FROM c`

// CloseInteraction closes an interaction and drops its intermediate events
// in one transaction; see store.Interactions.
func (s *Store) CloseInteraction(ctx context.Context, id string, closedAt time.Time, transcript store.JSONWriter, stats, userData json.RawMessage) error {
	if transcript.Events != nil { // composed in the backend (finalcompose.go)
		if done, err := s.tryCloseComposed(ctx, id, closedAt, transcript.Events, stats, userData); done || err != nil {
			if err != nil {
				return fmt.Errorf("postgres: close interaction %s: %w", id, err)
			}
			return nil
		}
	}
	err := s.doStmt(ctx, "interaction "+id, &stmt{
		build: func() (string, []any, error) {
			// Encoded here, on the writer, when this close's turn has come.
			doc, err := store.Render(transcript)
			if err != nil {
				return "", nil, err
			}
			return closeInteraction, []any{micros(closedAt), blob(doc), blob(stats), blob(userData), id}, nil
		},
		check: one(store.ErrNotFound),
	})
	if err != nil {
		return fmt.Errorf("postgres: close interaction %s: %w", id, err)
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
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, c := range []struct{ col, val string }{
		{"queue", f.Queue}, {"status", string(f.Status)}, {"state", f.State}, {"contact_id", f.ContactID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = "+arg(c.val))
		}
	}
	if f.AfterID != "" {
		var created int64
		err := s.pool.QueryRow(ctx, "SELECT created_at FROM interactions WHERE id = $1", f.AfterID).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("postgres: list interactions after %s: %w", f.AfterID, store.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: list interactions: %w", err)
		}
		cmp := ">"
		if f.Newest {
			cmp = "<"
		}
		where = append(where, "(created_at, id) "+cmp+" ("+arg(created)+", "+arg(f.AfterID)+")")
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
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list interactions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Interaction, error) { return scanInteraction(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list interactions: %w", err)
	}
	return out, nil
}

func scanInteraction(row pgx.Row) (store.Interaction, error) {
	var in store.Interaction
	var contact *string
	var status string
	var created int64
	var closed *int64
	var ud, tr, st []byte
	err := row.Scan(&in.ID, &in.SessionID, &in.Tenant, &in.Endpoint, &in.Queue, &contact, &in.Subject,
		&ud, &status, &in.State, &in.Owner, &in.Version, &created, &closed, &tr, &st)
	if err != nil {
		return store.Interaction{}, err
	}
	if contact != nil {
		in.ContactID = *contact
	}
	if ud != nil {
		in.UserData = ud
	}
	if tr != nil {
		in.Transcript = tr
	}
	if st != nil {
		in.Stats = st
	}
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
