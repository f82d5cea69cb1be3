package sqlite

import (
	"context"
	"fmt"

	"github.com/confab/confab/internal/store"
)

// AddPIIRule stores a masking rule; see store.PIIRules.
func (s *Store) AddPIIRule(ctx context.Context, r store.PIIRule) error {
	if r.ID == "" || r.Name == "" || r.Pattern == "" {
		return fmt.Errorf("sqlite: add pii rule %q: %w: empty id, name or pattern", r.ID, store.ErrInvalid)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = s.now()
	}
	err := s.do(ctx, "pii rule "+r.ID, func(ctx context.Context, w *writer) error {
		pos := r.Position
		if pos == 0 {
			if err := w.conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(position), 0) + 1 FROM pii_rules").Scan(&pos); err != nil {
				return err
			}
		}
		_, err := w.conn.ExecContext(ctx, `INSERT INTO pii_rules (id, name, description, pattern, spec, min_digit_run, position, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Name, r.Description, r.Pattern, r.Spec, r.MinDigitRun, pos, micros(r.UpdatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add pii rule %s: %w", r.ID, err)
	}
	return nil
}

// ListPIIRules lists the masking rules in order; see store.PIIRules.
func (s *Store) ListPIIRules(ctx context.Context) ([]store.PIIRule, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, name, description, pattern, spec, min_digit_run, position, updated_at
		FROM pii_rules ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list pii rules: %w", err)
	}
	defer rows.Close()
	var out []store.PIIRule
	for rows.Next() {
		var r store.PIIRule
		var updated int64
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &r.Pattern, &r.Spec, &r.MinDigitRun, &r.Position, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: list pii rules: %w", err)
		}
		r.UpdatedAt = fromMicros(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list pii rules: %w", err)
	}
	return out, nil
}

// RemovePIIRule deletes a masking rule; see store.PIIRules.
func (s *Store) RemovePIIRule(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "pii rule", "DELETE FROM pii_rules WHERE id = ?", id); err != nil {
		return fmt.Errorf("sqlite: remove pii rule %s: %w", id, err)
	}
	return nil
}
