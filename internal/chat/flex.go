package chat

import (
	"fmt"
	"strings"
	"time"

	"github.com/confab/confab/internal/config"
)

// Protocol inactivity of customers (flex parties): a customer that makes no
// request for flex-disconnect-timeout is removed with reason 3. A customer
// subscribed to push notifications is timed with flex-push-timeout
// instead: after that long without a request the server pings it through
// the Pinger; if another flex-push-timeout passes without a request,
// flex-disconnect-timeout starts, and its expiry removes the customer.
//
// Push subscription, the reference's rule: a session created with
// GCTI_Chat_PushSubscribe=true while flex-push-on-join is on, or an async
// session (GCTI_Chat_AsyncMode=true) whose data carry push details
// (push_notification_deviceid and push_notification_type, or
// GCTI_GMS_PushDeviceId); a push adapter may also set it per customer
// (SetPushSubscribed, e.g. a CometD subscribe and unsubscribe).
//
// Connections: a request in progress (a waiting long poll, an open CometD
// feed) holds the customer (Hold): it is activity up to now, but only until
// _client_timeout after the last request. A push socket only attaches it
// (Attach): connected, not activity, so an idle socket cannot keep a
// customer, or its session's place, past flex-disconnect-timeout.

// User data keys that subscribe a customer to push notifications.
const (
	KeyPushSubscribe   = "GCTI_Chat_PushSubscribe"
	KeyPushDeviceID    = "push_notification_deviceid"
	KeyPushType        = "push_notification_type"
	KeyGMSPushDeviceID = "GCTI_GMS_PushDeviceId"
)

// customerTimer is one present customer's protocol-inactivity state.
type customerTimer struct {
	userID  string
	holds   int32     // requests in progress: waiting long polls, open push feeds
	sockets int32     // open push sockets: connected, but not activity (Attach)
	pushSet bool      // SetPushSubscribed decided, pushOn holds the answer
	pushOn  bool      //
	pinged  time.Time // last flex-push-timeout ping
}

func (s *Session) customerJoinedLocked(h *timerHooks, cfg *config.Config, ev *Event, now time.Time) {
	if ev.From.Type != Client {
		return
	}
	p := s.partyLocked(ev.From.UserID)
	if p == nil || p.Protocol != Flex {
		return
	}
	s.tm.customers = append(s.tm.customers, customerTimer{userID: p.UserID})
	c := &s.tm.customers[len(s.tm.customers)-1]
	s.armLocked(h, s.customerDeadlineLocked(cfg, c, now))
}

func (s *Session) customerLeftLocked(userID string) {
	for i := range s.tm.customers {
		if s.tm.customers[i].userID == userID {
			s.tm.customers = append(s.tm.customers[:i], s.tm.customers[i+1:]...)
			return
		}
	}
}

func (s *Session) customerLocked(userID string) *customerTimer {
	for i := range s.tm.customers {
		if s.tm.customers[i].userID == userID {
			return &s.tm.customers[i]
		}
	}
	return nil
}

// pushLocked reports whether customer c is timed with flex-push-timeout.
func (s *Session) pushLocked(cfg *config.Config, c *customerTimer, p *Participant) bool {
	if c.pushSet {
		return c.pushOn
	}
	has := func(k string) bool { return s.userData.String(k) != "" || p.UserData.String(k) != "" }
	truth := func(k string) bool {
		return strings.EqualFold(strings.TrimSpace(s.userData.String(k)), "true") ||
			strings.EqualFold(strings.TrimSpace(p.UserData.String(k)), "true")
	}
	if truth(KeyPushSubscribe) && cfg.Settings.FlexPushOnJoin {
		return true
	}
	return s.async && ((has(KeyPushDeviceID) && has(KeyPushType)) || has(KeyGMSPushDeviceID))
}

// customerDeadlineLocked is when c's next protocol-inactivity step is due.
func (s *Session) customerDeadlineLocked(cfg *config.Config, c *customerTimer, now time.Time) time.Time {
	p := s.partyLocked(c.userID)
	if p == nil || p.Left {
		return time.Time{}
	}
	d := s.heldDeadlineLocked(cfg, c, p, now)
	if c.holds > 0 {
		// A live connection is activity up to now, but an idle one holds
		// the customer only until _client_timeout after its last request
		// ([protection]: open sockets alone cannot keep a session slot).
		if hold := cfg.ServiceClientTimeout(s.service); hold > 0 {
			if limit := p.LastActivity.Add(hold); limit.Before(d) {
				d = limit
			}
		}
	}
	return d
}

// heldDeadlineLocked is customerDeadlineLocked before the hold's limit.
func (s *Session) heldDeadlineLocked(cfg *config.Config, c *customerTimer, p *Participant, now time.Time) time.Time {
	base := p.LastActivity
	if c.holds > 0 {
		base = now // a live connection is activity up to now
	}
	if !s.pushLocked(cfg, c, p) {
		return base.Add(cfg.Settings.FlexDisconnectTimeout)
	}
	if c.pinged.After(base) { // pinged, no request since
		return c.pinged.Add(cfg.Settings.FlexPushTimeout + cfg.Settings.FlexDisconnectTimeout)
	}
	return base.Add(cfg.Settings.FlexPushTimeout)
}

// expireCustomersLocked pings or removes the customers whose step is due
// and returns the user ids to ping. A customer removed while no agent is
// present closes the session, as the customer's own logout would.
func (s *Session) expireCustomersLocked(cfg *config.Config, now time.Time) (pings []string) {
	for i := 0; i < len(s.tm.customers); i++ {
		c := &s.tm.customers[i]
		d := s.customerDeadlineLocked(cfg, c, now)
		if d.IsZero() || now.Before(d) {
			continue
		}
		p := s.partyLocked(c.userID)
		if s.pushLocked(cfg, c, p) && !c.pinged.After(p.LastActivity) {
			c.pinged = now
			pings = append(pings, c.userID)
			continue
		}
		rc := s.removeLocked(p, LeftDisconnect, "", "", now) // also drops c from the list
		i--
		if s.presentLocked() == 0 || !s.hasAgentLocked() {
			s.closeLocked(RemovedByParty, p.UserID, now, rc)
			return pings
		}
	}
	return pings
}

// Hold marks a customer as connected (an open push connection or a waiting
// long poll) until release is called; while held the customer is not
// removed for protocol inactivity, up to [chat] _client_timeout (or the
// service's own) after its last request, and releasing the last hold
// counts as a request.
func (s *Session) Hold(userID string) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customerLocked(userID)
	if c == nil {
		return func() {}
	}
	c.holds++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.customerLocked(userID)
		if c == nil {
			return
		}
		if c.holds--; c.holds == 0 {
			if p := s.partyLocked(userID); p != nil && !p.Left {
				p.LastActivity = s.engine.clock.Now()
			}
		}
	}
}

// Attach marks a customer as connected through a push socket until detach
// is called. Unlike Hold, an open socket is not activity: what the client
// sends on it is (the adapter calls Touch), so a socket that brings nothing
// does not keep the customer, or its session's place under
// limit-for-sessions, past flex-disconnect-timeout (or flex-push-timeout)
// after the last request. Held counts it: a connected customer is not sent
// push notifications.
func (s *Session) Attach(userID string) (detach func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customerLocked(userID)
	if c == nil {
		return func() {}
	}
	c.sockets++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c := s.customerLocked(userID); c != nil && c.sockets > 0 {
			c.sockets--
		}
	}
}

// Held returns how many holds and attached sockets a customer has, or -1
// when the customer is not timed (not a present flex customer, or timers
// are off).
func (s *Session) Held(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.customerLocked(userID); c != nil {
		return int(c.holds + c.sockets)
	}
	return -1
}

// SetPushSubscribed says whether a customer is subscribed to push
// notifications (timed with flex-push-timeout) or not
// (flex-disconnect-timeout), overriding what the session's data say. The
// change counts as a request from the customer.
func (s *Session) SetPushSubscribed(userID string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customerLocked(userID)
	p := s.partyLocked(userID)
	if c == nil || p == nil || p.Left {
		return fmt.Errorf("push subscription of %s in session %s: %w", userID, s.id, ErrNotParticipant)
	}
	c.pushSet, c.pushOn = true, on
	now := s.engine.clock.Now()
	p.LastActivity = now
	if h := s.engine.timers.Load(); h != nil {
		s.rearmLocked(h, now)
	}
	return nil
}
