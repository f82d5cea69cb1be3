package kpi

import "github.com/confab/confab/internal/chat"

// PartyKind is the kind of party a message or notice counter is kept for.
type PartyKind uint8

// Party kinds: the engine's user types, with bots apart from agents.
const (
	PartyClient PartyKind = iota
	PartyAgent
	PartySupervisor
	PartyBot
	PartyExternal
	PartySystem
	partyKinds
)

var partyNames = [partyKinds]string{"client", "agent", "supervisor", "bot", "external", "system"}

func (k PartyKind) String() string { return partyNames[k] }

// KindOf returns the counter kind of an event's party.
func KindOf(p chat.Party) PartyKind {
	if p.Bot {
		return PartyBot
	}
	switch p.Type {
	case chat.Client:
		return PartyClient
	case chat.Agent:
		return PartyAgent
	case chat.Supervisor:
		return PartySupervisor
	case chat.External:
		return PartyExternal
	}
	return PartySystem
}

// RefusalKind is what a load limit refused.
type RefusalKind uint8

// Refusal kinds.
const (
	RefusedCreate  RefusalKind = iota // a new session (a customer login among them)
	RefusedRestore                    // a session restoration
	refusalKinds
)

var refusalNames = [refusalKinds]string{"create", "restore"}

var refusalHelp = [refusalKinds]string{"new sessions", "session restorations"}

func (k RefusalKind) String() string { return refusalNames[k] }
