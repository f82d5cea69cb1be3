package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/confab/confab/internal/store"
)

// PutDocument stores a new document; see store.Documents.
func (s *Store) PutDocument(ctx context.Context, d store.Document) error {
	if d.ID == "" || d.SessionID == "" {
		return fmt.Errorf("sqlite: put document %q: %w: empty id or session id", d.ID, store.ErrInvalid)
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	data := d.Data
	if data == nil {
		data = []byte{}
	}
	err := s.do(ctx, "document "+d.ID+" of "+d.SessionID, func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `INSERT INTO documents (id, session_id, name, content_type, size, data, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.SessionID, d.Name, d.ContentType, len(data), data, micros(d.CreatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: put document %s of session %s: %w", d.ID, d.SessionID, err)
	}
	return nil
}

// GetDocument returns a document with its bytes; see store.Documents.
func (s *Store) GetDocument(ctx context.Context, id string) (store.Document, error) {
	if err := s.readable(); err != nil {
		return store.Document{}, err
	}
	d := store.Document{ID: id}
	var created int64
	err := s.rdb.QueryRowContext(ctx, `SELECT session_id, name, content_type, size, data, created_at
		FROM documents WHERE id = ?`, id).Scan(&d.SessionID, &d.Name, &d.ContentType, &d.Size, &d.Data, &created)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Document{}, fmt.Errorf("sqlite: get document %s: %w", id, err)
	}
	if d.Data == nil {
		d.Data = []byte{}
	}
	d.CreatedAt = fromMicros(created)
	return d, nil
}

// DeleteDocument removes a document; see store.Documents.
func (s *Store) DeleteDocument(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "document", "DELETE FROM documents WHERE id = ?", id); err != nil {
		return fmt.Errorf("sqlite: delete document %s: %w", id, err)
	}
	return nil
}

// ListDocuments lists a session's documents without their bytes; see
// store.Documents.
func (s *Store) ListDocuments(ctx context.Context, sessionID string) ([]store.Document, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, name, content_type, size, created_at
		FROM documents WHERE session_id = ? ORDER BY created_at, id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list documents of session %s: %w", sessionID, err)
	}
	defer rows.Close()
	var out []store.Document
	for rows.Next() {
		d := store.Document{SessionID: sessionID}
		var created int64
		if err := rows.Scan(&d.ID, &d.Name, &d.ContentType, &d.Size, &created); err != nil {
			return nil, fmt.Errorf("sqlite: list documents of session %s: %w", sessionID, err)
		}
		d.CreatedAt = fromMicros(created)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list documents of session %s: %w", sessionID, err)
	}
	return out, nil
}
