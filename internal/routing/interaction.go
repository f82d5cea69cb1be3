package routing

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// State is where an interaction stands in routing.
type State string

// Interaction states.
const (
	Queued   State = "queued"   // waiting in its queue for an agent
	Assigned State = "assigned" // accepted by an agent, or an agent is in the session
	Held     State = "held"     // async chat placed on hold (by the workflow or an agent), no agent in it
	// Transferred: an agent in the session offered it to another agent or
	// queue and the offer is open.
	Transferred State = "transferred"
	Offline     State = "offline" // the session ended; the interaction stays (IsOnline=0)
	Stopped     State = "stopped" // the session ended and the interaction was stopped
)

// Keys of the data attached to an interaction.
const (
	KeyAppName         = "ChatServerAppName"
	KeySessionID       = "ChatServerSessionId"
	KeyIsOnline        = "IsOnline"
	KeyAsyncStatus     = "GCTI_Chat_AsyncStatus"
	KeySessionPassword = "ChatServerSessionPassword"
	KeyContactID       = "ContactId"
	// KeyWebapiToken is the session's restoration token in a cluster
	// (Options.Located adds it).
	KeyWebapiToken = "ChatServerWebapiToken"
)

// Values of GCTI_Chat_AsyncStatus. Positive values ask the workflow to route
// the interaction to an agent.
const (
	AsyncOnHold             = -2 // placed on hold (dormant)
	AsyncProcessing         = -1 // an agent is in the session
	AsyncNew                = 1  // newly created
	AsyncCustomerReplied    = 2  // the customer wrote while on hold with no agent present
	AsyncIdleExpired        = 3  // the async idle timer fired
	AsyncAgentDisconnected  = 4  // an agent desktop dropped its connection
	AsyncTransferredToQueue = 5  // an agent put the interaction into a queue
)

// Errors returned by the Router, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: no live interaction with that id on this node.
	ErrNotFound = errors.New("routing: interaction not found")
	// ErrTaken: another agent accepted the interaction first.
	ErrTaken = errors.New("routing: interaction already accepted")
	// ErrNotQueued: the interaction is not waiting in a queue (held or ended).
	ErrNotQueued = errors.New("routing: interaction is not waiting in a queue")
	// ErrNotAsync: the operation applies to async chats only.
	ErrNotAsync = errors.New("routing: not an async chat")
	// ErrClosed: the interaction's session has ended.
	ErrClosed = errors.New("routing: session closed")
)

// Interaction is a snapshot of one interaction. Its JSON form is the one the
// admin API lists and the agent protocol returns.
type Interaction struct {
	ID        string `json:"id"` // the InteractionId; equals the session id
	SessionID string `json:"sessionId"`
	Tenant    string `json:"tenant"`
	Endpoint  string `json:"endpoint"`
	Queue     string `json:"queue"`
	Subject   string `json:"subject,omitempty"`
	State     State  `json:"state"`
	Online    bool   `json:"online"`
	Async     bool   `json:"async"`
	// AsyncStatus is GCTI_Chat_AsyncStatus (0 for regular chats).
	AsyncStatus int `json:"asyncStatus,omitempty"`
	// AsyncCheckAt is GCTI_Chat_AsyncCheckAt (Unix seconds): when the
	// workflow should check an async chat whose idle alert went out.
	AsyncCheckAt string `json:"asyncCheckAt,omitempty"`
	// AgentID is the agent (person id) that accepted the interaction, while
	// that agent is in the session.
	AgentID string `json:"agentId,omitempty"`
	// UserData is the attached data: the customer's user data and the keys
	// the server adds.
	UserData  kv.Map    `json:"userData"`
	CreatedAt time.Time `json:"createdAt"`
	ClosedAt  time.Time `json:"closedAt,omitzero"`
}

// ixn is the live record of an interaction; its shard's lock guards it.
type ixn struct {
	view      Interaction // UserData left nil: attachedSrc.build makes it
	base      kv.Map      // the session's (customer's) user data; never changed in place (replaced: attachedSrc keeps old ones)
	password  string
	contactID string
	// contactKnown: the contact history's identification is known (the
	// contact id, or that there is none), so writes need not read the
	// record to learn it.
	contactKnown bool
	// awaitContact: the history will tell the contact (Options.HistoryTells,
	// a new session), so a write before it waits instead of reading.
	awaitContact bool
	// recordClosed: the history's closing transaction has landed
	// (RecordClosed), so the closed interaction is written blind.
	recordClosed bool

	present   []chat.Party // parties in the session, in join order (a handful: a slice, not a map)
	agents    int          // present parties that handle the chat (see handles)
	handling  idSet        // their user ids
	everAgent bool
	assignee  string // user id of the party that accepted
	claimUser string // user id an accept in progress joins with
	onHold    bool
	heldBy    string // agent who placed the async chat on hold, until an agent joins
	served    idSet  // person ids of the agents that were ever in the session
	// transferring counts the open transfers of the interaction.
	transferring int
	boxes        boxes         // attachedSrc's values, boxed once
	contactTold  chan struct{} // closed by learnContact; made by a last-agent look-up waiting for it

	ver       uint64 // grows with every change
	saved     uint64 // the version last written to the store
	closed    bool
	saveFails int
}

// idSet is a handful of ids (the agents of one interaction): a slice,
// not a map (a map and its table per interaction, kept for its life).
type idSet []string

func (s idSet) has(id string) bool { return slices.Contains(s, id) }

// add adds id unless it is there.
func (s *idSet) add(id string) {
	if !s.has(id) {
		*s = append(*s, id)
	}
}

// remove removes id and reports whether it was there.
func (s *idSet) remove(id string) bool {
	i := slices.Index(*s, id)
	if i < 0 {
		return false
	}
	*s = slices.Delete(*s, i, i+1)
	return true
}

// presentAt returns the index of the present party userID, or -1.
func (x *ixn) presentAt(userID string) int {
	for i := range x.present {
		if x.present[i].UserID == userID {
			return i
		}
	}
	return -1
}

// isAgent reports whether a party counts as an agent: an agent or
// supervisor that is not a bot (the rule of CLOSE_IF_NO_AGENTS and of
// stop-abandoned-interaction).
func isAgent(p chat.Party) bool {
	return !p.Bot && (p.Type == chat.Agent || p.Type == chat.Supervisor)
}

// state derives the routing state of a live interaction.
func (x *ixn) state() State {
	switch {
	case x.closed:
		return x.view.State
	case x.transferring > 0:
		return Transferred
	case x.agents > 0 || x.claimUser != "":
		return Assigned
	case x.assignee != "":
		return Assigned
	case x.onHold:
		return Held
	}
	return Queued
}

// attachedKeys is how many keys attached may add to the base: app name,
// session id, online, async status and check time, password, contact,
// and the token Options.Located adds.
const attachedKeys = 8

// attachedSrc is what an interaction's attached data is built from at one
// moment: the base, which is never changed in place (a new user data
// replaces it, journal.go), and the values routing and Options.Located
// add, copied. A change kept on the stream for resuming holds it instead
// of the built map (Change.src): the map is built only if a subscriber
// reads the change, not at every change of every interaction.
type attachedSrc struct {
	base                       kv.Map
	app, session, pass, contct any    // boxed once per interaction (boxes); pass, contct nil when unset
	checkAt, node, token       string // node, token: Options.Located's
	online, async              bool
	status                     int
}

// source captures x's attached data now; x's shard lock is held.
func (x *ixn) source(appName string, located func(string) (string, string)) attachedSrc {
	s := attachedSrc{
		base: x.base, app: boxed(&x.boxes.app, appName), session: boxed(&x.boxes.session, x.view.SessionID),
		online: x.view.Online, async: x.view.Async, status: x.view.AsyncStatus, checkAt: x.view.AsyncCheckAt,
	}
	if x.password != "" {
		s.pass = boxed(&x.boxes.password, x.password)
	}
	if x.contactID != "" {
		s.contct = boxed(&x.boxes.contact, x.contactID)
	}
	if located != nil {
		s.node, s.token = located(x.view.ID)
	}
	return s
}

// build returns the attached data: a deep copy of the base with the keys
// routing adds.
func (s *attachedSrc) build() kv.Map {
	ud := s.base.CloneRoom(attachedKeys) // room for the keys below
	s.put(ud)
	return ud
}

// put sets the keys routing (and Options.Located) add to the base in ud.
// The strings that do not change go into ud boxed once (see boxed), not
// at every snapshot.
func (s *attachedSrc) put(ud kv.Map) {
	ud[KeyAppName] = s.app
	ud[KeySessionID] = s.session
	ud[KeyIsOnline] = "1"
	if !s.online {
		ud[KeyIsOnline] = "0"
	}
	if s.async {
		ud[KeyAsyncStatus] = strconv.Itoa(s.status)
		if s.checkAt != "" {
			ud[chat.KeyAsyncCheckAt] = s.checkAt
		}
	}
	if s.pass != nil {
		ud[KeySessionPassword] = s.pass
	}
	if s.contct != nil {
		ud[KeyContactID] = s.contct
	}
	if s.node != "" {
		ud[KeyAppName] = s.node
	}
	if s.token != "" {
		ud[KeyWebapiToken] = s.token
	}
}

// boxes are attached values kept as interface values: a string stored in
// a map of any is copied to the heap at every store unless it is already
// an interface value.
type boxes struct{ app, session, password, contact any }

// boxed returns s as an interface value, the one in *box when it holds s
// (else it boxes s and keeps it there).
func boxed(box *any, s string) any {
	if b, ok := (*box).(string); ok && b == s {
		return *box
	}
	*box = s
	return *box
}

// viewNow returns a copy of the interaction without its attached data
// (UserData nil).
func (x *ixn) viewNow() Interaction {
	v := x.view
	v.State = x.state()
	return v
}
