package webapi

import (
	"crypto/subtle"
	"net/http"

	"github.com/confab/confab/internal/chat"
)

// RememberKey records key as the secure key of the customer userID of
// chatID, for the clients that later send the key alone (CometD file
// operations on /genesys/2/chat-ntf, key-only publishes). The CometD
// service calls this with what an authenticated answer reported (Result),
// for a chat the index may not know yet (IndexKeys, AdoptKey).
func (a *API) RememberKey(key, chatID, userID string) {
	if key == "" || chatID == "" || userID == "" {
		return
	}
	if e, ok := a.keys.get(key); ok && e == (keyEntry{chatID, userID}) {
		return
	}
	a.keys.add(key, chatID, userID)
}

// KnowsKey reports whether the key index holds key, for a chat this node
// holds.
func (a *API) KnowsKey(key string) bool {
	_, ok := a.keys.get(key)
	return ok
}

// AdoptKey records key in the key index when it is the secure key of a
// customer of chatID, a chat this node holds (one just brought here in a
// cluster: restored chats are not in the index), and reports whether it
// is. The key is compared in constant time against each customer's.
func (a *API) AdoptKey(key, chatID string) bool {
	if key == "" || chatID == "" {
		return false
	}
	if e, ok := a.keys.get(key); ok {
		return e.chatID == chatID
	}
	s, err := a.engine.Get(chatID)
	if err != nil {
		return false
	}
	for _, p := range s.Info().Participants {
		if p.Type == chat.Client && p.Protocol == chat.Flex && p.Secret != "" &&
			subtle.ConstantTimeCompare([]byte(p.Secret), []byte(key)) == 1 {
			a.keys.add(key, chatID, p.UserID)
			return true
		}
	}
	return false
}

// locateByKey runs Options.LocateKey for a CometD file operation whose
// secureKey the index does not know: in a cluster the chat comes to this
// node (where the client's Bayeux session lives) and its key into the
// index; outside a cluster, or for a key no chat has, nothing happens and
// the operation is refused as usual (the same answer as a wrong key on one
// node). A failure to locate is a 503 the client may retry.
func (a *API) locateByKey(rq *request) *failure {
	key := rq.form.get("secureKey")
	if a.locateKey == nil || key == "" || a.KnowsKey(key) {
		return nil
	}
	id, err := a.locateKey(rq.r.Context(), rq.chatID, key)
	if err != nil {
		a.log.Warn("chat-ntf: chat not located in the cluster", "chat", rq.chatID, "err", err)
		return &failure{status: http.StatusServiceUnavailable, errs: []apiError{{codeUnavailable, "the chat could not be located in the cluster; try again"}}}
	}
	a.AdoptKey(key, id)
	return nil
}

// IndexKeys records in the key index the secure keys of the customers of
// chatID, a chat restored on this node (at start, or claimed in a cluster),
// so that clients sending the key alone find it, and returns how many.
func (a *API) IndexKeys(chatID string) int {
	s, err := a.engine.Get(chatID)
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range s.Info().Participants {
		if p.Type == chat.Client && p.Protocol == chat.Flex && p.Secret != "" {
			a.keys.add(p.Secret, chatID, p.UserID)
			n++
		}
	}
	return n
}
