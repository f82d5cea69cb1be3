package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/confab/confab/internal/store"
)

const responseCols = "id, name, category, shortcut, text, attributes, created_at, updated_at"

// AddStandardResponse stores a standard response; see
// store.StandardResponses.
func (s *Store) AddStandardResponse(ctx context.Context, r store.StandardResponse) error {
	if err := store.CheckStandardResponse(r); err != nil {
		return fmt.Errorf("sqlite: add %w", err)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	err := s.do(ctx, "standard response "+r.ID, func(ctx context.Context, w *writer) error {
		_, err := w.conn.ExecContext(ctx, `INSERT INTO standard_responses (`+responseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Name, r.Category, r.Shortcut, r.Text, string(r.Attributes), micros(r.CreatedAt), micros(r.UpdatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add standard response %s: %w", r.ID, err)
	}
	return nil
}

// UpdateStandardResponse replaces a standard response; see
// store.StandardResponses.
func (s *Store) UpdateStandardResponse(ctx context.Context, r store.StandardResponse) error {
	if err := store.CheckStandardResponse(r); err != nil {
		return fmt.Errorf("sqlite: update %w", err)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = s.now()
	}
	err := s.do(ctx, "standard response "+r.ID, func(ctx context.Context, w *writer) error {
		res, err := w.conn.ExecContext(ctx, `UPDATE standard_responses SET name = ?, category = ?, shortcut = ?, text = ?,
			attributes = ?, updated_at = ? WHERE id = ?`,
			r.Name, r.Category, r.Shortcut, r.Text, string(r.Attributes), micros(r.UpdatedAt), r.ID)
		if err != nil {
			return classify(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return store.ErrNotFound
	})
	if err != nil {
		return fmt.Errorf("sqlite: update standard response %s: %w", r.ID, err)
	}
	return nil
}

func scanResponse(sc scanner) (store.StandardResponse, error) {
	var r store.StandardResponse
	var attrs string
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.Name, &r.Category, &r.Shortcut, &r.Text, &attrs, &created, &updated); err != nil {
		return store.StandardResponse{}, err
	}
	if attrs != "" {
		r.Attributes = []byte(attrs)
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

// GetStandardResponse returns a standard response; see
// store.StandardResponses.
func (s *Store) GetStandardResponse(ctx context.Context, id string) (store.StandardResponse, error) {
	if err := s.readable(); err != nil {
		return store.StandardResponse{}, err
	}
	r, err := scanResponse(s.rdb.QueryRowContext(ctx, "SELECT "+responseCols+" FROM standard_responses WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.StandardResponse{}, fmt.Errorf("sqlite: get standard response %s: %w", id, err)
	}
	return r, nil
}

// ListStandardResponses lists the standard responses; see
// store.StandardResponses.
func (s *Store) ListStandardResponses(ctx context.Context) ([]store.StandardResponse, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+responseCols+" FROM standard_responses ORDER BY category, name, id")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list standard responses: %w", err)
	}
	defer rows.Close()
	var out []store.StandardResponse
	for rows.Next() {
		r, err := scanResponse(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list standard responses: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list standard responses: %w", err)
	}
	return out, nil
}

// RemoveStandardResponse deletes a standard response; see
// store.StandardResponses.
func (s *Store) RemoveStandardResponse(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "standard response", "DELETE FROM standard_responses WHERE id = ?", id); err != nil {
		return fmt.Errorf("sqlite: remove standard response %s: %w", id, err)
	}
	return nil
}
