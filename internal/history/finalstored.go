package history

import (
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/store"
)

// A closed session's final transcript can be written from its stored
// intermediate events rather than encoded again from memory (issue 17
// item 2; Options.FinalFromStore): the final form of an event is its
// stored bytes with the timeShift put before the userId (appendFinal), so
// the close hands the store the document's head and, per event, the
// stored event to take (store.FinalEvents), and the store composes the
// document from what it holds. The events whose stored bytes are not
// their final form are encoded here as before and passed as literals:
// the first event (position 0: its stored copy carries the restoration
// header) and any event masked differently in the two copies (apply-area
// history-final). A store that lacks one of the referenced events (the
// session was written with transcript-auto-save 0 for part of its life, an
// event write failed) writes the whole document from memory instead, so
// the document is the same either way (TestFinalFromStoreMatchesMemory).

// finalEvents describes f's final transcript as parts of its stored
// events, or returns nil when the hand-made encoding cannot write it
// (then the close writes it from memory).
func finalEvents(f *chat.Final) *store.FinalEvents {
	head := finalHeadOf(f)
	b := appendFinalHead(make([]byte, 0, 256+192*len(head.Participants)), &head)
	fe := &store.FinalEvents{Head: append(b[:len(b)-1], `,"events":[`...), Events: make([]store.FinalEvent, len(f.Events))}
	for i := range f.Events {
		ev := &f.Events[i]
		fin := ev.ForStore(true)
		if ev.Pos == 0 || !sameStored(ev, fin) {
			lit, ok := appendFinal(nil, fin, f.CreatedAt)
			if !ok {
				return nil
			}
			fe.Events[i] = store.FinalEvent{Pos: -1, Literal: lit}
			continue
		}
		fe.Events[i] = store.FinalEvent{Pos: int64(ev.Pos), EventID: int64(ev.ID()),
			Shift: int64(ev.Time.Sub(f.CreatedAt) / time.Second)}
	}
	return fe
}

// sameStored reports whether ev's intermediate copy (what its stored row
// holds) is its final copy fin: both ev itself, or both the masked copy.
func sameStored(ev, fin *chat.Event) bool {
	inter := ev.ForStore(false)
	return inter == fin || inter != ev && fin != ev
}
