package chat

import (
	"time"

	"github.com/confab/confab/internal/kv"
)

// Party identifies the party that caused an event, as it was at that moment
// (a later nickname change does not rewrite earlier events).
type Party struct {
	UserID string
	Num    int // 1-based order of joining; the customer API's participantId
	Nick   string
	Type   UserType
	Bot    bool
	// PersonID is the agent login id of agent and supervisor parties;
	// routing follows an agent's load by it.
	PersonID string
}

// Event is one element of a transcript. Events are immutable once appended,
// except that a read confirmation is marked Superseded when the same party
// confirms again or leaves.
type Event struct {
	// Pos is the 0-based position in the transcript (the reference's
	// ScriptPos). ID() = Pos+1 is the session-wide event id and the customer
	// API's 1-based index.
	Pos        int
	Kind       EventKind
	Time       time.Time
	From       Party
	Visibility Visibility
	// ReceiverID, when set, makes the event direct: only sender, receiver and
	// supervisors see it.
	ReceiverID string
	Text       string
	MsgType    string     // messages: free-form type label, e.g. "text"
	TreatAs    string     // messages: NORMAL or SYSTEM styling hint
	Notice     NoticeType // notices only
	Reason     LeaveReason
	AskerID    string // partyLeft: the party that caused the departure
	UserData   kv.Map
	Attrs      kv.Map // eventAttributes
	// ClientMsgID is the sender's client message id of an idempotent send
	// (Msg.ClientMsgID); it is stored so a restored session still
	// recognises a retried send.
	ClientMsgID string
	// Superseded marks a read confirmation replaced by a newer one or by its
	// party leaving; nobody sees it and it is not stored in the final transcript.
	Superseded bool
	// pii, when set, holds both copies of a masked message (mask.go).
	pii *maskRecord
}

// ID returns the session-wide event id, Pos+1.
func (e *Event) ID() int { return e.Pos + 1 }

// IsReadConfirm reports whether e is a read confirmation (a SYS_COMMAND
// notice with text read-confirm).
func (e *Event) IsReadConfirm() bool {
	return e.Kind == Notice && e.Notice == SysCommand && e.Text == ReadConfirm
}

// ReadConfirm is the system command text of a read confirmation; its user data
// carry the last event id read under LastEventIDKey.
const (
	ReadConfirm    = "read-confirm"
	LastEventIDKey = "last-event-id"
)

// VisibleTo reports whether a viewer with the given user id and type may see e.
//
// The rules: a party always sees its own events; superseded read
// confirmations are seen by nobody; a customer sees only ALL events; an agent
// sees ALL and INT; supervisors, workflows and the system see everything. A
// direct event (ReceiverID set) is further limited to its sender, its receiver
// and supervisors.
func (e *Event) VisibleTo(viewerID string, viewerType UserType) bool {
	if e.Superseded {
		return false
	}
	if e.From.UserID == viewerID {
		return true
	}
	if !viewerType.allows(e.Visibility) {
		return false
	}
	if e.ReceiverID != "" && e.ReceiverID != viewerID && viewerType != Supervisor {
		return false
	}
	return true
}
