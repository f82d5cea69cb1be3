package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

// InsertSetting stores a setting unless it exists; see store.Settings.
// One statement: the conflicting row is locked and its value returned, so
// concurrent first writers all read the winner's value.
func (s *Store) InsertSetting(ctx context.Context, key, value string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("postgres: insert setting: %w: empty key", store.ErrInvalid)
	}
	var got string
	err := s.do(ctx, "setting "+key, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = settings.value RETURNING value`, key, value).Scan(&got)
	})
	if err != nil {
		return "", fmt.Errorf("postgres: insert setting %s: %w", key, err)
	}
	return got, nil
}
