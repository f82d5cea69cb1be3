package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// StandardResponse is a canned reply agents insert into a chat (the
// reference's Standard Response Library): a plain-text part that is always
// sent, and optionally the eventAttributes of a structured (rich) message
// for which the text is the fallback.
type StandardResponse struct {
	ID       string
	Name     string // the title agents search and pick by
	Category string // optional grouping, e.g. "greetings"
	// Shortcut is an optional short word an agent types as /shortcut.
	Shortcut string
	Text     string // the plain-text part (the fallback of a structured one)
	// Attributes are the eventAttributes sent with the message (a JSON
	// object, for example {"structured-content":{"genesys-chat":{...}}});
	// empty for a plain response.
	Attributes json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// StandardResponses keeps the standard responses. The store checks only
// that the required fields are there; the API checks lengths and the
// structured content.
type StandardResponses interface {
	// ListStandardResponses returns every response ordered by category,
	// name, then id.
	ListStandardResponses(ctx context.Context) ([]StandardResponse, error)
	// GetStandardResponse returns one response, or ErrNotFound.
	GetStandardResponse(ctx context.Context, id string) (StandardResponse, error)
	// AddStandardResponse stores a new response; zero CreatedAt and
	// UpdatedAt mean now. ErrExists if the id is taken; ErrInvalid if ID,
	// Name or Text is empty or Attributes is not a JSON object.
	AddStandardResponse(ctx context.Context, r StandardResponse) error
	// UpdateStandardResponse replaces the name, category, shortcut, text
	// and attributes of an existing response and sets UpdatedAt (zero:
	// now); the id and CreatedAt stay. ErrNotFound if there is none;
	// ErrInvalid as for Add.
	UpdateStandardResponse(ctx context.Context, r StandardResponse) error
	// RemoveStandardResponse deletes a response; ErrNotFound if there is
	// none.
	RemoveStandardResponse(ctx context.Context, id string) error
}

// CheckStandardResponse is the check every store makes before writing r.
func CheckStandardResponse(r StandardResponse) error {
	if r.ID == "" || strings.TrimSpace(r.Name) == "" || strings.TrimSpace(r.Text) == "" {
		return fmt.Errorf("standard response %q: %w: empty id, name or text", r.ID, ErrInvalid)
	}
	if len(r.Attributes) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.Attributes, &m); err != nil || m == nil {
			return fmt.Errorf("standard response %q: %w: attributes are not a JSON object", r.ID, ErrInvalid)
		}
	}
	return nil
}
