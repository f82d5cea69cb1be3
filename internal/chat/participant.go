package chat

import (
	"strings"
	"time"

	"github.com/confab/confab/internal/kv"
)

// User data keys the engine interprets.
const (
	KeySessionPassword  = "GCTI_Chat_SessionPassword"
	KeyPartyStyle       = "GCTI_Chat_PartyStyle"
	KeySetPartyStyle    = "GCTI_Chat_SetPartyStyle"
	KeyOriginalNickname = "GCTI_Original_Nickname"
	// KeySystem is the reserved event-attribute node for server data.
	KeySystem = "GCTI_SYSTEM"
)

// Participant is a party of a session. Values handed out by the engine are
// copies; their UserData must be treated as read-only.
type Participant struct {
	UserID string
	Num    int // 1-based order of joining
	Nick   string
	// OriginalNick is the nickname at join, kept once the party changes it.
	OriginalNick string
	Type         UserType
	Visibility   Visibility
	Bot          bool
	Protocol     Protocol
	PersonID     string // agent login id; empty for customers and workflows
	UserData     kv.Map
	JoinedAt     time.Time
	Left         bool
	LeftAt       time.Time
	// LastActivity is the time of the party's last protocol request; the
	// customer API uses it for flex-disconnect-timeout.
	LastActivity time.Time
	// Secret is the party's credential for request-per-call protocols (the
	// customer API's secureKey). It is never put on an event.
	Secret string
	// leftPos is the position of the party's partyLeft event.
	leftPos int
}

func (p *Participant) party() Party {
	return Party{UserID: p.UserID, Num: p.Num, Nick: p.Nick, Type: p.Type, Bot: p.Bot, PersonID: p.PersonID}
}

// countsAsAgent reports whether p keeps a session open under
// CLOSE_IF_NO_AGENTS: a present agent or supervisor that is not a bot.
func (p *Participant) countsAsAgent() bool {
	return !p.Left && !p.Bot && (p.Type == Agent || p.Type == Supervisor)
}

// isBotStyle reports whether join user data mark the party as a bot.
func isBotStyle(ud kv.Map) bool {
	return strings.EqualFold(ud.String(KeySetPartyStyle), "BOT") || strings.EqualFold(ud.String(KeyPartyStyle), "BOT")
}
