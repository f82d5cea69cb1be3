package validate

import (
	"slices"
	"strings"

	"github.com/confab/confab/internal/kv"
)

// serverOwned are the user-data keys the server sets on a session and its
// interaction (shared/reference/chat-protocols.md §9 and the reporting
// statistics); nobody outside may set them.
var serverOwned = []string{
	"ChatServerAppName", "ChatServerSessionId", "ChatServerSessionPassword", "ChatServerWebapiToken",
	"ContactId", "GCTI_Chat_AsyncCheckAt", "GCTI_Chat_AsyncStatus", "IsOnline",
}

// serverOwnedPrefixes are the families of server-owned keys: the csg_ and
// cse_ session statistics.
var serverOwnedPrefixes = []string{"csg_", "cse_"}

// ServerOwned reports whether key is one the server owns.
func ServerOwned(key string) bool {
	if _, found := slices.BinarySearch(serverOwned, key); found {
		return true
	}
	for _, p := range serverOwnedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// DropServerOwned deletes the server-owned keys from the top level of m
// and returns how many it deleted. Adapters call it on user data that
// customers, agents and workflows send, log a warning and count it.
func DropServerOwned(m kv.Map) int {
	n := 0
	for k := range m {
		if ServerOwned(k) {
			delete(m, k)
			n++
		}
	}
	return n
}
