package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/store"
)

// Sessions by secure key. A CometD customer of the Java SDK publishes with
// its secureKey alone (no chatId), and /genesys/2/chat-ntf file operations
// carry only the key, so a node that does not hold the chat must find it
// from the key. A new session's owner row keeps a hash of its creator's
// key (store.OwnerKeys, when the store has it); SessionOfKey looks it up.
// The hash only names a candidate: the caller checks the key itself
// against the session's stored header before it moves or serves anything.

// ownNew queues the owner row of a new session, with its key's hash when
// the store keeps them.
func (c *Cluster) ownNew(info *chat.Info) chat.Waiter {
	if k, ok := c.opts.Store.(store.OwnerKeys); ok && info.CreatorSecret != "" {
		return k.OwnNewKeyed(context.Background(), info.ID, c.opts.NodeID, store.KeyHash(info.CreatorSecret))
	}
	return c.opts.Store.OwnNew(context.Background(), info.ID, c.opts.NodeID)
}

// SessionOfKey returns the id of the live session whose creator's secure
// key is secureKey, or "" when the store knows none (an unknown or wrong
// key, a closed chat, a session created before the store kept key hashes,
// or a store without them). An error is the store's.
func (c *Cluster) SessionOfKey(ctx context.Context, secureKey string) (string, error) {
	k, ok := c.opts.Store.(store.OwnerKeys)
	if !ok || secureKey == "" {
		return "", nil
	}
	id, err := k.OwnerByKey(ctx, store.KeyHash(secureKey))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cluster: session of a secure key: %w", err)
	}
	return id, nil
}
