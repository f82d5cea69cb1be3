package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

var _ store.DeskShare = (*Store)(nil)

// ClaimDesk claims an agent's desk for a node; see store.DeskShare. The
// upsert's condition is the compare-and-set: the row is taken over only
// from this node itself, from the dead holder the caller names, or from a
// node whose lease ended or that drains (or is gone).
func (s *Store) ClaimDesk(ctx context.Context, agentID, node, token, from string, now time.Time) (string, bool, error) {
	if err := s.readable(); err != nil {
		return "", false, err
	}
	var holder, tok string
	var err error
	for range 2 { // a concurrent first claim can leave this one nothing to read: look again
		err = s.claimDesk(ctx, agentID, node, token, from, now, &holder, &tok)
		if err != pgx.ErrNoRows {
			break
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("postgres: claim the desk of %s: %w", agentID, err)
	}
	return holder, tok == token, nil
}

func (s *Store) claimDesk(ctx context.Context, agentID, node, token, from string, now time.Time, holder, tok *string) error {
	return s.pool.QueryRow(ctx, `WITH up AS (
			INSERT INTO cluster_desks (agent, node, token) VALUES ($1, $2, $3)
			ON CONFLICT (agent) DO UPDATE SET node = excluded.node, token = excluded.token
			WHERE cluster_desks.node = excluded.node OR cluster_desks.node = $4
				OR NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.id = cluster_desks.node AND n.lease_until > $5 AND NOT n.draining)
			RETURNING node, token)
		SELECT node, token FROM up UNION ALL SELECT node, token FROM cluster_desks WHERE agent = $1 AND NOT EXISTS (SELECT 1 FROM up)`,
		agentID, node, token, from, micros(now)).Scan(holder, tok)
}

// ReleaseDesk ends a desk claim; see store.DeskShare.
func (s *Store) ReleaseDesk(ctx context.Context, agentID, token string) error {
	if err := s.readable(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM cluster_desks WHERE agent = $1 AND token = $2`, agentID, token); err != nil {
		return fmt.Errorf("postgres: release the desk of %s: %w", agentID, err)
	}
	return nil
}
