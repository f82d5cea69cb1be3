package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

var _ store.OwnerKeys = (*Store)(nil)

// OwnNewKeyed queues a new session's owner row with the hash of its
// creator's secure key; see store.OwnerKeys.
func (s *Store) OwnNewKeyed(ctx context.Context, sessionID, nodeID string, keyHash []byte) store.Ticket {
	if sessionID == "" || nodeID == "" {
		return store.FailedTicket(fmt.Errorf("postgres: own session: %w: empty session or node id", store.ErrInvalid))
	}
	return s.gc.Enqueue(ctx, op{what: "owner of " + sessionID, st: &stmt{
		build: fixed(`INSERT INTO session_owners (session_id, node_id, epoch, key_hash) VALUES ($1, $2, 1, $3)
			ON CONFLICT (session_id) DO NOTHING`, sessionID, nodeID, keyHash),
		check: one(fmt.Errorf("postgres: own session %s: %w: it has an owner", sessionID, store.ErrExists)),
	}})
}

// OwnerByKey returns the live session whose owner row holds keyHash; see
// store.OwnerKeys.
func (s *Store) OwnerByKey(ctx context.Context, keyHash []byte) (string, error) {
	if err := s.readable(); err != nil {
		return "", err
	}
	if len(keyHash) == 0 {
		return "", fmt.Errorf("postgres: session by key: %w", store.ErrNotFound)
	}
	var id string
	// Random keys do not collide; LIMIT 1 keeps a corrupt table from
	// failing the lookup.
	err := s.pool.QueryRow(ctx, `SELECT session_id FROM session_owners WHERE key_hash = $1 LIMIT 1`, keyHash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("postgres: session by key: %w", err)
	}
	return id, nil
}
