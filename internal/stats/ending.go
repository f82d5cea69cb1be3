package stats

import "github.com/confab/confab/internal/chat"

// closeReasons are the reason codes of parties removed by the close itself
// rather than leaving on their own.
func removedByClose(r chat.LeaveReason) bool {
	switch r {
	case chat.RemovedByParty, chat.RemovedByServer, chat.RemovedIdle, chat.RemovedRestore:
		return true
	}
	return false
}

// ending derives csg_SessionEndedAgent, csg_SessionEndedBy and
// csg_SessionEndedReason from the transcript's departures.
//
// Parties present at the close are those whose partyLeft falls in the
// transcript's final run of departures at the closing time. The session
// was ended by the first customer that left on its own, if any (the
// reference reports CLIENT whenever the customer left first); otherwise by
// the party whose own departure closed it (the first of the final run, when
// it left rather than being removed); otherwise by the system.
func ending(f *chat.Final, roles map[string]role) (agent, by, reason string) {
	// The final run of departures at the closing time.
	start := len(f.Events)
	for start > 0 {
		ev := &f.Events[start-1]
		if ev.Kind != chat.PartyLeft || !ev.Time.Equal(f.ClosedAt) {
			break
		}
		start--
	}
	agent = AgentAbsent
	for i := range f.Events {
		ev := &f.Events[i]
		if roles[ev.From.UserID] != roleAgent {
			continue
		}
		if ev.Kind == chat.NewParty && agent == AgentAbsent {
			agent = AgentVisited
		}
		if ev.Kind == chat.PartyLeft && i >= start {
			agent = AgentPresent
		}
	}
	for i := range f.Events {
		ev := &f.Events[i]
		if ev.Kind == chat.PartyLeft && roles[ev.From.UserID] == roleCustomer && !removedByClose(ev.Reason) {
			return agent, ByClient, leaveReason(ev.Reason)
		}
	}
	if start < len(f.Events) {
		ev := &f.Events[start]
		if !removedByClose(ev.Reason) {
			return agent, partyType(ev.From, roles[ev.From.UserID]), leaveReason(ev.Reason)
		}
		if ev.Reason == chat.RemovedIdle {
			return agent, BySystem, ReasonInactive
		}
	}
	return agent, BySystem, ReasonForce
}

func partyType(p chat.Party, r role) string {
	switch {
	case r == roleBot:
		return ByBot
	case p.Type == chat.Supervisor:
		return BySupervisor
	case p.Type == chat.Agent:
		return ByAgent
	case p.Type == chat.Client:
		return ByClient
	}
	return BySystem
}

func leaveReason(r chat.LeaveReason) string {
	switch r {
	case chat.LeftDisconnect:
		return ReasonDisconnect
	case chat.LeftCloseIfNone, chat.LeftForceClose:
		return ReasonForce
	case chat.RemovedIdle:
		return ReasonInactive
	}
	return ReasonQuit
}

// Ending returns csg_SessionEndedAgent, csg_SessionEndedBy and
// csg_SessionEndedReason of a closed session (what the operational log
// reports at close).
func Ending(f *chat.Final) (agent, by, reason string) {
	roles := map[string]role{}
	for i := range f.Events {
		if ev := &f.Events[i]; ev.Kind == chat.NewParty {
			roles[ev.From.UserID] = roleOf(ev.From, ev.Visibility)
		}
	}
	return ending(f, roles)
}
