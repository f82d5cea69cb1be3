package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

// AddPIIRule stores a masking rule; see store.PIIRules.
func (s *Store) AddPIIRule(ctx context.Context, r store.PIIRule) error {
	if r.ID == "" || r.Name == "" || r.Pattern == "" {
		return fmt.Errorf("postgres: add pii rule %q: %w: empty id, name or pattern", r.ID, store.ErrInvalid)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = s.now()
	}
	err := s.do(ctx, "pii rule "+r.ID, func(ctx context.Context, tx pgx.Tx) error {
		pos := r.Position
		if pos == 0 {
			if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(position), 0) + 1 FROM pii_rules").Scan(&pos); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO pii_rules (id, name, description, pattern, spec, min_digit_run, position, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, r.Name, r.Description, r.Pattern, r.Spec, r.MinDigitRun, pos, micros(r.UpdatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("postgres: add pii rule %s: %w", r.ID, err)
	}
	return nil
}

// ListPIIRules lists the masking rules in order; see store.PIIRules.
func (s *Store) ListPIIRules(ctx context.Context) ([]store.PIIRule, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, name, description, pattern, spec, min_digit_run, position, updated_at
		FROM pii_rules ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list pii rules: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.PIIRule, error) {
		var r store.PIIRule
		var updated int64
		err := row.Scan(&r.ID, &r.Name, &r.Description, &r.Pattern, &r.Spec, &r.MinDigitRun, &r.Position, &updated)
		r.UpdatedAt = fromMicros(updated)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list pii rules: %w", err)
	}
	return out, nil
}

// RemovePIIRule deletes a masking rule; see store.PIIRules.
func (s *Store) RemovePIIRule(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, "pii rule", "DELETE FROM pii_rules WHERE id = $1", id); err != nil {
		return fmt.Errorf("postgres: remove pii rule %s: %w", id, err)
	}
	return nil
}
