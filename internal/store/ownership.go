package store

import (
	"context"
	"errors"
	"time"
)

// ErrFenced means a write carried a stale owner epoch: another node has
// claimed the session since, and the write was refused.
var ErrFenced = errors.New("store: fenced: the session has a newer owner")

// Node is one node of a cluster in the registry.
type Node struct {
	ID string
	// URLs are the node's listeners by port id (webapi, agent, esp,
	// health), as base URLs other nodes forward to.
	URLs map[string]string
	// LeaseUntil is when the node's lease ends unless renewed; a node whose
	// lease has ended is dead and loses its sessions to whoever needs them.
	LeaseUntil time.Time
	// Draining is set while the node hands its sessions to the others.
	Draining bool
}

// Owner is the owner row of a live session.
type Owner struct {
	SessionID string
	NodeID    string
	// Epoch grows by one with every claim; writes carry it (EventRow.Epoch).
	Epoch int64
}

// Ownership is the node registry and the session ownership of a cluster.
// Only stores that nodes share implement it (PostgreSQL).
type Ownership interface {
	// PutNode registers a node or renews its lease and URLs.
	PutNode(ctx context.Context, n Node) error
	// GetNode returns a node, or ErrNotFound.
	GetNode(ctx context.Context, id string) (Node, error)
	// ListNodes returns every registered node ordered by id.
	ListNodes(ctx context.Context) ([]Node, error)

	// OwnNew queues, on the group-commit writer, the owner row of a new
	// session at epoch 1, ahead of the session's events; the Ticket fails
	// with ErrExists if the session has an owner.
	OwnNew(ctx context.Context, sessionID, nodeID string) Ticket
	// GetOwner returns a session's owner row, or ErrNotFound (no owner: a
	// closed or unknown session).
	GetOwner(ctx context.Context, sessionID string) (Owner, error)
	// Claim makes nodeID the session's owner at from.Epoch+1, provided the
	// row is still from (same node and epoch), and returns the new row.
	// ErrConflict if someone else changed it first, ErrNotFound if it has
	// no owner row. A write holding the old epoch that is in flight commits
	// before the claim or is refused after it.
	Claim(ctx context.Context, from Owner, nodeID string) (Owner, error)
	// Release deletes the owner row of a session that closed, provided its
	// epoch is epoch; ErrFenced otherwise.
	Release(ctx context.Context, sessionID string, epoch int64) error
	// ListOwned returns the owner rows of a node's sessions.
	ListOwned(ctx context.Context, nodeID string) ([]Owner, error)
}
