package store

import "errors"

// Sentinel errors. Stores wrap them with context; test with errors.Is.
var (
	// ErrNotFound means the record addressed by id (or key) does not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrExists means a record with the same id (or another unique key, such
	// as an agent's token hash) already exists.
	ErrExists = errors.New("store: already exists")

	// ErrConflict means the write lost a race: an update carried a stale
	// Version, or an event was written again at an occupied (session,
	// position) with different content.
	ErrConflict = errors.New("store: conflict")

	// ErrInvalid means the record failed validation (an empty id, a negative
	// position, an unknown user type, ...). Nothing was written.
	ErrInvalid = errors.New("store: invalid record")

	// ErrTooLarge means the content was larger than the limit given; it was
	// not stored.
	ErrTooLarge = errors.New("store: too large")

	// ErrLimit means a counted allowance (such as download attempts) is
	// used up; nothing was counted.
	ErrLimit = errors.New("store: limit reached")

	// ErrClosed means the store has been closed; no write was made.
	ErrClosed = errors.New("store: closed")
)
