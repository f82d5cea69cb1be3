package chat

import (
	"context"
	"errors"
)

// Journals makes several journals one. The engine is given a pointer to the
// list, so a journal that needs the engine itself (routing) can be appended
// after the engine is built — before any session is created, since the list
// is read without a lock.
type Journals []Journal

// SessionCreated calls every journal.
func (js *Journals) SessionCreated(info *Info) Waiter {
	return js.each(func(j Journal) Waiter { return j.SessionCreated(info) })
}

// SessionUpdated calls every journal.
func (js *Journals) SessionUpdated(info *Info) Waiter {
	return js.each(func(j Journal) Waiter { return j.SessionUpdated(info) })
}

// EventAppended calls every journal. It is on every message's path, so it
// allocates nothing when at most one journal returns a waiter (the usual
// case: the history writes events, routing only observes).
func (js *Journals) EventAppended(id string, ev *Event) Waiter {
	var first Waiter
	var more waiters
	for _, j := range *js {
		w := j.EventAppended(id, ev)
		switch {
		case w == nil:
		case first == nil:
			first = w
		default:
			if more == nil {
				more = waiters{first}
			}
			more = append(more, w)
		}
	}
	if more != nil {
		return more
	}
	return first
}

// SessionClosed calls every journal.
func (js *Journals) SessionClosed(f *Final) Waiter {
	return js.each(func(j Journal) Waiter { return j.SessionClosed(f) })
}

func (js *Journals) each(call func(Journal) Waiter) Waiter {
	var ws waiters
	for _, j := range *js {
		if w := call(j); w != nil {
			ws = append(ws, w)
		}
	}
	switch len(ws) {
	case 0:
		return nil
	case 1:
		return ws[0]
	}
	return ws
}

// waiters waits for every one of several waiters.
type waiters []Waiter

func (ws waiters) Wait(ctx context.Context) error {
	var errs []error
	for _, w := range ws {
		if err := w.Wait(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
