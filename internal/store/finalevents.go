package store

import (
	"bytes"
	"strconv"
)

// FinalEvents describes a final transcript as parts of what the store
// already holds (issue 17 item 2): the document's head, then its events in
// order, each either a stored intermediate event (by position and event
// id, with the whole seconds since the session started that the final
// form puts before its userId) or literal bytes the caller encoded, joined
// with commas, then "]}". A store that can compose it from its stored
// events (ComposeFinal) writes that instead of calling the JSONWriter's
// Write; when a referenced event is not stored (a session written with
// transcript-auto-save 0 for part of its life, a failed event write) it
// writes what Write gives. The caller guarantees that each referenced
// event's stored bytes with its timeShift inserted are that event's final
// form, so both give the same document.
type FinalEvents struct {
	Head   []byte // the document up to and including `"events":[`
	Events []FinalEvent
}

// FinalEvent is one event of a FinalEvents.
type FinalEvent struct {
	// Pos is the stored event's position; -1: Literal is the event.
	Pos, EventID int64
	// Shift is the timeShift put before the stored event's userId; 0 (the
	// final form omits it): none.
	Shift   int64
	Literal []byte
}

// finalTail closes the events array and the document.
const finalTail = "]}"

// userIDField follows utcTime in a stored event; the fields before it are
// numbers and the kind's name, so its first occurrence is that field.
const userIDField = `,"userId":`

// UserIDField is the marker before which a final event's timeShift goes
// (for a store composing in SQL).
const UserIDField = userIDField

// FinalTail is what follows a final transcript's events.
const FinalTail = finalTail

// ComposeFinal writes the document fe describes, the stored events taken
// from rows (a session's events in position order, as LoadEvents returns
// them). ok is false, with nil bytes, if an event it refers to is not
// among rows with its event id, or lacks the userId field its timeShift
// goes before.
func ComposeFinal(fe *FinalEvents, rows []EventRow) (_ []byte, ok bool) {
	size := len(fe.Head) + len(finalTail)
	for i := range fe.Events {
		size += len(fe.Events[i].Literal) + 24
	}
	for i := range rows {
		size += len(rows[i].Data)
	}
	out := append(make([]byte, 0, size), fe.Head...)
	r := 0
	for i := range fe.Events {
		ev := &fe.Events[i]
		if i > 0 {
			out = append(out, ',')
		}
		if ev.Pos < 0 {
			out = append(out, ev.Literal...)
			continue
		}
		for r < len(rows) && rows[r].Position < ev.Pos {
			r++
		}
		if r == len(rows) || rows[r].Position != ev.Pos || rows[r].EventID != ev.EventID {
			return nil, false
		}
		var good bool
		if out, good = AppendFinalEvent(out, rows[r].Data, ev.Shift); !good {
			return nil, false
		}
	}
	return append(out, finalTail...), true
}

// AppendFinalEvent appends a stored event's bytes with the timeShift shift
// put before its userId (none for 0). ok is false if it has no userId.
func AppendFinalEvent(dst, data []byte, shift int64) (_ []byte, ok bool) {
	if shift == 0 {
		return append(dst, data...), true
	}
	i := bytes.Index(data, []byte(userIDField))
	if i < 0 {
		return dst, false
	}
	dst = append(dst, data[:i]...)
	dst = strconv.AppendInt(append(dst, `,"timeShift":`...), shift, 10)
	return append(dst, data[i:]...), true
}
