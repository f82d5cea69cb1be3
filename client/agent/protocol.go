package agent

import (
	"encoding/json"
	"time"
)

// Path is where a Confab node serves the agent protocol, on its "agent" port.
const Path = "/agent/v1/ws"

// Operations a client may request (Request.Op).
const (
	OpList    = "list"    // waiting interactions of a queue
	OpAccept  = "accept"  // claim a waiting interaction and join its session
	OpJoin    = "join"    // join a session directly
	OpSend    = "send"    // append a message
	OpNotify  = "notify"  // append a notice (typing, push URL, nickname, custom, system command)
	OpRelease = "release" // leave a session with an after-action
	OpPing    = "ping"    // a no-op that is answered

	OpState    = "state"    // set this agent's routing state: ready, not-ready (with a reason), after-call-work
	OpReject   = "reject"   // decline an open offer
	OpTransfer = "transfer" // hand a chat to another agent or queue ("to")
	OpInvite   = "invite"   // invite another agent or queue: visibility ALL (conference) or INT (consultation)
	OpMonitor  = "monitor"  // supervisors: join silently (VIP); the session is marked monitored
	OpCoach    = "coach"    // supervisors: join as a coach (INT)
	OpBargeIn  = "barge-in" // supervisors: become visible to the customer (ALL)
	OpHold     = "hold"     // async chats: leave, keeping the chat in a workbin until the customer writes
	OpWorkbin  = "workbin"  // list a workbin
	OpHistory  = "history"  // the contact's earlier interactions with their final transcripts (paged)
)

// Agent states (Request.State, Frame.AgentState).
const (
	StateReady         = "ready"
	StateNotReady      = "not-ready"
	StateAfterCallWork = "after-call-work"
	StateLoggedOut     = "logged-out" // reported only
)

// Offer kinds (Frame.OfferKind).
const (
	OfferRoute     = "route"      // a queued chat
	OfferLastAgent = "last-agent" // a returning contact's chat, offered to the agent of its previous chat
	OfferWake      = "wake"       // an async chat from this agent's hold, woken by the customer
	OfferTransfer  = "transfer"   // another agent (From) hands the chat over
	OfferInvite    = "invite"     // another agent (From) invites: Visibility ALL or INT
)

// Results of revoked, transfer and invite frames (Frame.Result).
const (
	ResultAccepted  = "accepted"
	ResultRejected  = "rejected"
	ResultExpired   = "expired"
	ResultTaken     = "taken"
	ResultClosed    = "closed"
	ResultNoAgent   = "no-agent"
	ResultCancelled = "cancelled"
)

// QueuePrefix marks a transfer, invite or workbin target that is a queue:
// "queue:<name>".
const QueuePrefix = "queue:"

// Types of the frames the server sends (Frame.Type).
const (
	FrameHello  = "hello"  // first frame on a socket: who the server thinks you are
	FrameResult = "result" // a request succeeded
	FrameError  = "error"  // a request failed, or a frame could not be read
	FrameEvents = "events" // transcript events of one session

	FrameOffer    = "offer"    // an interaction offered to this agent until ExpiresAt: accept or reject it
	FrameRevoked  = "revoked"  // an offer to this agent ended without it (Result: expired, taken, closed, cancelled)
	FrameState    = "state"    // this agent's routing state changed (AgentState, Reason)
	FrameTransfer = "transfer" // the outcome of this agent's transfer (Result, By)
	FrameInvite   = "invite"   // the outcome of this agent's invitation (Result, By)

	// FrameRestored: a session this socket was in through another node
	// lost that node and was restored (Node, URL: where it lives now); the
	// party of this socket left it with reason 8. Join it again (with
	// UserID to keep the party's user id); this socket reaches it wherever
	// it lives.
	FrameRestored = "restored"
)

// KeyWebapiToken is the user-data key of a session's restoration token:
// the result of accept and join carries it (Frame.WebapiToken, and the
// accepted interaction's userData); a join that carries it in its userData
// may restore the session of a failed node when session-restore-extend-by
// is agent or both.
const KeyWebapiToken = "ChatServerWebapiToken"

// Error codes (Frame.Code) with their names (Frame.Error).
const (
	CodeBadFrame    = 1  // "bad-frame": not a JSON object, binary frame, or an unknown field
	CodeBadRequest  = 2  // "bad-request": a field is missing or has a bad value (Field names it)
	CodeTooLarge    = 3  // "too-large": the frame is larger than the server's limit
	CodeUnknownOp   = 4  // "unknown-op": Op is not one of the operations
	CodeNoSession   = 5  // "unknown-session": no such session on this node
	CodeNoIxn       = 6  // "unknown-interaction": no such live interaction on this node
	CodeNotJoined   = 7  // "not-participant": this socket is not (or no longer) in that session
	CodeJoined      = 8  // "already-joined": this socket is already in that session
	CodePassword    = 9  // "bad-password": the session needs GCTI_Chat_SessionPassword
	CodeVisibility  = 10 // "visibility": the user type may not use that visibility
	CodeClosed      = 11 // "session-closed": the session has ended
	CodeTaken       = 12 // "already-accepted": another agent accepted the interaction first
	CodeNotWaiting  = 13 // "not-waiting": the interaction is not waiting in a queue
	CodeForbidden   = 14 // "forbidden": the agent's account may not do that (e.g. join as SUPERVISOR)
	CodeLimit       = 15 // "limit": too many sessions on this socket
	CodeNotDurable  = 16 // "not-durable": applied, but the store did not confirm it
	CodeInternal    = 17 // "internal": a server fault
	CodeNoOffer     = 18 // "no-offer": reject (or accept) without an open offer of that interaction
	CodeExpired     = 19 // "offer-expired": the offer expired before the answer
	CodeOffered     = 20 // "offered-elsewhere": the interaction is offered to another agent
	CodeUnavailable = 21 // "unavailable": the target agent is not logged in, not ready or has no free capacity
	CodeBusy        = 22 // "busy": a transfer or invitation of that chat by this agent is already open
	CodeNotAsync    = 23 // "not-async": hold applies to async chats only
	CodeLoggedIn    = 24 // "logged-in-elsewhere": the account's routing state belongs to another socket
	CodeNodeDown    = 25 // "node-unavailable": the cluster node serving the session did not answer; retry
)

// ErrorNames maps each error code to its name.
var ErrorNames = map[int]string{
	CodeBadFrame: "bad-frame", CodeBadRequest: "bad-request", CodeTooLarge: "too-large",
	CodeUnknownOp: "unknown-op", CodeNoSession: "unknown-session", CodeNoIxn: "unknown-interaction",
	CodeNotJoined: "not-participant", CodeJoined: "already-joined", CodePassword: "bad-password",
	CodeVisibility: "visibility", CodeClosed: "session-closed", CodeTaken: "already-accepted",
	CodeNotWaiting: "not-waiting", CodeForbidden: "forbidden", CodeLimit: "limit",
	CodeNotDurable: "not-durable", CodeInternal: "internal",
	CodeNoOffer: "no-offer", CodeExpired: "offer-expired", CodeOffered: "offered-elsewhere",
	CodeUnavailable: "unavailable", CodeBusy: "busy", CodeNotAsync: "not-async", CodeLoggedIn: "logged-in-elsewhere",
	CodeNodeDown:    "node-unavailable",
	CodeRateLimited: "rate-limited", CodeSessionFull: "session-full",
}

// Error codes of the [protection] bounds (numbered apart from the others).
const (
	CodeRateLimited = 40 // "rate-limited": this party sends faster than party-send-rate; retry later
	CodeSessionFull = 41 // "session-full": the session reached session-max-messages or -transcript-bytes
)

// CloseSlowConsumer is the WebSocket close code of a socket dropped because
// it did not read its frames fast enough. A server shutting down closes
// sockets with 1001 (going away); an oversized frame beyond any reason
// closes with 1009 (message too big).
const CloseSlowConsumer = 4001

// Request is a frame sent by the client. ID and Op are required; the other
// fields depend on the operation (see docs/agent-protocol.md). User data and
// event attributes are nested key-value lists: every value is a string or
// another such object.
type Request struct {
	ID              string         `json:"id"`
	Op              string         `json:"op"`
	Queue           string         `json:"queue,omitempty"`
	InteractionID   string         `json:"interactionId,omitempty"`
	SessionID       string         `json:"sessionId,omitempty"`
	UserType        string         `json:"userType,omitempty"`
	Visibility      string         `json:"visibility,omitempty"`
	Nickname        string         `json:"nickname,omitempty"`
	UserData        map[string]any `json:"userData,omitempty"`
	Text            string         `json:"text,omitempty"`
	MsgType         string         `json:"msgType,omitempty"`
	TreatAs         string         `json:"treatAs,omitempty"`
	ReceiverID      string         `json:"receiverId,omitempty"`
	NoticeType      string         `json:"noticeType,omitempty"`
	EventAttributes map[string]any `json:"eventAttributes,omitempty"`
	AfterAction     string         `json:"afterAction,omitempty"`
	// State and Reason: op state.
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
	// To: op transfer and invite, an agent id or "queue:<name>".
	To string `json:"to,omitempty"`
	// Workbin: op hold and workbin, "" for the agent's own or "queue:<name>".
	Workbin string `json:"workbin,omitempty"`
	// Limit and After page op history: at most Limit (default 20, at most
	// 100) interactions created after the one with id After.
	Limit int    `json:"limit,omitempty"`
	After string `json:"after,omitempty"`
	// UserID: op join, rejoin a session as this party user id, one this
	// account had in it and that has left (after a failover or a
	// restoration), so its idempotent sends (by request id) stay
	// idempotent.
	UserID string `json:"userId,omitempty"`
}

// Frame is a frame sent by the server. Type says which fields are set.
type Frame struct {
	Type string `json:"type"`
	// ID echoes the request's id (result and error frames).
	ID string `json:"id,omitempty"`
	Op string `json:"op,omitempty"`
	// Duplicate marks the answer to a request id seen before on this
	// socket: the first answer, repeated; nothing was applied again.
	Duplicate bool `json:"duplicate,omitempty"`

	// Error frames.
	Code    int    `json:"code,omitempty"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`

	// Result frames (and events frames: SessionID).
	SessionID    string        `json:"sessionId,omitempty"`
	UserID       string        `json:"userId,omitempty"`
	Pos          *int          `json:"pos,omitempty"`
	EventID      int           `json:"eventId,omitempty"`
	Time         *time.Time    `json:"time,omitempty"`
	Closed       bool          `json:"closed,omitempty"`
	Interactions []Interaction `json:"interactions,omitempty"`
	Interaction  *Interaction  `json:"interaction,omitempty"`
	// Node is the id of the cluster node the session lives on (results of
	// accept and join in a cluster, restored frames); URL is that node's
	// agent listener (restored frames).
	Node string `json:"node,omitempty"`
	URL  string `json:"url,omitempty"`
	// Restored marks a session that was restored after a failure
	// (results of accept and join).
	Restored bool `json:"restored,omitempty"`
	// WebapiToken is the session's restoration token (see KeyWebapiToken).
	WebapiToken string `json:"webapiToken,omitempty"`

	// Events frames.
	Events []Event `json:"events,omitempty"`
	// Replay marks the first events frame of a session: everything visible
	// so far.
	Replay bool `json:"replay,omitempty"`
	// Next is the transcript position after the last event read.
	Next int `json:"next,omitempty"`
	// State is "alive" or "closed".
	State string `json:"state,omitempty"`

	// Hello frames.
	Agent        *AgentInfo `json:"agent,omitempty"`
	MaxFrameSize int        `json:"maxFrameSize,omitempty"`

	// Offer frames (Interaction is set too) and the frames about offers.
	InteractionID string     `json:"interactionId,omitempty"`
	OfferKind     string     `json:"offerKind,omitempty"`
	ExpiresAt     *time.Time `json:"expiresAt,omitempty"`
	From          string     `json:"from,omitempty"`
	Visibility    string     `json:"visibility,omitempty"`
	Result        string     `json:"result,omitempty"`
	By            string     `json:"by,omitempty"`

	// State frames and the result of op state (and hello).
	AgentState string `json:"agentState,omitempty"`
	Reason     string `json:"reason,omitempty"`

	// Results of op history: the contact's earlier interactions, oldest
	// first; NextAfter, when set, is the After of the next page.
	History   []HistoryEntry `json:"history,omitempty"`
	ContactID string         `json:"contactId,omitempty"`
	NextAfter string         `json:"nextAfter,omitempty"`
}

// HistoryEntry is one earlier interaction of a contact.
type HistoryEntry struct {
	ID        string    `json:"id"`
	Queue     string    `json:"queue"`
	Subject   string    `json:"subject,omitempty"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"createdAt"`
	ClosedAt  time.Time `json:"closedAt,omitzero"`
	// Transcript is the stored final transcript (see docs/agent-protocol.md).
	Transcript json.RawMessage `json:"transcript,omitempty"`
}

// AgentInfo is the account a socket authenticated as.
type AgentInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	UserType string `json:"userType"`
	// Type is the account type: AGENT, SUPERVISOR or BOT.
	Type     string   `json:"type,omitempty"`
	Queues   []string `json:"queues,omitempty"`
	Capacity int      `json:"capacity,omitempty"`
}

// Interaction is a chat waiting in, or routed from, a queue.
type Interaction struct {
	ID          string         `json:"id"`
	SessionID   string         `json:"sessionId"`
	Tenant      string         `json:"tenant"`
	Endpoint    string         `json:"endpoint"`
	Queue       string         `json:"queue"`
	Subject     string         `json:"subject,omitempty"`
	State       string         `json:"state"`
	Online      bool           `json:"online"`
	Async       bool           `json:"async"`
	AsyncStatus int            `json:"asyncStatus,omitempty"`
	AgentID     string         `json:"agentId,omitempty"`
	UserData    map[string]any `json:"userData"`
	CreatedAt   time.Time      `json:"createdAt"`
	ClosedAt    time.Time      `json:"closedAt,omitzero"`
}

// Event is one transcript element as the participant may see it.
type Event struct {
	Pos     int       `json:"pos"`     // 0-based position in the transcript (ScriptPos)
	EventID int       `json:"eventId"` // Pos+1
	Kind    string    `json:"kind"`    // newParty, partyLeft, message, notice
	Time    time.Time `json:"time"`
	// TimeShift is whole seconds since the session started.
	TimeShift  int    `json:"timeShift"`
	From       Party  `json:"from"`
	Visibility string `json:"visibility"`
	ReceiverID string `json:"receiverId,omitempty"`
	Text       string `json:"text,omitempty"`
	MsgType    string `json:"msgType,omitempty"`
	TreatAs    string `json:"treatAs,omitempty"`
	NoticeType string `json:"noticeType,omitempty"`
	// Reason is set on partyLeft.
	Reason          *Reason        `json:"reason,omitempty"`
	AskerID         string         `json:"askerId,omitempty"`
	UserData        map[string]any `json:"userData,omitempty"`
	EventAttributes map[string]any `json:"eventAttributes,omitempty"`
}

// Party is who caused an event, as it was then.
type Party struct {
	UserID   string `json:"userId,omitempty"`
	Num      int    `json:"num,omitempty"`
	Nickname string `json:"nickname"`
	UserType string `json:"userType"`
	Bot      bool   `json:"bot,omitempty"`
}

// Reason is the reason code of a partyLeft event: absent/0 left, 1 left
// with CLOSE_IF_NO_AGENTS, 2 left with FORCE_CLOSE, 3 disconnected, 4
// removed by another party, 5 removed by the server, 7 idle, 8 restoration.
type Reason struct {
	Code int    `json:"code"`
	Text string `json:"text"`
}
