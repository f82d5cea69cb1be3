package kpi

import "github.com/confab/confab/internal/chat"

// Journal counts sessions, parties, messages and notices as the engine
// reports them. Add it to the engine's journals; it only updates atomics,
// returns no waiter and never calls back into a session.
type Journal struct {
	set *Set
	// OnClosed, when set, runs after a session's close is counted (the
	// load limits re-evaluate then). It runs with the session's lock held.
	OnClosed func()
}

// Journal returns the journal that feeds s.
func (s *Set) Journal() *Journal { return &Journal{set: s} }

// SessionCreated counts a created (or restored) session.
func (j *Journal) SessionCreated(info *chat.Info) chat.Waiter {
	j.set.SessionsCreated.Inc()
	j.set.SessionsCurrent.Inc()
	if info.Restored {
		j.set.SessionsRestored.Inc()
	}
	return nil
}

// SessionUpdated does nothing.
func (j *Journal) SessionUpdated(*chat.Info) chat.Waiter { return nil }

// EventAppended counts joins, departures (and their timeouts), messages
// and notices by party kind.
func (j *Journal) EventAppended(_ string, ev *chat.Event) chat.Waiter {
	k := KindOf(ev.From)
	switch ev.Kind {
	case chat.Message:
		j.set.Messages[k].Inc()
	case chat.Notice:
		j.set.Notices[k].Inc()
	case chat.NewParty:
		j.set.Joins[k].Inc()
		if ev.From.Type == chat.Client {
			j.set.FlexUsers.Inc()
		}
	case chat.PartyLeft:
		if ev.From.Type == chat.Client {
			j.set.FlexUsers.Dec()
		}
		switch ev.Reason {
		case chat.LeftDisconnect:
			j.set.TimeoutsFlex.Inc()
		case chat.RemovedIdle:
			j.set.TimeoutsIdle.Inc()
		}
	}
	return nil
}

// SessionClosed counts a closed session.
func (j *Journal) SessionClosed(*chat.Final) chat.Waiter {
	j.set.SessionsClosed.Inc()
	j.set.SessionsCurrent.Dec()
	if j.OnClosed != nil {
		j.OnClosed()
	}
	return nil
}

var _ chat.Journal = (*Journal)(nil)
