package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/confab/confab/internal/store"
)

var _ store.Ownership = (*Store)(nil)

// PutNode registers or renews a node; see store.Ownership.
func (s *Store) PutNode(ctx context.Context, n store.Node) error {
	if n.ID == "" {
		return fmt.Errorf("postgres: put node: %w: empty id", store.ErrInvalid)
	}
	urls, err := json.Marshal(n.URLs)
	if err != nil {
		return fmt.Errorf("postgres: put node %s: %w", n.ID, err)
	}
	// On its own connection: a lease renewal must not queue behind a batch,
	// nor wait for one of the pool's connections (leaseconn.go).
	err = s.leaseQuery(ctx, `INSERT INTO cluster_nodes (id, urls, lease_until, draining) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET urls = excluded.urls, lease_until = excluded.lease_until, draining = excluded.draining`,
		[]any{n.ID, urls, micros(n.LeaseUntil), n.Draining}, nil)
	if err != nil {
		return fmt.Errorf("postgres: put node %s: %w", n.ID, err)
	}
	return nil
}

func scanNode(row pgx.Row) (store.Node, error) {
	var n store.Node
	var urls []byte
	var until int64
	if err := row.Scan(&n.ID, &urls, &until, &n.Draining); err != nil {
		return store.Node{}, err
	}
	n.LeaseUntil = fromMicros(until)
	if err := json.Unmarshal(urls, &n.URLs); err != nil {
		return store.Node{}, fmt.Errorf("node %s: urls: %w", n.ID, err)
	}
	return n, nil
}

// GetNode returns a node; see store.Ownership.
func (s *Store) GetNode(ctx context.Context, id string) (store.Node, error) {
	if err := s.readable(); err != nil {
		return store.Node{}, err
	}
	n, err := scanNode(s.pool.QueryRow(ctx, `SELECT id, urls, lease_until, draining FROM cluster_nodes WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Node{}, fmt.Errorf("postgres: get node %s: %w", id, err)
	}
	return n, nil
}

// ListNodes returns the registered nodes; see store.Ownership.
func (s *Store) ListNodes(ctx context.Context) ([]store.Node, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, urls, lease_until, draining FROM cluster_nodes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list nodes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Node, error) { return scanNode(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list nodes: %w", err)
	}
	return out, nil
}

// OwnNew queues a new session's owner row; see store.Ownership.
func (s *Store) OwnNew(ctx context.Context, sessionID, nodeID string) store.Ticket {
	if sessionID == "" || nodeID == "" {
		return store.FailedTicket(fmt.Errorf("postgres: own session: %w: empty session or node id", store.ErrInvalid))
	}
	return s.gc.Enqueue(ctx, op{what: "owner of " + sessionID, st: &stmt{
		build: fixed(`INSERT INTO session_owners (session_id, node_id, epoch) VALUES ($1, $2, 1)
			ON CONFLICT (session_id) DO NOTHING`, sessionID, nodeID),
		check: one(fmt.Errorf("postgres: own session %s: %w: it has an owner", sessionID, store.ErrExists)),
	}})
}

// GetOwner returns a session's owner row; see store.Ownership.
func (s *Store) GetOwner(ctx context.Context, sessionID string) (store.Owner, error) {
	if err := s.readable(); err != nil {
		return store.Owner{}, err
	}
	o := store.Owner{SessionID: sessionID}
	err := s.pool.QueryRow(ctx, `SELECT node_id, epoch FROM session_owners WHERE session_id = $1`, sessionID).Scan(&o.NodeID, &o.Epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Owner{}, fmt.Errorf("postgres: owner of %s: %w", sessionID, err)
	}
	return o, nil
}

// Claim moves a session to a new owner at the next epoch; see
// store.Ownership. It waits for the writes holding the old epoch that are
// in flight: it takes the old owner's fence lock exclusively, which every
// batch of that node holds shared until it commits (fencelock.go).
func (s *Store) Claim(ctx context.Context, from store.Owner, nodeID string) (store.Owner, error) {
	if err := s.readable(); err != nil {
		return store.Owner{}, err
	}
	to := store.Owner{SessionID: from.SessionID, NodeID: nodeID, Epoch: from.Epoch + 1}
	var tag pgconn.CommandTag
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, claimLock, from.NodeID); err != nil {
			return err
		}
		var err error
		tag, err = tx.Exec(ctx, `UPDATE session_owners SET node_id = $1, epoch = epoch + 1
			WHERE session_id = $2 AND node_id = $3 AND epoch = $4`, nodeID, from.SessionID, from.NodeID, from.Epoch)
		if err != nil || tag.RowsAffected() != 1 {
			return err
		}
		// The old owner's epoch ended: the writers that trust what they
		// read of its sessions read them again (fencetrust.go).
		_, err = tx.Exec(ctx, countClaim, from.NodeID)
		return err
	})
	if err != nil {
		return store.Owner{}, fmt.Errorf("postgres: claim %s: %w", from.SessionID, err)
	}
	if tag.RowsAffected() == 1 {
		return to, nil
	}
	if _, err := s.GetOwner(ctx, from.SessionID); errors.Is(err, store.ErrNotFound) {
		return store.Owner{}, fmt.Errorf("postgres: claim %s: %w", from.SessionID, store.ErrNotFound)
	}
	return store.Owner{}, fmt.Errorf("postgres: claim %s from %s at epoch %d: %w", from.SessionID, from.NodeID, from.Epoch, store.ErrConflict)
}

// Release deletes a closed session's owner row; see store.Ownership.
func (s *Store) Release(ctx context.Context, sessionID string, epoch int64) error {
	err := s.doStmt(ctx, "owner of "+sessionID, &stmt{
		build: fixed(`DELETE FROM session_owners WHERE session_id = $1 AND epoch = $2`, sessionID, epoch),
		check: one(fmt.Errorf("%w: epoch %d", store.ErrFenced, epoch)),
	})
	if err != nil {
		return fmt.Errorf("postgres: release %s: %w", sessionID, err)
	}
	s.trust.forget(sessionID)
	return nil
}

// ListOwned returns a node's owner rows; see store.Ownership.
func (s *Store) ListOwned(ctx context.Context, nodeID string) ([]store.Owner, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT session_id, node_id, epoch FROM session_owners WHERE node_id = $1 ORDER BY session_id`, nodeID)
	if err != nil {
		return nil, fmt.Errorf("postgres: sessions of node %s: %w", nodeID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Owner, error) {
		var o store.Owner
		err := row.Scan(&o.SessionID, &o.NodeID, &o.Epoch)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: sessions of node %s: %w", nodeID, err)
	}
	return out, nil
}

// fenceOwner refuses (ErrFenced) a write to a session carrying an owner
// epoch that is not the session's current one; the batch holds the owner's
// fence lock, so a claim waits for the write (fencelock.go). Epoch 0, or a
// session without an owner row, is not fenced.
func fenceOwner(ctx context.Context, tx pgx.Tx, sessionID string, epoch int64) error {
	if epoch == 0 {
		return nil
	}
	var cur int64
	err := tx.QueryRow(ctx, `SELECT epoch FROM session_owners WHERE session_id = $1`, sessionID).Scan(&cur)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	case cur != epoch:
		return fmt.Errorf("%w: epoch %d, the owner's is %d", store.ErrFenced, epoch, cur)
	}
	return nil
}

// ClaimsFrom returns how many claims have taken a session from node nodeID
// (fence_claims, counted by Claim in its own transaction; 0 if none ever
// did). A node that sees its count change looks for the sessions it lost
// (package cluster, claimed.go).
func (s *Store) ClaimsFrom(ctx context.Context, nodeID string) (int64, error) {
	if err := s.readable(); err != nil {
		return 0, err
	}
	var n int64
	err := s.leaseQuery(ctx, `SELECT claims FROM fence_claims WHERE node_id = $1`, []any{nodeID},
		func(r pgx.Row) error { return r.Scan(&n) })
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: claims from %s: %w", nodeID, err)
	}
	return n, nil
}
