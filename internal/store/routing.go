package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// RoutingUpdate is the routing layer's change to an interaction record:
// its state and its attached data, nothing else.
type RoutingUpdate struct {
	ID       string
	State    string
	UserData json.RawMessage
	// Epoch, when not 0, fences the update as Interaction.Epoch does: a
	// store that keeps session ownership refuses it with ErrFenced unless
	// it is the session's current owner epoch.
	Epoch int64
}

// RoutingWriter is a store that writes routing's updates without reading
// the record first.
type RoutingWriter interface {
	// UpdateRouting queues u on the store's writer and returns at once;
	// the Ticket completes when the update is durable. It sets the record's
	// state and user data and increments its version, whatever the version
	// was (a later UpdateInteraction with the old version conflicts).
	// ErrNotFound if there is no such interaction, ErrInvalid if ID is
	// empty or UserData is not nil and not a JSON document. Updates of one
	// interaction that meet in the same batch are coalesced: only the last
	// is written (they set the same fields), and the earlier ones complete
	// with its outcome.
	UpdateRouting(ctx context.Context, u RoutingUpdate) Ticket
}

// CheckRoutingUpdate validates u as every store does before queueing it.
func CheckRoutingUpdate(u RoutingUpdate) error {
	if u.ID == "" {
		return fmt.Errorf("%w: empty interaction id", ErrInvalid)
	}
	if u.UserData != nil && !json.Valid(u.UserData) {
		return fmt.Errorf("%w: user data is not JSON", ErrInvalid)
	}
	return nil
}
