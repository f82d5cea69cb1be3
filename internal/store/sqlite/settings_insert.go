package sqlite

import (
	"context"
	"fmt"

	"github.com/confab/confab/internal/store"
)

// InsertSetting stores a setting unless it exists; see store.Settings.
// The one writer connection makes it atomic; the statement returns the
// value the key holds after it.
func (s *Store) InsertSetting(ctx context.Context, key, value string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("sqlite: insert setting: %w: empty key", store.ErrInvalid)
	}
	var got string
	err := s.do(ctx, "setting "+key, func(ctx context.Context, w *writer) error {
		return w.conn.QueryRowContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = settings.value RETURNING value`, key, value).Scan(&got)
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: insert setting %s: %w", key, err)
	}
	return got, nil
}
