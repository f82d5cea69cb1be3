package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Store is everything Confab keeps durably. Implementations are safe for
// concurrent use and pass the conformance suite in store/storetest.
//
// The smaller interfaces it is made of let a consumer depend on only what it
// uses (the chat engine's adapter needs Events and Interactions, the agent
// API needs Agents).
type Store interface {
	Contacts
	Interactions
	Events
	Documents
	Outbox
	Agents
	Settings
	PIIRules
	StandardResponses

	// Close flushes every queued write, then releases the store. Writes
	// queued after Close has begun fail with ErrClosed. If ctx ends before
	// the queue is drained, writes that have not started fail with
	// ErrClosed, the batch in progress is finished, and Close returns
	// ctx.Err(). Close is idempotent.
	Close(ctx context.Context) error
}

// Contact is a customer known to the contact history.
type Contact struct {
	ID string
	// Attributes are the identifying and descriptive attributes
	// (EmailAddress, FirstName, LastName, PhoneNumber, ...), values trimmed.
	Attributes map[string]string
	CreatedAt  time.Time
}

// Well-known contact attribute names.
const (
	AttrEmailAddress = "EmailAddress"
	AttrFirstName    = "FirstName"
	AttrLastName     = "LastName"
	AttrPhoneNumber  = "PhoneNumber"
)

// Contacts identifies customers.
type Contacts interface {
	// IdentifyContact finds the contact a chat belongs to. It takes the
	// first name in keys whose attribute is present (non-blank) in attrs and
	// looks for a contact with an equal value of that attribute, compared
	// after NormalizeAttribute (spaces trimmed; EmailAddress compared
	// case-insensitively); if several match, the oldest wins. Only that
	// first present key is used: a chat whose e-mail address is new is not
	// linked to a contact through its phone number.
	//
	// If no contact matches and create is true, a contact is created with
	// every non-blank attribute in attrs, and created is true. If none of
	// keys is present in attrs (an anonymous chat), no contact is looked up
	// or created and IdentifyContact returns "", false, nil. With create
	// false and no match it returns "", false, nil as well.
	//
	// Concurrent calls for the same new customer create one contact.
	IdentifyContact(ctx context.Context, attrs map[string]string, keys []string, create bool) (id string, created bool, err error)

	// GetContact returns the contact with the given id, or ErrNotFound.
	GetContact(ctx context.Context, id string) (Contact, error)
}

// InteractionStatus is the contact-history status of an interaction.
type InteractionStatus string

// Interaction statuses.
const (
	StatusOpen   InteractionStatus = "open"
	StatusClosed InteractionStatus = "closed"
)

// Interaction is the contact-history record of one chat session.
type Interaction struct {
	// ID is the InteractionId; it equals the chat session id.
	ID        string
	SessionID string
	Tenant    string
	Endpoint  string
	Queue     string
	// ContactID is the identified contact, or "" for an anonymous chat. When
	// set it must name an existing contact.
	ContactID string
	Subject   string
	UserData  json.RawMessage
	Status    InteractionStatus
	// State is the routing layer's state ("queued", "assigned", "stopped",
	// ...); free text to the store.
	State string
	// Owner is the id of the node serving the session.
	Owner string
	// Version is 1 after CreateInteraction and grows by one with every
	// update; UpdateInteraction with a stale Version fails with ErrConflict.
	Version   int64
	CreatedAt time.Time
	// ClosedAt is zero until the interaction is closed.
	ClosedAt time.Time
	// Transcript is the final transcript, written by CloseInteraction.
	Transcript json.RawMessage
	// Stats are the reporting statistics, written by CloseInteraction.
	Stats json.RawMessage
	// Epoch, when not 0, fences UpdateInteraction as EventRow.Epoch fences
	// an event: a store that keeps session ownership refuses the update
	// with ErrFenced unless it is the session's current owner epoch (a
	// session without an owner row is not fenced). It is not stored;
	// reads return 0.
	Epoch int64
}

// InteractionFilter selects interactions for ListInteractions. Empty fields
// match everything.
type InteractionFilter struct {
	Queue  string
	Status InteractionStatus
	State  string
	// ContactID selects the interactions of one contact.
	ContactID string
	// Newest lists newest first (CreatedAt, then ID, descending); AfterID
	// then continues towards older interactions.
	Newest bool
	// Limit caps the number of records returned; 0 means no cap.
	Limit int
	// AfterID continues a listing after the interaction with this id (in
	// the list's order); ErrNotFound if there is no such interaction.
	AfterID string
	// WithTranscript includes the final transcripts, which are left nil
	// otherwise to keep listings cheap.
	WithTranscript bool
}

// Interactions keeps interaction records.
type Interactions interface {
	// CreateInteraction stores a new interaction with Version 1. An empty
	// Status means StatusOpen; a zero CreatedAt means now. ErrExists if the
	// id is taken; ErrInvalid if ID is empty, Status unknown or ContactID
	// names no contact.
	CreateInteraction(ctx context.Context, in Interaction) error

	// GetInteraction returns the interaction, or ErrNotFound.
	GetInteraction(ctx context.Context, id string) (Interaction, error)

	// UpdateInteraction replaces every field of the stored interaction but
	// ID and CreatedAt, provided in.Version equals the stored version, and
	// returns the new version (in.Version+1). ErrConflict if the version is
	// stale, ErrNotFound if there is no such interaction, ErrInvalid if
	// Status is not StatusOpen or StatusClosed, ErrFenced if in.Epoch is
	// stale (see Interaction.Epoch).
	UpdateInteraction(ctx context.Context, in Interaction) (version int64, err error)

	// CloseInteraction marks the interaction closed at closedAt and stores
	// its final transcript (a JSONWriter, which the store writes once per
	// attempt: a store may write it on its writer when the close's turn
	// comes, so that no finished copy waits in the queue, or before queueing
	// the close, so that its writer never waits for an encoding — SQLite
	// does that) and statistics; a non-nil
	// userData replaces the
	// stored user data. In the same transaction it deletes the session's
	// intermediate events (see Events; the interaction id is the session
	// id), so a crash leaves either the open record with its events or the
	// closed record without them. It does not check the version (it
	// increments it), and closing again overwrites. ErrNotFound if there is
	// no such interaction (nothing is deleted then).
	CloseInteraction(ctx context.Context, id string, closedAt time.Time, transcript JSONWriter, stats, userData json.RawMessage) error

	// ListInteractions returns the interactions matching f ordered by
	// CreatedAt, then ID (descending when f.Newest).
	ListInteractions(ctx context.Context, f InteractionFilter) ([]Interaction, error)
}

// EventRow is one event of a live session's intermediate transcript.
type EventRow struct {
	SessionID string
	// Position is the event's 0-based place in the transcript (ScriptPos).
	Position int64
	// EventID is the session-wide event id.
	EventID int64
	Time    time.Time
	// Data is the encoded event; it must not be nil unless Encoder is set.
	Data json.RawMessage
	// Encoder, when set and Data is nil, encodes Data later: the store's
	// writer calls EncodeData as it builds the batch that writes the row,
	// so the caller (the history journal, under the session's lock) does
	// not pay for the encoding (eventenc.go).
	Encoder EventEncoder
	// Epoch, when not 0, fences the write (see Ownership): a store that
	// keeps session ownership refuses it with ErrFenced unless it is the
	// session's current owner epoch. Stores without ownership ignore it.
	Epoch int64
}

// Events keeps intermediate transcripts: the events of live sessions, for
// transcript auto-save and for restoring a session on another node.
type Events interface {
	// AppendEvent queues e on the store's group-commit writer and returns
	// at once; the Ticket completes when e is durable. ctx bounds only the
	// wait for room in a full queue: if it ends first, the ticket reports
	// ctx.Err() and nothing is written. e.Data is retained until the write
	// completes and must not be modified meanwhile.
	//
	// Writing an event again at the same (SessionID, Position) succeeds
	// without change if EventID, Time and Data are identical (a replay) and
	// fails with ErrConflict otherwise. An invalid event (empty session id,
	// negative position, nil data and no Encoder, an Encoder that fails)
	// fails with ErrInvalid. If an event of a
	// session fails, the later events of that session in the same
	// transaction fail too, so a session's stored events never skip over a
	// failed one within a batch.
	AppendEvent(ctx context.Context, e EventRow) Ticket

	// LoadEvents returns the stored events of a session ordered by
	// position; none (and no error) for an unknown session.
	LoadEvents(ctx context.Context, sessionID string) ([]EventRow, error)

	// DeleteEvents removes a session's events, typically once its final
	// transcript has been written. Deleting an unknown session is not an
	// error.
	DeleteEvents(ctx context.Context, sessionID string) error
}

// Document is a file uploaded in a chat: its metadata. The bytes are never
// part of it; they are streamed in (PutDocument) and out (OpenDocument).
type Document struct {
	// ID is the document-id: the file's handle in the store.
	ID string
	// SessionID is the session the file belongs to; "" until it is attached
	// (an agent uploads first and attaches with a file-uploaded notice).
	SessionID string
	// FileID is the file-id the server assigned in the session when the
	// file-uploaded notice was appended; "" until then. Unique per session.
	FileID string
	// Owner is who uploaded it: a customer's user id or an agent's id.
	Owner       string
	Name        string
	ContentType string
	// Size is the length of the content; the store sets it.
	Size int64
	// SHA256 is the hex SHA-256 of the content; the store sets it ("" for
	// documents migrated from schema version 1).
	SHA256 string
	// Downloads counts the customer downloads taken with TakeDownload.
	Downloads int
	CreatedAt time.Time
}

// DocumentStats counts the stored documents.
type DocumentStats struct {
	Count int64
	Bytes int64
}

// Documents keeps uploaded files. Content is streamed: no method holds a
// whole document in memory, whatever its size.
type Documents interface {
	// PutDocument reads the content from r and stores a new document with
	// d's metadata; a zero CreatedAt means now. It returns the stored
	// metadata (Size and SHA256 set). It reads at most max+1 bytes: if r
	// holds more than max, it stops there, nothing is stored and the error
	// is ErrTooLarge. ErrExists if the id is taken; ErrInvalid if ID is
	// empty, max is negative, or FileID is set without SessionID. A read
	// error of r is returned wrapped and nothing is stored.
	PutDocument(ctx context.Context, d Document, r io.Reader, max int64) (Document, error)

	// GetDocument returns a document's metadata, or ErrNotFound.
	GetDocument(ctx context.Context, id string) (Document, error)

	// OpenDocument returns a document's metadata and a reader of its
	// content, which the caller closes. ErrNotFound if there is none. A
	// document deleted while it is read ends the reader with an error.
	OpenDocument(ctx context.Context, id string) (Document, io.ReadCloser, error)

	// FindFile returns the document with the file-id in the session, or
	// ErrNotFound.
	FindFile(ctx context.Context, sessionID, fileID string) (Document, error)

	// AttachDocument gives a document its session and file-id (and, when
	// owner is not "", its owner) and returns it. ErrNotFound if there is no such document; ErrConflict if it is
	// attached already or the file-id is taken in the session; ErrInvalid if
	// sessionID or fileID is empty.
	AttachDocument(ctx context.Context, id, sessionID, fileID, owner string) (Document, error)

	// TakeDownload counts one customer download of the document, provided
	// the downloads of all the documents of its session are fewer than max,
	// and returns the session's downloads including this one. ErrLimit when
	// max is reached (nothing counted), ErrNotFound if there is no such
	// document.
	TakeDownload(ctx context.Context, id string, max int) (used int, err error)

	// DeleteDocument removes a document; ErrNotFound if there is none.
	DeleteDocument(ctx context.Context, id string) error

	// ListDocuments returns a session's documents ordered by CreatedAt,
	// then ID.
	ListDocuments(ctx context.Context, sessionID string) ([]Document, error)

	// DeleteSessionDocuments removes every document of a session and
	// returns how many there were.
	DeleteSessionDocuments(ctx context.Context, sessionID string) (int, error)

	// PurgeDocuments removes the documents created before t and returns how
	// many there were (the retention rule).
	PurgeDocuments(ctx context.Context, before time.Time) (int, error)

	// DocumentStats counts the stored documents and their bytes.
	DocumentStats(ctx context.Context) (DocumentStats, error)
}

// OutboxItem is one entry of the outbox: work that must survive a
// restart, such as a push notification waiting to be resent.
type OutboxItem struct {
	Kind      string // the owner's name, e.g. "push"
	Key       string // unique within Kind
	Value     []byte
	UpdatedAt time.Time
}

// Outbox keeps small records of pending outbound work.
type Outbox interface {
	// PutOutbox stores or replaces the item (Kind, Key). ErrInvalid if Kind
	// or Key is empty.
	PutOutbox(ctx context.Context, it OutboxItem) error
	// DeleteOutbox removes an item; removing a missing item is not an
	// error.
	DeleteOutbox(ctx context.Context, kind, key string) error
	// ListOutbox returns the items of a kind ordered by key.
	ListOutbox(ctx context.Context, kind string) ([]OutboxItem, error)
}

// UserType is the kind of user an Agent record authenticates.
type UserType string

// User types of agents.
const (
	UserAgent      UserType = "AGENT"
	UserSupervisor UserType = "SUPERVISOR"
	// UserBot is an automated agent: it joins as AGENT marked as a bot
	// and never counts as an agent for CLOSE_IF_NO_AGENTS.
	UserBot UserType = "BOT"
)

// DefaultCapacity is the capacity of an agent account that sets none.
const DefaultCapacity = 1

// MaxCapacity bounds an agent account's capacity.
const MaxCapacity = 100

// Agent is a user of the agent protocol (a person or a bot).
type Agent struct {
	ID   string
	Name string
	// TokenHash is the hash of the agent's access token, computed by the
	// caller; it is unique among agents.
	TokenHash []byte
	Type      UserType
	// Queues are the queues whose interactions the agent is offered (for
	// supervisors: the queues whose sessions they may monitor, coach and
	// barge in on); empty means none.
	Queues []string
	// Capacity is how many chats the agent handles at once, 1 to
	// MaxCapacity; 0 means DefaultCapacity.
	Capacity  int
	CreatedAt time.Time
}

// Agents keeps the agents allowed to connect.
type Agents interface {
	// AddAgent stores a new agent; a zero CreatedAt means now and a zero
	// Capacity DefaultCapacity. ErrExists if the id or the token hash is
	// taken; ErrInvalid if ID or TokenHash is empty, Type unknown or
	// Capacity out of range.
	AddAgent(ctx context.Context, a Agent) error
	// GetAgent returns the agent with the given id, or ErrNotFound.
	GetAgent(ctx context.Context, id string) (Agent, error)
	// GetAgentByTokenHash returns the agent with the given token hash, or
	// ErrNotFound.
	GetAgentByTokenHash(ctx context.Context, hash []byte) (Agent, error)
	// ListAgents returns every agent ordered by id.
	ListAgents(ctx context.Context) ([]Agent, error)
	// UpdateAgent replaces the name, type, queues and capacity of an
	// existing agent (and its token hash when a.TokenHash is not empty);
	// the id and CreatedAt stay. ErrNotFound if there is none; ErrInvalid
	// for an unknown type or a capacity out of range; ErrExists if the new
	// token hash belongs to another agent.
	UpdateAgent(ctx context.Context, a Agent) error
	// RemoveAgent deletes an agent; ErrNotFound if there is none.
	RemoveAgent(ctx context.Context, id string) error
}

// Settings is a small key-value table for server state such as generated
// tokens.
type Settings interface {
	// GetSetting returns the value stored under key, or ErrNotFound.
	GetSetting(ctx context.Context, key string) (string, error)
	// PutSetting stores value under key, replacing any previous value.
	PutSetting(ctx context.Context, key, value string) error
	// InsertSetting stores value under key only if the key has no value
	// yet, atomically, and returns the value the key holds afterwards:
	// of several callers racing to create a setting (two nodes' first
	// start), every one gets the one value that was stored first.
	InsertSetting(ctx context.Context, key, value string) (string, error)
}

// CheckAgent validates the routing attributes of an agent record and
// returns it with the defaults applied (capacity 0 becomes
// DefaultCapacity; queue names are trimmed, empty ones dropped, duplicates
// removed). Every store calls it before writing.
func CheckAgent(a Agent) (Agent, error) {
	switch a.Type {
	case UserAgent, UserSupervisor, UserBot:
	default:
		return a, fmt.Errorf("agent %q: %w: unknown user type %q", a.ID, ErrInvalid, a.Type)
	}
	if a.Capacity == 0 {
		a.Capacity = DefaultCapacity
	}
	if a.Capacity < 1 || a.Capacity > MaxCapacity {
		return a, fmt.Errorf("agent %q: %w: capacity %d not in 1..%d", a.ID, ErrInvalid, a.Capacity, MaxCapacity)
	}
	var qs []string
	seen := map[string]bool{}
	for _, q := range a.Queues {
		q = strings.TrimSpace(q)
		if q == "" || seen[q] {
			continue
		}
		if strings.ContainsAny(q, ",\x00") {
			return a, fmt.Errorf("agent %q: %w: queue name %q has a comma or NUL", a.ID, ErrInvalid, q)
		}
		seen[q] = true
		qs = append(qs, q)
	}
	a.Queues = qs
	return a, nil
}

// PIIRule is an operator's masking rule ([transcript-cleanup]
// apply-config ucs or mix), kept in order.
type PIIRule struct {
	ID          string
	Name        string
	Description string
	Pattern     string // Perl-5-style regular expression
	Spec        string // replacement spec; empty = default-spec
	MinDigitRun int    // pre-filter hint, 0 = none
	// Position orders the rules (ascending); AddPIIRule puts a rule whose
	// Position is 0 after the others.
	Position  int
	UpdatedAt time.Time
}

// PIIRules keeps the operator's masking rules. The store does not check the
// pattern; callers compile the whole set before they write.
type PIIRules interface {
	// ListPIIRules returns the rules ordered by Position.
	ListPIIRules(ctx context.Context) ([]PIIRule, error)
	// AddPIIRule stores a new rule; a zero UpdatedAt means now. ErrExists if
	// the id is taken; ErrInvalid if ID, Name or Pattern is empty.
	AddPIIRule(ctx context.Context, r PIIRule) error
	// RemovePIIRule deletes a rule; ErrNotFound if there is none.
	RemovePIIRule(ctx context.Context, id string) error
}
