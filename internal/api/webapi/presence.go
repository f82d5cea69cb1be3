package webapi

import (
	"sync"
)

// presence connects the customer API to the engine's protocol-inactivity
// timing (flex-disconnect-timeout and flex-push-timeout live in the
// engine's one deadline per session, see chat.Session.Hold): it remembers
// which customer each chat has. A waiting long poll or an open CometD feed
// holds that customer, so it is not removed while one waits (up to
// _client_timeout); releasing the last hold counts as a request. A push
// WebSocket only attaches the customer (connected, but not activity): its
// client's keepalive frames are what count. Every request the API answers
// also counts (the engine's Touch and every change do).
type presence struct {
	api *API

	mu      sync.Mutex // guards the following
	stopped bool
	byChat  map[string]string // chat id → the customer's user id
}

func newPresence(a *API) *presence {
	return &presence{api: a, byChat: map[string]string{}}
}

// start remembers the customer of a new chat.
func (p *presence) start(chatID, userID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.byChat[chatID] = userID
	}
}

// hold marks the customer of chatID as connected until release is called.
func (p *presence) hold(chatID string) (release func()) {
	p.mu.Lock()
	userID, ok := p.byChat[chatID]
	p.mu.Unlock()
	if !ok {
		return func() {}
	}
	s, err := p.api.engine.Get(chatID)
	if err != nil {
		return func() {}
	}
	return s.Hold(userID)
}

// attach marks the customer of chatID as connected through a push socket
// until detach is called; unlike hold, the socket is not activity (see
// chat.Session.Attach).
func (p *presence) attach(chatID string) (detach func()) {
	p.mu.Lock()
	userID, ok := p.byChat[chatID]
	p.mu.Unlock()
	if !ok {
		return func() {}
	}
	s, err := p.api.engine.Get(chatID)
	if err != nil {
		return func() {}
	}
	return s.Attach(userID)
}

// forget drops the customer of chatID (it left).
func (p *presence) forget(chatID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.byChat, chatID)
}

// stop forgets every customer; presence does nothing more afterwards.
func (p *presence) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	clear(p.byChat)
}

// holds returns how many holds the customer of chatID has (-1 when it is
// not timed), and watching how many customers are still timed; for tests.
func (p *presence) holds(chatID string) int {
	p.mu.Lock()
	userID, ok := p.byChat[chatID]
	p.mu.Unlock()
	if !ok {
		return -1
	}
	s, err := p.api.engine.Get(chatID)
	if err != nil {
		return -1
	}
	return s.Held(userID)
}

func (p *presence) watching() int {
	p.mu.Lock()
	ids := make(map[string]string, len(p.byChat))
	for k, v := range p.byChat {
		ids[k] = v
	}
	p.mu.Unlock()
	n := 0
	for chatID, userID := range ids {
		if s, err := p.api.engine.Get(chatID); err == nil && s.Held(userID) >= 0 {
			n++
		}
	}
	return n
}
