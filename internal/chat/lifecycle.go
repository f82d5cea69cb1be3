package chat

import (
	"strconv"
	"time"

	"github.com/confab/confab/internal/kv"
)

// LeaveRequest describes a party leaving a session.
type LeaveRequest struct {
	UserID string
	After  AfterAction
	// Reason overrides the reason code recorded on partyLeft. When it is
	// LeftNormally, the code follows the after-action: 0 for KEEP_ALIVE, 1 for
	// CLOSE_IF_NO_AGENTS, 2 for FORCE_CLOSE.
	Reason LeaveReason
	// AskerID names the party that caused the departure, if not the leaver.
	AskerID string
	Text    string // optional farewell carried on the partyLeft event
}

// Leave removes a party and applies its after-action: the session closes
// when the last party (workflow parties aside) has left, when the after-action is FORCE_CLOSE (the
// others are removed with reason 4), or when it is CLOSE_IF_NO_AGENTS and no
// agent or supervisor that is not a bot remains. It reports whether the
// session closed.
func (s *Session) Leave(req LeaveRequest) (Receipt, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, now, err := s.activePartyLocked(req.UserID, "leave")
	if err != nil {
		return Receipt{}, false, err
	}
	reason := req.Reason
	if reason == LeftNormally {
		switch req.After {
		case CloseIfNoAgents:
			reason = LeftCloseIfNone
		case ForceClose:
			reason = LeftForceClose
		}
	}
	rc := s.removeLocked(p, reason, req.AskerID, req.Text, now)

	closeNow := s.presentLocked() == 0
	switch req.After {
	case ForceClose:
		closeNow = true
	case CloseIfNoAgents:
		closeNow = closeNow || !s.hasAgentLocked()
	}
	if !closeNow {
		return rc, false, nil
	}
	return s.closeLocked(RemovedByParty, req.UserID, now, rc), true, nil
}

// CloseRequest describes a session being closed from outside its parties:
// by the workflow (ESP CloseSession), the inactivity timer, or the server.
type CloseRequest struct {
	// Reason is recorded on the partyLeft of every party still present,
	// e.g. RemovedByServer or RemovedIdle.
	Reason LeaveReason
	// AskerID names the party (if any) that asked for the close.
	AskerID string
	// IfNoAgents closes only when no agent or supervisor (bots excepted) is present.
	IfNoAgents bool
}

// Close removes every present party and closes the session. It reports
// whether the session is closed afterwards; closing a closed session is not
// an error.
func (s *Session) Close(req CloseRequest) (Receipt, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == Closed {
		return Receipt{Pos: s.events.len() - 1, Time: s.closedAt}, true, nil
	}
	if req.IfNoAgents && s.hasAgentLocked() {
		return Receipt{}, false, nil
	}
	now := s.engine.clock.Now()
	return s.closeLocked(req.Reason, req.AskerID, now, Receipt{}), true, nil
}

// removeLocked marks p as gone and appends its partyLeft event.
func (s *Session) removeLocked(p *Participant, reason LeaveReason, askerID, text string, now time.Time) Receipt {
	p.Left = true
	p.LeftAt = now
	s.supersedeConfirmLocked(p.UserID)
	ev := Event{Kind: PartyLeft, From: p.party(), Visibility: p.Visibility, Reason: reason, AskerID: askerID, Text: text}
	if p.Type == Client {
		ev.Attrs = s.engine.quitAttrs(reason)
	}
	rc := s.appendLocked(&ev, now)
	p.leftPos = rc.Pos
	return rc
}

// closeLocked removes the parties still present with the given reason,
// marks the session closed, hands the final transcript to the journal and
// schedules the purge. rc is the receipt of what the caller appended before.
func (s *Session) closeLocked(reason LeaveReason, askerID string, now time.Time, rc Receipt) Receipt {
	from := s.events.len()
	if !rc.Time.IsZero() {
		from = rc.Pos
	}
	for _, p := range s.parties {
		if !p.Left {
			rc = s.removeLocked(p, reason, askerID, "", now)
		}
	}
	s.groupPendingLocked(from) // the closing events become visible together
	s.state = Closed
	s.stopTimersLocked()
	s.closedAt = now
	s.engine.alive.Add(-1)
	final := Final{Info: s.infoLocked(), LastWrite: rc.durable}
	final.Events = make([]Event, 0, s.events.len())
	final.Events = s.events.appendLive(final.Events)
	if s.engine.stats != nil {
		final.Stats = s.engine.stats(&final)
		final.UserData.Merge(final.Stats)
	}
	if w := s.engine.journal.SessionClosed(&final); w != nil {
		if rc.durable == nil {
			rc.durable = w
		} else {
			rc.durable = waiters{rc.durable, w}
		}
	}
	if rc.Time.IsZero() {
		rc.Pos, rc.Time = s.events.len()-1, now
	}
	s.notifyLocked()
	grace := s.engine.settings.Load().ClosedGrace
	s.schedulePurgeLocked(now, grace)
	return rc
}

// presentLocked counts the parties that keep a session open: workflow (ESP)
// parties do not, so a session whose last other party leaves closes.
func (s *Session) presentLocked() int {
	n := 0
	for _, p := range s.parties {
		if !p.Left && p.Protocol != ESP {
			n++
		}
	}
	return n
}

func (s *Session) hasAgentLocked() bool {
	for _, p := range s.parties {
		if p.countsAsAgent() {
			return true
		}
	}
	return false
}

// Final is a closed session's record: its header and data, and the
// transcript without superseded read confirmations.
type Final struct {
	Info
	Events []Event
	// Stats are the reporting statistics (Options.Statistics), also merged
	// into UserData; nil without a Statistics function.
	Stats kv.Map
	// LastWrite completes when the session's last event is durable (nil if
	// the journal did not make it durable); a journal that must order its
	// closing write after the events can wait on it.
	LastWrite Waiter
}

// quitAttrs returns the GCTI_SYSTEM quit-reason-code attributes the reference
// puts on a customer's departure. The known reasons' maps are made once
// and shared by every departure's event (an event's maps never change):
// two small maps per session were 3% of a dense server's heap.
func (e *Engine) quitAttrs(r LeaveReason) kv.Map {
	if int(r) < len(e.quitMaps) {
		return e.quitMaps[r]
	}
	return newQuitAttrs(r)
}

// quitMaps holds quitAttrs' maps of the reasons up to RemovedRestore.
type quitMaps [RemovedRestore + 1]kv.Map

func newQuitMaps() (q quitMaps) {
	for r := range q {
		q[r] = newQuitAttrs(LeaveReason(r))
	}
	return q
}

func newQuitAttrs(r LeaveReason) kv.Map {
	return kv.Map{KeySystem: kv.Map{"quit-reason-code": strconv.Itoa(int(r))}}
}
