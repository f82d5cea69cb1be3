package store

import (
	"context"
	"crypto/sha256"
)

// OwnerKeys finds a live session of a cluster by its creator's secure key,
// for the customers that send the key alone (CometD clients of the Java
// SDK publish without chatId; /genesys/2/chat-ntf file operations carry
// only secureKey). The owner row keeps a SHA-256 of the key (KeyHash), never
// the key: the key itself is checked against the session's stored header
// before anything is done with the session. Only stores that nodes share
// implement it (PostgreSQL), next to Ownership.
type OwnerKeys interface {
	// OwnNewKeyed is Ownership.OwnNew that also records keyHash on the
	// owner row (nil records none).
	OwnNewKeyed(ctx context.Context, sessionID, nodeID string, keyHash []byte) Ticket
	// OwnerByKey returns the id of the live session whose owner row holds
	// keyHash, or ErrNotFound (no such session: unknown key, closed chat,
	// or a session created before the store kept key hashes).
	OwnerByKey(ctx context.Context, keyHash []byte) (string, error)
}

// KeyHash is the hash of a secure key that an owner row keeps (SHA-256; a
// secure key is random, so no salt is needed to keep it from being
// guessed back).
func KeyHash(secureKey string) []byte {
	h := sha256.Sum256([]byte(secureKey))
	return h[:]
}
