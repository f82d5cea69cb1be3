package history

import (
	"encoding/json"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/store"
)

// The engine calls EventAppended with the session's lock held, so the
// intermediate event is not encoded there: EventAppended copies the stored
// form of the event (masked where apply-area masks it) into a deferredEvent
// and hands it to the store as the row's Encoder; the store's writer
// encodes it as it builds the batch (store.EventRow.EncodeData), off the
// session's lock. The bytes are those encodeStored gives (the encoded
// form is fixed by the copy, so a retried write gives the same bytes).

// deferredEvent is a store.EventEncoder for one intermediate event.
type deferredEvent struct {
	ev   chat.Event // the stored copy, taken under the session's lock
	h    *Header    // the session's header on its first event, else nil
	fast bool       // Journal.fastEncode
}

// deferEvent copies the stored form of ev for a later encoding. The copy
// shares ev's strings and maps, which an appended event never changes; it
// does not share the event itself, whose Superseded flag the engine may
// still set under the lock.
func (j *Journal) deferEvent(ev *chat.Event, h *Header) *deferredEvent {
	d := new(deferredEvent)
	j.deferInto(d, ev, h)
	return d
}

// deferInto is deferEvent into d (one embedded in an eventWrite).
func (j *Journal) deferInto(d *deferredEvent, ev *chat.Event, h *Header) {
	*d = deferredEvent{ev: *ev.ForStore(false), h: h, fast: j.fastEncode}
}

// EncodeEvent encodes the event as encodeStored does.
func (d *deferredEvent) EncodeEvent() (json.RawMessage, error) {
	if d.fast {
		if b, ok := appendStored(make([]byte, 0, storedSize(&d.ev, d.h)), &d.ev, d.h); ok {
			return b, nil
		}
	}
	// ForStore of the stored copy is the copy itself: it is masked already.
	return encodeStored(&d.ev, d.h)
}

// AppendEvent appends the bytes EncodeEvent returns to dst (the store's
// writer encodes a batch into one reused buffer).
func (d *deferredEvent) AppendEvent(dst []byte) ([]byte, error) {
	if d.fast {
		if b, ok := appendStored(dst, &d.ev, d.h); ok {
			return b, nil
		}
		// appendStored gave up part way: what it appended is dropped.
	}
	b, err := encodeStored(&d.ev, d.h)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

var _ store.EventAppender = (*deferredEvent)(nil)
