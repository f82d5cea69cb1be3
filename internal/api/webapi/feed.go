package webapi

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/confab/confab/internal/chat"
)

// ErrNoChat is returned by NewFeed when the chat or its customer is gone.
var ErrNoChat = errors.New("webapi: no such chat or customer")

// Feed is a cursor over what one customer may see of one chat, for push
// transports other than the WebSocket one (the CometD adapter reads it from
// /meta/connect). It is the same stream the WebSocket writer reads, and
// each read is encoded as the same common response body, so a push client
// gets exactly what a REST refresh from the same position would return.
//
// While a Feed is open the customer counts as connected for
// flex-disconnect-timeout; Close ends that. A Feed is used by one goroutine
// at a time.
type Feed struct {
	a       *API
	rq      request // sess and me only, for fill
	st      stream
	release func()
	evbuf   *[]chat.Event
}

// NewFeed opens a feed over the customer userID of chatID, positioned at
// the 1-based index next (the first event it will deliver).
func (a *API) NewFeed(chatID, userID string, next int) (*Feed, error) {
	s, err := a.engine.Get(chatID)
	if err != nil {
		return nil, ErrNoChat
	}
	me, err := s.Participant(userID)
	if err != nil || me.Type != chat.Client {
		return nil, ErrNoChat
	}
	f := &Feed{a: a, evbuf: a.getEvents()}
	f.rq = request{chatID: chatID, sess: s, me: me}
	f.st = newStream(s, userID, max(next-1, 0), a.backlog, me.Left, *f.evbuf)
	f.release = a.presence.hold(chatID)
	return f, nil
}

// Changed returns the channel that closes at the chat's next change; take
// it before Read and wait on it when Read found nothing.
func (f *Feed) Changed() <-chan struct{} { return f.st.changed() }

// Next returns the 1-based index of the next event the feed will deliver.
func (f *Feed) Next() int { return f.st.pos + 1 }

// Skip moves the feed forward to index next when it is behind it: the
// events before next were delivered another way (an operation's answer).
func (f *Feed) Skip(next int) {
	if next-1 > f.st.pos {
		f.st.pos = next - 1
	}
}

// Read returns the common response body of what is new, or nil when there
// is nothing to deliver. ended is set on the body that ends the chat for
// the customer (nothing follows). behind is set when more than MaxBacklog
// events were pending: the body is then a resync answer (statusCode 1,
// resyncFrom the first index not delivered, no messages), and the
// transport must drop its client, which recovers with a Chat API refresh
// or requestNotifications from that index.
func (f *Feed) Read() (b []byte, ended, behind bool) {
	bt, err := f.st.read()
	if err != nil {
		return nil, false, false // the chat was purged: nothing more will come
	}
	bd := &body{}
	switch {
	case bt.capped:
		f.a.fill(bd, &f.rq, batch{next: bt.events[0].ID()})
		bd.status, bd.resyncFrom = 1, bd.next
		bd.errs = []apiError{{codeUnavailable, "fell behind; resync from index " + strconv.Itoa(bd.next)}}
		behind = true
	case len(bt.events) > 0 && visible(bt.events) || bt.ended:
		f.a.fill(bd, &f.rq, bt)
		ended = bt.ended
	default:
		return nil, false, false
	}
	buf := f.a.getBuf()
	*buf = appendBody(*buf, bd)
	b = bytes.Clone(*buf)
	f.a.putBuf(buf)
	return b, ended, behind
}

// visible reports whether any of evs has a customer-facing form.
func visible(evs []chat.Event) bool {
	for i := range evs {
		if wireType(&evs[i]) != "" {
			return true
		}
	}
	return false
}

// Close releases the feed; it may be called more than once.
func (f *Feed) Close() {
	if f.release != nil {
		f.release()
		f.release = nil
		*f.evbuf = f.st.buffer()
		f.a.putEvents(f.evbuf)
		f.evbuf = nil
	}
}
