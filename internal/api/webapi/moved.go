package webapi

import (
	"github.com/coder/websocket"

	"github.com/confab/confab/internal/chat"
)

// CloseMoved is the close code of a push connection whose chat this node no
// longer serves: another node of the cluster took it over (a drain handed
// it on, or the store fenced this node's copy). The chat goes on: the client
// subscribes again, through any node, from the last frame's nextPosition and
// misses nothing (the frames sent were all durable).
const CloseMoved websocket.StatusCode = 4010

// movedReason is the close reason sent with CloseMoved.
const movedReason = "the chat moved to another node; subscribe again from nextPosition"

// Moved closes, with CloseMoved, every push connection of a chat the engine
// no longer holds (the cluster dropped it). It reports how many it closed.
// Safe for concurrent use; the connections' writers end on their own.
func (a *API) Moved(chatID string) int {
	conns := a.guard.takePushes(chatID)
	for _, c := range conns {
		go c.Close(CloseMoved, movedReason)
	}
	return len(conns)
}

// takePushes forgets and returns every push connection of a chat.
func (g *guard) takePushes(chatID string) []*websocket.Conn {
	g.pushMu.Lock()
	defer g.pushMu.Unlock()
	list := g.pushes[chatID]
	delete(g.pushes, chatID)
	return list
}

// stillHeld reports whether the engine holds the session a push connection
// authenticated against: a connection that raced with Moved (authenticated
// before the drop, registered after it) is closed with CloseMoved too.
func (a *API) stillHeld(chatID string, sess *chat.Session) bool {
	s, err := a.engine.Get(chatID)
	return err == nil && s == sess
}
