package store

import (
	"context"
	"encoding/json"
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
	Agents
	Settings

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
}

// InteractionFilter selects interactions for ListInteractions. Empty fields
// match everything.
type InteractionFilter struct {
	Queue  string
	Status InteractionStatus
	State  string
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
	// Status is not StatusOpen or StatusClosed.
	UpdateInteraction(ctx context.Context, in Interaction) (version int64, err error)

	// CloseInteraction marks the interaction closed at closedAt and stores
	// its final transcript and statistics; a non-nil userData replaces the
	// stored user data. It does not check the version (it increments it),
	// and closing again overwrites. ErrNotFound if there is no such
	// interaction.
	CloseInteraction(ctx context.Context, id string, closedAt time.Time, transcript, stats, userData json.RawMessage) error

	// ListInteractions returns the interactions matching f ordered by
	// CreatedAt, then ID.
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
	// Data is the encoded event; it must not be nil.
	Data json.RawMessage
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
	// negative position, nil data) fails with ErrInvalid. If an event of a
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

// Document is a file uploaded in a chat.
type Document struct {
	ID          string
	SessionID   string
	Name        string
	ContentType string
	// Size is len(Data); the store sets it.
	Size      int64
	Data      []byte
	CreatedAt time.Time
}

// Documents keeps uploaded files.
type Documents interface {
	// PutDocument stores a new document; a zero CreatedAt means now.
	// ErrExists if the id is taken, ErrInvalid if ID or SessionID is empty.
	PutDocument(ctx context.Context, d Document) error

	// GetDocument returns the document with its bytes, or ErrNotFound.
	GetDocument(ctx context.Context, id string) (Document, error)

	// DeleteDocument removes a document; ErrNotFound if there is none.
	DeleteDocument(ctx context.Context, id string) error

	// ListDocuments returns a session's documents without their bytes
	// (Data nil, Size set), ordered by CreatedAt, then ID.
	ListDocuments(ctx context.Context, sessionID string) ([]Document, error)
}

// UserType is the kind of user an Agent record authenticates.
type UserType string

// User types of agents.
const (
	UserAgent      UserType = "AGENT"
	UserSupervisor UserType = "SUPERVISOR"
)

// Agent is a user of the agent protocol (a person or a bot).
type Agent struct {
	ID   string
	Name string
	// TokenHash is the hash of the agent's access token, computed by the
	// caller; it is unique among agents.
	TokenHash []byte
	Type      UserType
	CreatedAt time.Time
}

// Agents keeps the agents allowed to connect.
type Agents interface {
	// AddAgent stores a new agent; a zero CreatedAt means now. ErrExists if
	// the id or the token hash is taken; ErrInvalid if ID or TokenHash is
	// empty or Type unknown.
	AddAgent(ctx context.Context, a Agent) error
	// GetAgent returns the agent with the given id, or ErrNotFound.
	GetAgent(ctx context.Context, id string) (Agent, error)
	// GetAgentByTokenHash returns the agent with the given token hash, or
	// ErrNotFound.
	GetAgentByTokenHash(ctx context.Context, hash []byte) (Agent, error)
	// ListAgents returns every agent ordered by id.
	ListAgents(ctx context.Context) ([]Agent, error)
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
}
