package webapi

import (
	"sync"

	"github.com/confab/confab/internal/chat"
)

// keyIndex finds a chat by its customer's secure key, for the transports
// whose clients send only the key (CometD, §10 of the reference: "secureKey
// alone identifies the session"). Entries are added when a chat starts and
// dropped when a lookup or a sweep finds the chat gone; a sweep runs when
// the index has doubled since the last one, so it never holds more than
// about twice the chats in memory.
type keyIndex struct {
	engine *chat.Engine

	mu    sync.Mutex // guards the following
	byKey map[string]keyEntry
	swept int // size after the last sweep
}

type keyEntry struct{ chatID, userID string }

func newKeyIndex(e *chat.Engine) *keyIndex {
	return &keyIndex{engine: e, byKey: map[string]keyEntry{}}
}

// add records the key of a new chat's customer.
func (k *keyIndex) add(key, chatID, userID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.byKey[key] = keyEntry{chatID, userID}
	if len(k.byKey) > 2*k.swept+64 {
		k.sweepLocked()
	}
}

// get returns the chat and customer of key, if the chat still exists.
func (k *keyIndex) get(key string) (keyEntry, bool) {
	if key == "" {
		return keyEntry{}, false
	}
	k.mu.Lock()
	e, ok := k.byKey[key]
	k.mu.Unlock()
	if !ok {
		return keyEntry{}, false
	}
	if _, err := k.engine.Get(e.chatID); err != nil {
		k.mu.Lock()
		delete(k.byKey, key)
		k.mu.Unlock()
		return keyEntry{}, false
	}
	return e, true
}

// sweepLocked drops the entries of chats the engine no longer holds.
// Engine.Get takes only a shard's read lock, never k.mu.
func (k *keyIndex) sweepLocked() {
	for key, e := range k.byKey {
		if _, err := k.engine.Get(e.chatID); err != nil {
			delete(k.byKey, key)
		}
	}
	k.swept = len(k.byKey)
}

// size reports the number of entries (for tests).
func (k *keyIndex) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.byKey)
}
