package sqlite

import (
	"context"
	"encoding/json"

	"github.com/confab/confab/internal/store"
)

// finalDoc is a close's final transcript: composed from the session's
// stored events when the transcript describes itself as parts of them
// (store.FinalEvents) and every event it refers to is stored, else what
// its Write gives. The events are read through the read pool by the
// closing goroutine, not on the writer: the session is closed and its
// events durable (the journal waits for them), so nothing changes them
// before the close's own transaction drops them (a move between the log
// and event_cold keeps their bytes; the read is one transaction).
func (s *Store) finalDoc(ctx context.Context, id string, transcript store.JSONWriter) (json.RawMessage, error) {
	if transcript.Events != nil {
		if rows, err := s.LoadEvents(ctx, id); err == nil {
			if doc, ok := store.ComposeFinal(transcript.Events, rows); ok {
				return doc, nil
			}
		}
	}
	return store.Render(transcript)
}
