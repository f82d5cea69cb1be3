package cometd

import (
	"context"
	"encoding/json"

	"github.com/confab/confab/internal/api/webapi"
)

// In a cluster. A Bayeux client lives on the node it handshook with, and
// its chat's events are followed from this node's engine, so the chat must
// be served here: before each operation on a chat the engine does not hold,
// Options.Locate brings it here (package cluster: Take claims it from its
// owner, dead or alive, and restores it). When this node loses a chat —
// another node took it, a drain handed it on, the store fenced this node's
// copy — the clients following it are dropped (Moved): their connect gets
// 402::Unknown client with advice reconnect=handshake, and they handshake
// again (with another node, when this one drains) and send
// requestNotifications from their next position, which resumes them with
// no gap and no duplicate (every event they were sent was durable). When
// the chat was taken by a client on another node of the same customer
// (Taken), they get 409 with advice none instead, as a client replaced on
// one node does, so that two clients cannot pull the chat back and forth.

// whyMoved is the removal reason of a client whose chat left the node.
const whyMoved = "chat moved"

// errElsewhere is chatService.publish's answer when the client must go to
// another node (this one drains and does not hold the chat): the publish
// fails with 402::Unknown client and advice reconnect=handshake.
const errElsewhere = "elsewhere"

// drainingBody is the answer to a requestChat on a draining node (as the
// REST form's).
var drainingBody = json.RawMessage(`{"statusCode":1,"chatEnded":false,"messages":[],"errors":[{"code":100,"advice":"this node is draining; start the chat on another node"}]}`)

// unlocatedBody is the answer to an operation whose chat the cluster could
// not locate (the store did not answer); the client may try again.
var unlocatedBody = json.RawMessage(`{"statusCode":1,"chatEnded":false,"messages":[],"errors":[{"code":100,"advice":"the chat could not be located in the cluster; try again"}]}`)

// Moved drops the clients whose feed follows a chat this node no longer
// holds (their next connect answer advises a new handshake) and reports
// how many. Safe for concurrent use.
func (s *Server) Moved(chatID string) int {
	cls := s.chat.followers(chatID)
	for _, c := range cls {
		s.remove(c, whyMoved)
	}
	return len(cls)
}

// Taken replaces the clients whose feed follows a chat that a client on
// another node took (409, advice none) and reports how many.
func (s *Server) Taken(chatID string) int {
	cls := s.chat.followers(chatID)
	for _, c := range cls {
		c.replace()
	}
	return len(cls)
}

// isDraining reports whether the node takes no new chats.
func (s *Server) isDraining() bool { return s.draining != nil && s.draining() }

// handingOver reports whether the node takes no new clients: it drains
// into other nodes.
func (s *Server) handingOver() bool { return s.handing != nil && s.handing() }

// followers returns the clients whose feed follows any customer of chatID.
func (cs *chatService) followers(chatID string) []*Client {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []*Client
	for uid := range cs.byChat[chatID] {
		out = append(out, cs.follow[binding{chatID, uid}]...)
	}
	return out
}

// locate brings the chat of an operation here before it runs, in a
// cluster. It returns "" to go on, errElsewhere when the client must go to
// another node, or "-" when it delivered a refusal itself.
func (cs *chatService) locate(ctx context.Context, c *Client, channel, chatID, secureKey string) string {
	if cs.srv.locate == nil || chatID == "" {
		return ""
	}
	elsewhere, err := cs.srv.locate(ctx, chatID, secureKey)
	switch {
	case elsewhere:
		cs.srv.remove(c, whyMoved)
		return errElsewhere
	case err != nil:
		cs.srv.log.Warn("cometd: chat not located in the cluster", "chat", chatID, "err", err)
		c.Deliver(channel, unlocatedBody)
		return "-"
	}
	return ""
}

// chatOfKey fills in the chatId of an operation published with its
// secure key alone, in a cluster, when this node's key index does not know
// the key (the chat lives on another node, or was restored here): the
// store names the chat whose customer has the key (Options.ChatOfKey), and
// locate then brings it here as for an operation naming it. A key no chat
// has leaves the call as it was, refused by the Chat API as on one node. It
// returns "-" when it delivered a refusal itself (the store did not answer).
func (cs *chatService) chatOfKey(ctx context.Context, c *Client, channel string, call *webapi.Call, key string) string {
	if cs.srv.chatOf == nil || cs.api.KnowsKey(key) {
		return ""
	}
	id, err := cs.srv.chatOf(ctx, key)
	if err != nil {
		cs.srv.log.Warn("cometd: chat of a secure key not located in the cluster", "err", err)
		c.Deliver(channel, unlocatedBody)
		return "-"
	}
	call.ChatID = id
	return ""
}

// fieldOf returns the value of the named field ("" if absent).
func fieldOf(fields []webapi.Field, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}
