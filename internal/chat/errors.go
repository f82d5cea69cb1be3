package chat

import "errors"

// Errors returned by the engine, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: no session with that id (never existed, or purged).
	ErrNotFound = errors.New("chat: session not found")
	// ErrClosed: the session is closed; it can be read but not changed.
	ErrClosed = errors.New("chat: session closed")
	// ErrNotParticipant: the user is not (or no longer) a party of the session.
	ErrNotParticipant = errors.New("chat: not a participant")
	// ErrDuplicateUser: the user id is already a party of the session.
	ErrDuplicateUser = errors.New("chat: already a participant")
	// ErrPassword: the session enforces a password and the join did not give it.
	ErrPassword = errors.New("chat: wrong or missing session password")
	// ErrVisibility: the party's type may not send with that visibility.
	ErrVisibility = errors.New("chat: visibility not allowed for this party")
	// ErrLimit: limit-for-sessions is reached.
	ErrLimit = errors.New("chat: session limit reached")
	// ErrInvalid: a request field has a bad value.
	ErrInvalid = errors.New("chat: invalid request")
)
