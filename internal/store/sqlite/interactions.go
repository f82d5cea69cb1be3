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

// interactionCols are the columns scanInteraction reads, from the record
// (i) and its final transcript and statistics (f, interaction_finals,
// migration 0009), read with interactionFrom.
const interactionCols = `i.id, i.session_id, i.tenant, i.endpoint, i.queue, i.contact_id, i.subject, i.user_data,
	i.status, i.state, i.owner, i.version, i.created_at, i.closed_at, f.transcript, f.stats`

const interactionFrom = ` FROM interactions AS i LEFT JOIN interaction_finals AS f ON f.fid = i.final_id`

// The record writes' SQL (lazyStmts). A record's final transcript and
// statistics are a row of interaction_finals, written once at close
// (writeFinal), not columns of the record that every routing update would
// rewrite.
//
// A record is created with the rid the writer gives it (records.go), and a
// final row with its fid, so that neither write reads back what it wrote;
// the close of a record the writer knows writes by rid (closeRidSQL) and
// points it at its final row in the same statement.
const (
	createInSQL = `INSERT INTO interactions (rid, id, session_id, tenant, endpoint, queue, contact_id, subject, user_data,
			status, state, owner, version, created_at, closed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`
	updateInSQL = `UPDATE interactions SET session_id = ?, tenant = ?, endpoint = ?,
			queue = ?, contact_id = ?, subject = ?, user_data = ?, status = ?, state = ?, owner = ?,
			version = version + 1, closed_at = ?
			WHERE id = ? AND version = ? RETURNING rid, final_id`
	closeInSQL = `UPDATE interactions SET status = 'closed', closed_at = ?,
			user_data = coalesce(?, user_data), version = version + 1
			WHERE id = ? RETURNING rid, final_id`
	closeRidSQL = `UPDATE interactions SET status = 'closed', closed_at = ?,
			user_data = coalesce(?, user_data), version = version + 1, final_id = ?
			WHERE rid = ?`
	routeRidSQL = `UPDATE interactions SET state = ?, user_data = ?, version = version + 1 WHERE rid = ?`
	insFinalSQL = `INSERT INTO interaction_finals (fid, transcript, stats) VALUES (?, ?, ?)`
	updFinalSQL = `UPDATE interaction_finals SET transcript = ?, stats = ? WHERE fid = ?`
	setFinalSQL = `UPDATE interactions SET final_id = ? WHERE rid = ?`
)

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
	// Without a final transcript the create is one statement, which
	// fails whole or not at all: it needs no savepoint.
	do := s.do
	if in.Transcript == nil && in.Stats == nil {
		do = s.doBare
	}
	err := do(ctx, in.ID, func(ctx context.Context, w *writer) error {
		st, err := w.lazy(ctx, &w.lazyStmts.createIn, createInSQL)
		if err != nil {
			return classify(err)
		}
		rid, err := w.newRid(ctx)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(ctx, rid,
			in.ID, in.SessionID, in.Tenant, in.Endpoint, in.Queue, nullString(in.ContactID), in.Subject,
			blob(in.UserData), string(in.Status), in.State, in.Owner,
			micros(in.CreatedAt), nullMicros(in.ClosedAt))
		if err != nil {
			return classify(err)
		}
		var fid int64
		if in.Transcript != nil || in.Stats != nil {
			if fid, err = w.writeFinal(ctx, rid, sql.NullInt64{}, in.Transcript, in.Stats); err != nil {
				return err
			}
		}
		if in.Status == store.StatusOpen {
			w.recs.set(in.ID, recRef{rid: rid, fid: fid})
		}
		return nil
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
	in, err := scanInteraction(s.rdb.QueryRowContext(ctx, "SELECT "+interactionCols+interactionFrom+" WHERE i.id = ?", id))
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
		var rid int64
		var final sql.NullInt64
		err = st.QueryRowContext(ctx,
			in.SessionID, in.Tenant, in.Endpoint, in.Queue, nullString(in.ContactID), in.Subject,
			blob(in.UserData), string(in.Status), in.State, in.Owner,
			nullMicros(in.ClosedAt), in.ID, in.Version).Scan(&rid, &final)
		if err == nil {
			fid := final.Int64
			if in.Transcript != nil || in.Stats != nil || final.Valid {
				if fid, err = w.writeFinal(ctx, rid, final, in.Transcript, in.Stats); err != nil {
					return err
				}
			}
			w.recs.set(in.ID, recRef{rid: rid, fid: fid})
			if in.Status != store.StatusOpen {
				w.recs.close(in.ID)
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return classify(err)
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
	doc, err := s.finalDoc(ctx, id, transcript)
	if err != nil {
		return fmt.Errorf("sqlite: close interaction %s: %w", id, err)
	}
	err = s.doBare(ctx, id, func(ctx context.Context, w *writer) error {
		if ref, ok := w.recs.get(id); ok {
			return w.closeKnown(ctx, id, ref, closedAt, doc, stats, userData)
		}
		return w.inSavepoint(ctx, func() error {
			st, err := w.lazy(ctx, &w.lazyStmts.closeIn, closeInSQL)
			if err != nil {
				return classify(err)
			}
			var rid int64
			var final sql.NullInt64
			err = st.QueryRowContext(ctx, micros(closedAt), blob(userData), id).Scan(&rid, &final)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return classify(err)
			}
			fid, err := w.writeFinal(ctx, rid, final, doc, stats)
			if err != nil {
				return classify(err)
			}
			// In the same transaction: a crash leaves either the open record
			// with its intermediate transcript or the closed one without.
			if err := w.deleteEvents(ctx, id); err != nil {
				return err
			}
			w.recs.set(id, recRef{rid: rid, fid: fid}) // for the routing updates after the close
			w.recs.close(id)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("sqlite: close interaction %s: %w", id, err)
	}
	return nil
}

// ListInteractions lists interactions; see store.Interactions.
//
// A state filter without a status filter reads the open interactions and
// the closed ones apart, each through its index (interactions_open, a
// partial index of the open ones; interactions_closed_by_state), and merges
// them in the list's order.
func (s *Store) ListInteractions(ctx context.Context, f store.InteractionFilter) ([]store.Interaction, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	if f.State == "" || f.Status != "" {
		return s.listInteractions(ctx, s.rdb, f)
	}
	// One read transaction: both parts from the same snapshot, so that an
	// interaction closing meanwhile is listed once.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list interactions: %w", err)
	}
	defer tx.Rollback()
	fo, fc := f, f
	fo.Status, fc.Status = store.StatusOpen, store.StatusClosed
	open, err := s.listInteractions(ctx, tx, fo)
	if err != nil {
		return nil, err
	}
	closed, err := s.listInteractions(ctx, tx, fc)
	if err != nil {
		return nil, err
	}
	out := make([]store.Interaction, 0, len(open)+len(closed))
	for len(open) > 0 || len(closed) > 0 {
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		takeOpen := len(closed) == 0 ||
			(len(open) > 0 && listsBefore(&open[0], &closed[0]) != f.Newest)
		if takeOpen {
			out, open = append(out, open[0]), open[1:]
		} else {
			out, closed = append(out, closed[0]), closed[1:]
		}
	}
	return out, nil
}

// listsBefore reports whether a comes before b in creation order (time,
// then id).
func listsBefore(a, b *store.Interaction) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

func (s *Store) listInteractions(ctx context.Context, db querier, f store.InteractionFilter) ([]store.Interaction, error) {
	cols := interactionCols
	if !f.WithTranscript {
		cols = strings.Replace(cols, "f.transcript", "NULL", 1)
	}
	var where []string
	var args []any
	switch f.Status {
	case "":
	case store.StatusOpen, store.StatusClosed:
		// A literal, so that the planner may read the index of the open
		// interactions (interactions_open: partial, on status = 'open').
		where = append(where, "i.status = '"+string(f.Status)+"'")
	default:
		where = append(where, "i.status = ?")
		args = append(args, string(f.Status))
	}
	for _, c := range []struct{ col, val string }{
		{"i.queue", f.Queue}, {"i.state", f.State}, {"i.contact_id", f.ContactID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if f.AfterID != "" {
		var created int64
		err := db.QueryRowContext(ctx, "SELECT created_at FROM interactions WHERE id = ?", f.AfterID).Scan(&created)
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
		where = append(where, "(i.created_at, i.id) "+cmp+" (?, ?)")
		args = append(args, created, f.AfterID)
	}
	q := "SELECT " + cols + interactionFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Newest {
		q += " ORDER BY i.created_at DESC, i.id DESC"
	} else {
		q += " ORDER BY i.created_at, i.id"
	}
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
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

// closeKnown closes an open record the writer knows (records.go) without a
// read or a savepoint: one UPDATE by rid that also points the record at its
// final row, then that row written (appended with the next fid, or
// replaced), then the intermediate events deleted. The UPDATE fails whole
// or changes the record; a failure after it fails the batch (afterWrite),
// which rolls back with everything else.
func (w *writer) closeKnown(ctx context.Context, id string, ref recRef, closedAt time.Time, doc, stats, userData json.RawMessage) error {
	st, err := w.lazy(ctx, &w.lazyStmts.closeRid, closeRidSQL)
	if err != nil {
		return err
	}
	fid := ref.fid
	if fid == 0 {
		if fid, err = w.newFid(ctx); err != nil {
			return err
		}
	}
	res, err := st.ExecContext(ctx, micros(closedAt), blob(userData), fid, ref.rid)
	if err != nil {
		return classify(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return err
		}
		return store.ErrNotFound // nothing was written
	}
	if ref.fid == 0 {
		err = w.insertFinal(ctx, fid, doc, stats)
	} else {
		err = w.replaceFinal(ctx, fid, doc, stats)
	}
	if err != nil {
		return afterWrite("write the final transcript", err)
	}
	// In the same transaction: a crash leaves either the open record with
	// its intermediate transcript or the closed one without.
	if err := w.deleteEvents(ctx, id); err != nil {
		return afterWrite("delete the intermediate events", err)
	}
	w.recs.close(id)
	return nil
}

// writeFinal stores a record's final transcript and statistics: in its row
// of interaction_finals if it has one (final), else in a new row, appended,
// which the record then points to. It returns the row's fid.
func (w *writer) writeFinal(ctx context.Context, rid int64, final sql.NullInt64, transcript, stats json.RawMessage) (int64, error) {
	if final.Valid {
		return final.Int64, w.replaceFinal(ctx, final.Int64, transcript, stats)
	}
	fid, err := w.newFid(ctx)
	if err != nil {
		return 0, err
	}
	if err := w.insertFinal(ctx, fid, transcript, stats); err != nil {
		return 0, err
	}
	st, err := w.lazy(ctx, &w.lazyStmts.setFinal, setFinalSQL)
	if err != nil {
		return 0, err
	}
	_, err = st.ExecContext(ctx, fid, rid)
	return fid, err
}

// insertFinal appends a final row numbered fid.
func (w *writer) insertFinal(ctx context.Context, fid int64, transcript, stats json.RawMessage) error {
	st, err := w.lazy(ctx, &w.lazyStmts.insFinal, insFinalSQL)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, fid, blob(transcript), blob(stats))
	return err
}

// replaceFinal replaces the final row fid, which must exist.
func (w *writer) replaceFinal(ctx context.Context, fid int64, transcript, stats json.RawMessage) error {
	st, err := w.lazy(ctx, &w.lazyStmts.updFinal, updFinalSQL)
	if err != nil {
		return err
	}
	res, err := st.ExecContext(ctx, blob(transcript), blob(stats), fid)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("final row %d: %d rows replaced (%v)", fid, n, err)
	}
	return nil
}
