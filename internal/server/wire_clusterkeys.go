package server

import (
	"context"
	"errors"
	"net/http"
)

// Secure-key-only operations in a cluster: CometD publishes without chatId
// (the Java SDK's) and /genesys/2/chat-ntf file operations find their chat
// by its customer's secure key. The node's key index knows only the chats
// it created, restored or that a request naming them brought here; for any
// other key the store names the chat whose owner row holds the key's hash
// (cluster.SessionOfKey), cometdLocate checks the key itself against the
// chat's stored header and brings the chat here (the client's Bayeux
// session lives on this node), and the key joins the index. A key no live
// chat has is refused by the Chat API exactly as on one node.

// errKeyElsewhere is the chat-ntf answer's cause when this node drains and
// does not hold the chat: the client tries again (it is moved on by its
// next connect).
var errKeyElsewhere = errors.New("this node drains and does not hold the chat")

// cometdChatOfKey is the CometD server's ChatOfKey: the live chat of a
// secure key, from the store; nil outside a cluster.
func (h *haHooks) cometdChatOfKey() func(ctx context.Context, secureKey string) (string, error) {
	return func(ctx context.Context, secureKey string) (string, error) {
		if h.c == nil {
			return "", nil
		}
		return h.c.SessionOfKey(ctx, secureKey)
	}
}

// locateKey is the customer API's LocateKey (chat-ntf file operations): the
// chat that chatID names, or else the one of the key, brought to this node
// when the key is its customer's; "" when there is none.
func (h *haHooks) locateKey(s *Server) func(ctx context.Context, chatID, secureKey string) (string, error) {
	locate := h.cometdLocate(s)
	return func(ctx context.Context, chatID, secureKey string) (string, error) {
		if h.c == nil {
			return "", nil
		}
		id := chatID
		if id == "" {
			var err error
			if id, err = h.c.SessionOfKey(ctx, secureKey); err != nil || id == "" {
				return "", err
			}
		}
		elsewhere, err := locate(ctx, id, secureKey)
		if err != nil {
			return "", err
		}
		if elsewhere {
			return "", errKeyElsewhere
		}
		return id, nil
	}
}

// cometdForwardFiles is the CometD server's ForwardFiles: a chat-ntf
// request whose Bayeux client lives on another node (a balancer that does
// not keep the BAYEUX_BROWSER cookie on one node) goes to the node of its
// chat, found by the key (cluster.ForwardFiles); nil-safe outside a
// cluster.
func (h *haHooks) cometdForwardFiles(s *Server) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if h.c == nil {
			return false
		}
		return h.c.ForwardFiles(w, r, func(id string) bool {
			_, err := s.engine.Get(id)
			return err == nil
		})
	}
}
