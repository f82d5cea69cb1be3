package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

const responseCols = "id, name, category, shortcut, text, attributes, created_at, updated_at"

// AddStandardResponse stores a standard response; see
// store.StandardResponses.
func (s *Store) AddStandardResponse(ctx context.Context, r store.StandardResponse) error {
	if err := store.CheckStandardResponse(r); err != nil {
		return fmt.Errorf("postgres: add %w", err)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	err := s.do(ctx, "standard response "+r.ID, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO standard_responses (`+responseCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			r.ID, r.Name, r.Category, r.Shortcut, r.Text, string(r.Attributes), micros(r.CreatedAt), micros(r.UpdatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("postgres: add standard response %s: %w", r.ID, err)
	}
	return nil
}

// UpdateStandardResponse replaces a standard response; see
// store.StandardResponses.
func (s *Store) UpdateStandardResponse(ctx context.Context, r store.StandardResponse) error {
	if err := store.CheckStandardResponse(r); err != nil {
		return fmt.Errorf("postgres: update %w", err)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = s.now()
	}
	err := s.do(ctx, "standard response "+r.ID, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE standard_responses SET name = $1, category = $2, shortcut = $3, text = $4,
			attributes = $5, updated_at = $6 WHERE id = $7`,
			r.Name, r.Category, r.Shortcut, r.Text, string(r.Attributes), micros(r.UpdatedAt), r.ID)
		if err != nil {
			return classify(err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		return store.ErrNotFound
	})
	if err != nil {
		return fmt.Errorf("postgres: update standard response %s: %w", r.ID, err)
	}
	return nil
}

func scanResponse(row pgx.Row) (store.StandardResponse, error) {
	var r store.StandardResponse
	var attrs string
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Name, &r.Category, &r.Shortcut, &r.Text, &attrs, &created, &updated); err != nil {
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
	r, err := scanResponse(s.pool.QueryRow(ctx, "SELECT "+responseCols+" FROM standard_responses WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.StandardResponse{}, fmt.Errorf("postgres: get standard response %s: %w", id, err)
	}
	return r, nil
}

// ListStandardResponses lists the standard responses (byte order, as
// SQLite sorts); see store.StandardResponses.
func (s *Store) ListStandardResponses(ctx context.Context) ([]store.StandardResponse, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+responseCols+` FROM standard_responses
		ORDER BY category COLLATE "C", name COLLATE "C", id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list standard responses: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.StandardResponse, error) { return scanResponse(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list standard responses: %w", err)
	}
	return out, nil
}

// RemoveStandardResponse deletes a standard response; see
// store.StandardResponses.
func (s *Store) RemoveStandardResponse(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "standard response", "DELETE FROM standard_responses WHERE id = $1", id); err != nil {
		return fmt.Errorf("postgres: remove standard response %s: %w", id, err)
	}
	return nil
}
