package chat

import (
	"time"

	"github.com/confab/confab/internal/kv"
)

// interimLocked asks Options.Interim, after an agent-side join or
// departure in a live async session, for intermediate statistics; what it
// returns is merged into the session's user data and reported to the
// journal (routing writes it to the interaction). Departures caused by the
// session closing are left out: the close attaches the final statistics.
func (s *Session) interimLocked(ev *Event, now time.Time) {
	hook := s.engine.interim
	if hook == nil || !s.async || s.state != Alive || (ev.Kind != NewParty && ev.Kind != PartyLeft) {
		return
	}
	if ev.Kind == PartyLeft {
		switch ev.Reason {
		case RemovedByParty, RemovedByServer, RemovedIdle, RemovedRestore:
			return
		}
	}
	if ev.From.Type != Agent && ev.From.Type != Supervisor {
		return
	}
	f := Final{Info: s.infoLocked()}
	f.ClosedAt = now
	f.Events = make([]Event, 0, s.events.len())
	f.Events = s.events.appendLive(f.Events)
	m := hook(&f, ev)
	if len(m) == 0 {
		return
	}
	s.userData.Merge(m)
	info := s.infoLocked()
	s.engine.journal.SessionUpdated(&info)
}

// InterimFunc computes intermediate statistics of a live session after
// the event ev; f is the session so far, ClosedAt being now. It returns
// nil when ev calls for none.
type InterimFunc func(f *Final, ev *Event) kv.Map
