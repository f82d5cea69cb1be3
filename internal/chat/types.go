package chat

import "fmt"

// UserType is the kind of party in a session.
type UserType uint8

// User types, in the reference's ordinal order.
const (
	Client UserType = iota
	Agent
	Supervisor
	External
	System
)

var userTypeNames = [...]string{"CLIENT", "AGENT", "SUPERVISOR", "EXTERNAL", "SYSTEM"}

func (t UserType) String() string {
	if int(t) < len(userTypeNames) {
		return userTypeNames[t]
	}
	return fmt.Sprintf("UserType(%d)", t)
}

// ParseUserType accepts the reference's names (CLIENT, AGENT, ...), any case.
func ParseUserType(s string) (UserType, error) {
	for i, n := range userTypeNames {
		if equalFold(s, n) {
			return UserType(i), nil
		}
	}
	return 0, fmt.Errorf("%w: user type %q: must be one of CLIENT, AGENT, SUPERVISOR, EXTERNAL, SYSTEM", ErrInvalid, s)
}

// Visibility says who may see an event.
type Visibility uint8

// Visibility levels: ALL is the conference everyone sees, INT is coaching
// (agents and supervisors), VIP is monitoring (supervisors only).
const (
	VisAll Visibility = iota
	VisInt
	VisVIP
)

var visibilityNames = [...]string{"ALL", "INT", "VIP"}

func (v Visibility) String() string {
	if int(v) < len(visibilityNames) {
		return visibilityNames[v]
	}
	return fmt.Sprintf("Visibility(%d)", v)
}

// ParseVisibility accepts ALL, INT or VIP in any case; the empty string means ALL.
func ParseVisibility(s string) (Visibility, error) {
	if s == "" {
		return VisAll, nil
	}
	for i, n := range visibilityNames {
		if equalFold(s, n) {
			return Visibility(i), nil
		}
	}
	return 0, fmt.Errorf("%w: visibility %q: must be one of ALL, INT, VIP", ErrInvalid, s)
}

// allows reports whether a party of type t may both send and see events of
// visibility v: a customer only ALL, an agent ALL and INT (coaching), the
// others (supervisors, workflows, the system) every level including VIP.
func (t UserType) allows(v Visibility) bool {
	switch t {
	case Client:
		return v == VisAll
	case Agent:
		return v == VisAll || v == VisInt
	default:
		return v <= VisVIP
	}
}

// Protocol is how a party is connected.
type Protocol uint8

// Protocols as the reference records them per participant.
const (
	Basic      Protocol = iota // agent desktops and bots (the agent WebSocket)
	Flex                       // customers (the customer API)
	ESP                        // workflows
	NoProtocol                 // server-originated parties
)

var protocolNames = [...]string{"BASIC", "FLEX", "ESP", "NONE"}

func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return fmt.Sprintf("Protocol(%d)", p)
}

// EventKind is one of the four transcript element kinds.
type EventKind uint8

// Event kinds.
const (
	NewParty EventKind = iota
	PartyLeft
	Message
	Notice
)

var eventKindNames = [...]string{"newParty", "partyLeft", "message", "notice"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// NoticeType is the type of a notice event.
type NoticeType uint8

// Notice types, with their wire names in NoticeType.String.
const (
	TypingStarted NoticeType = iota
	TypingStopped
	PushURL
	CustomNotice
	NickChanged
	IdleAlert
	IdleClose
	IdleSet
	SysCommand
)

var noticeTypeNames = [...]string{
	"TYPING_STARTED", "TYPING_STOPPED", "USER_PUSHED_URL", "USER_CUSTOM",
	"USER_UPDATE_NICK", "IDLE_CONTROL_ALERT", "IDLE_CONTROL_CLOSE", "IDLE_CONTROL_SET", "SYS_COMMAND",
}

func (n NoticeType) String() string {
	if int(n) < len(noticeTypeNames) {
		return noticeTypeNames[n]
	}
	return fmt.Sprintf("NoticeType(%d)", n)
}

// ParseNoticeType accepts the wire names (TYPING_STARTED, USER_CUSTOM, ...).
func ParseNoticeType(s string) (NoticeType, error) {
	for i, n := range noticeTypeNames {
		if equalFold(s, n) {
			return NoticeType(i), nil
		}
	}
	return 0, fmt.Errorf("%w: notice type %q is not known", ErrInvalid, s)
}

// AfterAction says what happens to the session when a party leaves.
type AfterAction uint8

// After-actions, in the reference's ordinal order.
const (
	KeepAlive       AfterAction = iota // the session stays for the others
	CloseIfNoAgents                    // close unless an agent (not a bot) remains
	ForceClose                         // close for everyone
)

var afterActionNames = [...]string{"KEEP_ALIVE", "CLOSE_IF_NO_AGENTS", "FORCE_CLOSE"}

func (a AfterAction) String() string {
	if int(a) < len(afterActionNames) {
		return afterActionNames[a]
	}
	return fmt.Sprintf("AfterAction(%d)", a)
}

// ParseAfterAction accepts KEEP_ALIVE, CLOSE_IF_NO_AGENTS, FORCE_CLOSE (any
// case, with or without underscores); the empty string means KEEP_ALIVE.
func ParseAfterAction(s string) (AfterAction, error) {
	if s == "" {
		return KeepAlive, nil
	}
	for i, n := range afterActionNames {
		if equalFold(s, n) || equalFold(s, stripUnderscores(n)) {
			return AfterAction(i), nil
		}
	}
	return 0, fmt.Errorf("%w: after-action %q: must be one of KEEP_ALIVE, CLOSE_IF_NO_AGENTS, FORCE_CLOSE", ErrInvalid, s)
}

// LeaveReason is the reason code recorded on a partyLeft event. The values are
// the reference's codes: 1 and 2 mark an agent leaving with a closing
// after-action; for customers the code is also reported as quit-reason-code.
type LeaveReason uint8

// Leave reasons with the reference's numeric codes.
const (
	LeftNormally    LeaveReason = 0 // logout or plain leave
	LeftCloseIfNone LeaveReason = 1 // left with request to close if no agents
	LeftForceClose  LeaveReason = 2 // left with request to close forcedly
	LeftDisconnect  LeaveReason = 3 // connection lost or protocol inactivity
	RemovedByParty  LeaveReason = 4 // removed because another party closed the session
	RemovedByServer LeaveReason = 5 // removed by the server (workflow stop, storage error)
	RemovedIdle     LeaveReason = 7 // the session was idle
	RemovedRestore  LeaveReason = 8 // HA restoration normalised the transcript
)

// Text is the description the reference writes next to the code.
func (r LeaveReason) Text() string {
	switch r {
	case LeftNormally:
		return "left"
	case LeftCloseIfNone:
		return "left with request to close if no agents"
	case LeftForceClose:
		return "left with request to close forcedly"
	case LeftDisconnect:
		return "left due to disconnect"
	case RemovedByParty:
		return "removed by other party"
	case RemovedByServer:
		return "removed by server"
	case RemovedIdle:
		return "removed due to inactivity"
	case RemovedRestore:
		return "removed during restoration"
	}
	return fmt.Sprintf("reason %d", uint8(r))
}

// State is a session's life-cycle state.
type State uint8

// Session states. A purged session is simply gone from the registry.
const (
	Alive State = iota
	Closed
)

func (s State) String() string {
	if s == Closed {
		return "closed"
	}
	return "alive"
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func stripUnderscores(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
