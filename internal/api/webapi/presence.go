package webapi

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// presence enforces flex-disconnect-timeout: a customer who makes no
// request for that long is removed with quit reason 3 (LeftDisconnect).
//
// Each customer has one timer. Requests do not touch it: they update the
// participant's LastActivity in the engine (Session.Touch and every change
// do), and when the timer fires it compares that time with the timeout then
// in force, removing the customer or re-arming itself for the remainder. A
// live push connection or a waiting long poll holds the customer: while any
// hold exists the timer re-arms for a whole period, and releasing the last
// hold counts as activity.
type presence struct {
	api *API

	mu      sync.Mutex // guards the following
	stopped bool
	byChat  map[string]*tracked // by chat id: the API creates one customer per chat
}

// tracked is one customer under watch.
type tracked struct {
	chatID, userID string
	holds          atomic.Int32
	timer          clock.Timer // set under presence.mu
}

func newPresence(a *API) *presence {
	return &presence{api: a, byChat: map[string]*tracked{}}
}

// timeout returns flex-disconnect-timeout as currently configured.
func (p *presence) timeout() time.Duration {
	return p.api.config().Settings.FlexDisconnectTimeout
}

// start watches the customer of a new chat.
func (p *presence) start(chatID, userID string) {
	t := &tracked{chatID: chatID, userID: userID}
	d := p.timeout()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if old := p.byChat[chatID]; old != nil {
		old.timer.Stop()
	}
	p.byChat[chatID] = t
	t.timer = p.api.clock.AfterFunc(d, func() { p.expire(t) })
}

// hold marks the customer of chatID as connected until release is called.
func (p *presence) hold(chatID string) (release func()) {
	p.mu.Lock()
	t := p.byChat[chatID]
	p.mu.Unlock()
	if t == nil {
		return func() {}
	}
	t.holds.Add(1)
	return func() {
		if t.holds.Add(-1) == 0 {
			if s, err := p.api.engine.Get(t.chatID); err == nil {
				s.Touch(t.userID) // the connection was activity up to now
			}
		}
	}
}

// forget stops watching the customer of chatID (it left).
func (p *presence) forget(chatID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.byChat[chatID]; t != nil {
		t.timer.Stop()
		delete(p.byChat, chatID)
	}
}

// stop stops every timer; presence does nothing more afterwards.
func (p *presence) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for id, t := range p.byChat {
		t.timer.Stop()
		delete(p.byChat, id)
	}
}

// watching reports how many customers are watched (for tests).
func (p *presence) watching() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byChat)
}

// expire runs when t's timer fires.
func (p *presence) expire(t *tracked) {
	p.mu.Lock()
	current := !p.stopped && p.byChat[t.chatID] == t
	p.mu.Unlock()
	if !current {
		return
	}
	s, err := p.api.engine.Get(t.chatID)
	if err != nil {
		p.drop(t)
		return
	}
	me, err := s.Participant(t.userID)
	if err != nil || me.Left || s.State() == chat.Closed {
		p.drop(t)
		return
	}
	timeout := p.timeout()
	if t.holds.Load() > 0 {
		p.rearm(t, timeout)
		return
	}
	if idle := p.api.clock.Now().Sub(me.LastActivity); idle < timeout {
		p.rearm(t, timeout-idle)
		return
	}
	if _, err := leave(s, t.userID, chat.LeftDisconnect); err != nil {
		p.api.log.Debug("flex-disconnect-timeout: customer already gone", "chat", t.chatID, "err", err)
	} else {
		p.api.log.Info("customer removed after flex-disconnect-timeout", "chat", t.chatID, "user", t.userID, "timeout", timeout)
	}
	p.drop(t)
}

func (p *presence) rearm(t *tracked, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped && p.byChat[t.chatID] == t {
		t.timer.Reset(d)
	}
}

func (p *presence) drop(t *tracked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byChat[t.chatID] == t {
		delete(p.byChat, t.chatID)
	}
}
