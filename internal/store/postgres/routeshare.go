package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
)

var _ store.RouteShare = (*Store)(nil)

// PutRoutes stores and deletes a node's shared routes; see
// store.RouteShare. One transaction on the pool.
func (s *Store) PutRoutes(ctx context.Context, node string, put []store.SharedRoute, del []string) error {
	if err := s.readable(); err != nil {
		return err
	}
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(del) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM cluster_routes WHERE node = $1 AND id = ANY($2)`, node, del); err != nil {
				return err
			}
		}
		if len(put) == 0 {
			return nil
		}
		ids := make([]string, len(put))
		queues := make([]string, len(put))
		since := make([]int64, len(put))
		snaps := make([][]byte, len(put))
		for i, r := range put {
			ids[i], queues[i], since[i], snaps[i] = r.ID, r.Queue, micros(r.Since), []byte(r.Interaction)
			if snaps[i] == nil {
				snaps[i] = []byte{}
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO cluster_routes (id, node, queue, since, interaction)
			SELECT id, $1, queue, since, interaction FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bytea[]) AS u(id, queue, since, interaction)
			ON CONFLICT (id) DO UPDATE SET node = excluded.node, queue = excluded.queue,
				since = least(cluster_routes.since, excluded.since), interaction = excluded.interaction`,
			node, ids, queues, since, snaps)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: put the routes of node %s: %w", node, err)
	}
	return nil
}

// ListRoutes returns the live nodes' shared routes; see store.RouteShare.
func (s *Store) ListRoutes(ctx context.Context, except string, now time.Time) ([]store.SharedRoute, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.node, r.queue, r.since, r.interaction, coalesce(o.node, '')
		FROM cluster_routes r JOIN cluster_nodes n ON n.id = r.node
		LEFT JOIN cluster_offers o ON o.id = r.id AND o.until > $2
		WHERE r.node <> $1 AND n.lease_until > $2 AND NOT n.draining
		ORDER BY r.since, r.id`, except, micros(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: list routes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SharedRoute, error) {
		var r store.SharedRoute
		var since int64
		err := row.Scan(&r.ID, &r.Node, &r.Queue, &since, &r.Interaction, &r.OfferedBy)
		r.Since = fromMicros(since)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list routes: %w", err)
	}
	return out, nil
}

// ClearRoutes deletes a node's shared routes; see store.RouteShare.
func (s *Store) ClearRoutes(ctx context.Context, node string) error {
	if err := s.readable(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM cluster_routes WHERE node = $1`, node); err != nil {
		return fmt.Errorf("postgres: clear the routes of node %s: %w", node, err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM cluster_offers WHERE node = $1`, node); err != nil {
		return fmt.Errorf("postgres: clear the routes of node %s: %w", node, err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM cluster_desks WHERE node = $1`, node); err != nil {
		return fmt.Errorf("postgres: clear the desks of node %s: %w", node, err)
	}
	return nil
}

// ReserveRoute takes the reservation of an offer; see store.RouteShare.
// The upsert's condition is the compare-and-set: an unexpired reservation
// of another node is left alone and nothing is returned.
func (s *Store) ReserveRoute(ctx context.Context, id, node string, now, until time.Time) (bool, error) {
	if err := s.readable(); err != nil {
		return false, err
	}
	var got string
	err := s.pool.QueryRow(ctx, `INSERT INTO cluster_offers (id, node, until) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET node = excluded.node, until = excluded.until
		WHERE cluster_offers.node = excluded.node OR cluster_offers.until <= $4
		RETURNING node`, id, node, micros(until), micros(now)).Scan(&got)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: reserve the offer of %s: %w", id, err)
	}
	return got == node, nil
}

// ReleaseRoute ends a node's reservation; see store.RouteShare.
func (s *Store) ReleaseRoute(ctx context.Context, id, node string) error {
	if err := s.readable(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM cluster_offers WHERE id = $1 AND node = $2`, id, node); err != nil {
		return fmt.Errorf("postgres: release the offer of %s: %w", id, err)
	}
	return nil
}
