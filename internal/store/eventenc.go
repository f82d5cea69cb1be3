package store

import (
	"encoding/json"
	"fmt"
)

// EventEncoder produces the Data of an EventRow when the store's writer
// builds the batch that writes it (EventRow.Encoder), off the locks of the
// code that queued the row. EncodeEvent must give the same bytes every time
// it is called (a retried write is compared byte for byte with what is
// stored) and must be safe to call from another goroutine than the one that
// queued the row: it reads only its own copy of the event.
type EventEncoder interface {
	EncodeEvent() (json.RawMessage, error)
}

// EncodeData sets e.Data from e.Encoder when Data is nil and an Encoder is
// set; otherwise it does nothing. A store calls it on its writer goroutine,
// for every event of a batch before it validates and writes the row, so
// that a deferred event is stored exactly as if its Data had been given.
// A failing encoder is an invalid event (ErrInvalid).
func (e *EventRow) EncodeData() error {
	if e.Data != nil || e.Encoder == nil {
		return nil
	}
	data, err := e.Encoder.EncodeEvent()
	if err != nil {
		return fmt.Errorf("%w: encode event: %v", ErrInvalid, err)
	}
	if data == nil {
		return fmt.Errorf("%w: the event's encoder gave nil data", ErrInvalid)
	}
	e.Data = data
	return nil
}

// HasData reports whether e has its Data or an Encoder that will produce it
// (the stores' validity check on the caller's side).
func (e *EventRow) HasData() bool { return e.Data != nil || e.Encoder != nil }

// EventAppender is an EventEncoder that can append its encoding to a
// buffer: a store's writer then encodes a batch's events into one buffer it
// reuses from batch to batch (EncodeDataInto) instead of allocating a slice
// per event. AppendEvent appends exactly the bytes EncodeEvent returns.
type EventAppender interface {
	EventEncoder
	AppendEvent(dst []byte) ([]byte, error)
}

// EncodeDataInto is EncodeData, with the encoding appended to buf when the
// Encoder is an EventAppender: e.Data is then a slice of buf's array (its
// capacity ends with it, so an append to Data never overwrites the next
// event's bytes), valid until the caller reuses buf. It returns buf with
// the encoding appended (unchanged if nothing was encoded into it).
func (e *EventRow) EncodeDataInto(buf []byte) ([]byte, error) {
	if e.Data != nil || e.Encoder == nil {
		return buf, nil
	}
	a, ok := e.Encoder.(EventAppender)
	if !ok {
		return buf, e.EncodeData()
	}
	start := len(buf)
	out, err := a.AppendEvent(buf)
	if err != nil {
		return buf, fmt.Errorf("%w: encode event: %v", ErrInvalid, err)
	}
	e.Data = out[start:len(out):len(out)]
	return out, nil
}
