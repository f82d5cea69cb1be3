package webapi

// RememberKey records key as the secure key of the customer userID of
// chatID, for the clients that later send the key alone (CometD file
// operations on /genesys/2/chat-ntf, key-only publishes). A chat restored on
// this node — after a restart, or taken over in a cluster — is not in the
// key index until a request naming it authenticates; the CometD service
// calls this with what such an authenticated answer reported (Result).
func (a *API) RememberKey(key, chatID, userID string) {
	if key == "" || chatID == "" || userID == "" {
		return
	}
	if e, ok := a.keys.get(key); ok && e == (keyEntry{chatID, userID}) {
		return
	}
	a.keys.add(key, chatID, userID)
}
