package store

import (
	"context"
	"encoding/json"
	"time"
)

// SharedRoute is a queued interaction as the nodes of a cluster share it,
// so that an agent on any node may be offered it (RouteShare).
type SharedRoute struct {
	ID    string
	Node  string // the node whose session it is
	Queue string
	// Since is when it started waiting: the cluster's order of arrival.
	Since time.Time
	// Interaction is the routing layer's snapshot offered and listed to
	// agents (opaque to the store).
	Interaction json.RawMessage
	// OfferedBy is, in ListRoutes, the node holding an unexpired
	// reservation of it ("" for none).
	OfferedBy string
}

// RouteShare is the cluster's shared routing state: each node's queued
// interactions, and the reservation that makes an offer of one exclusive
// across the nodes. Only stores that nodes share implement it
// (PostgreSQL). Its calls go straight to the database, not through the
// group commit.
type RouteShare interface {
	// PutRoutes stores node's queued interactions put (a newer write of
	// the same id replaces its node, queue and snapshot and keeps the
	// earlier Since) and deletes node's routes of the ids in del (another
	// node's route of the same id stays).
	PutRoutes(ctx context.Context, node string, put []SharedRoute, del []string) error
	// ListRoutes returns the routes of the nodes other than except whose
	// lease runs at now and that are not draining, oldest first.
	ListRoutes(ctx context.Context, except string, now time.Time) ([]SharedRoute, error)
	// ClearRoutes deletes every route, reservation and desk (DeskShare)
	// of node (its start: it shares its restored sessions again).
	ClearRoutes(ctx context.Context, node string) error
	// ReserveRoute gives node the exclusive right to offer interaction id
	// until until, if no other node holds an unexpired reservation of it
	// at now (a compare-and-set); it reports whether node holds it.
	ReserveRoute(ctx context.Context, id, node string, now, until time.Time) (bool, error)
	// ReleaseRoute ends node's reservation of id, if it holds one.
	ReleaseRoute(ctx context.Context, id, node string) error
}

// DeskShare keeps an agent's routing desk unique across a cluster: one
// node at a time holds an agent's desk (RouteShare stores implement it).
type DeskShare interface {
	// ClaimDesk gives node the agent's desk under token unless another
	// node holds it: a node whose lease runs at now and that is not
	// draining, and that is not from (a holder the caller found dead, to
	// be taken over). It returns the holder afterwards and whether it is
	// this claim.
	ClaimDesk(ctx context.Context, agentID, node, token, from string, now time.Time) (holder string, ok bool, err error)
	// ReleaseDesk ends the claim made with token, if it still holds.
	ReleaseDesk(ctx context.Context, agentID, token string) error
}
