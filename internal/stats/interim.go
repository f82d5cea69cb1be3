package stats

import (
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// Values of attach-stats-rep-events.
const (
	RepNone    = "none"    // no intermediate statistics
	RepDormant = "dormant" // each time the session turns dormant (its last agent leaves)
	RepAll     = "all"     // at every agent join and departure
)

// Interim returns the intermediate statistics of a live async session
// after event ev, per events (attach-stats-rep-events), or nil when ev
// does not call for them. f is the session so far with ClosedAt = now.
// The keys that only a close can tell (ChatServerSessionClosedAt, the
// csg_SessionEnded* keys) are left out; the close attaches the final
// values over these.
func Interim(f *chat.Final, ev *chat.Event, events string, o Options) kv.Map {
	if !f.Async || (ev.Kind != chat.NewParty && ev.Kind != chat.PartyLeft) {
		return nil
	}
	if ev.From.Bot || (ev.From.Type != chat.Agent && ev.From.Type != chat.Supervisor) || ev.Visibility != chat.VisAll {
		return nil
	}
	switch events {
	case RepAll:
	case RepDormant:
		if ev.Kind != chat.PartyLeft || agentPresent(f) {
			return nil
		}
	default:
		return nil
	}
	m := Compute(f, o)
	for _, k := range []string{"ChatServerSessionClosedAt", "csg_SessionEndedAgent", "csg_SessionEndedBy", "csg_SessionEndedReason"} {
		delete(m, k)
	}
	return m
}

// agentPresent reports whether a visible human agent is in the session.
func agentPresent(f *chat.Final) bool {
	for i := range f.Participants {
		p := &f.Participants[i]
		if !p.Left && !p.Bot && (p.Type == chat.Agent || p.Type == chat.Supervisor) && p.Visibility == chat.VisAll {
			return true
		}
	}
	return false
}
