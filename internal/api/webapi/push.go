package webapi

import (
	"github.com/confab/confab/internal/chat"
)

// stream is a cursor over what one customer may see of one session. It is
// the whole state a push transport needs: the WebSocket writer, refresh's
// long poll and (later) a CometD /meta/connect handler each take the
// session's change channel (changed), read (read), deliver, and wait on the
// channel. Reads go through the engine's visibility filter, so INT and VIP
// traffic and other parties' direct messages never reach a stream.
//
// A stream is used by one goroutine at a time.
type stream struct {
	sess   *chat.Session
	userID string
	pos    int  // engine position to read from next
	limit  int  // most events one read hands out
	left   bool // the customer's own departure has been read (or preceded the stream)
	buf    []chat.Event
}

// batch is what one read found.
type batch struct {
	events []chat.Event // valid until the next read
	next   int          // 1-based index of the next event to ask for (nextPosition)
	// capped is set when more than limit events were pending: events holds
	// the first limit of them and next points after them.
	capped bool
	// ended is set when the chat is over for the customer (the session
	// closed, or the customer left) and this read reached the end: nothing
	// will follow.
	ended bool
}

// newStream returns a stream positioned at the engine position pos. left
// says whether the customer had already left.
func newStream(s *chat.Session, userID string, pos, limit int, left bool, buf []chat.Event) stream {
	return stream{sess: s, userID: userID, pos: max(pos, 0), limit: limit, left: left, buf: buf[:0]}
}

// changed returns the channel that closes at the session's next change;
// take it before read and wait on it when the read found nothing.
func (st *stream) changed() <-chan struct{} { return st.sess.Changed() }

// read takes what is new without waiting and advances the cursor past it.
func (st *stream) read() (batch, error) {
	evs, next, state, err := st.sess.ReadN(st.userID, st.pos, st.limit+1, st.buf[:0])
	return st.took(evs, next, state, err)
}

// readChanged is read that also returns the channel closing at the next
// change after it (one trip through the session's lock for both).
func (st *stream) readChanged() (batch, <-chan struct{}, error) {
	evs, next, state, ch, err := st.sess.ReadNChanged(st.userID, st.pos, st.limit+1, st.buf[:0])
	b, err := st.took(evs, next, state, err)
	return b, ch, err
}

func (st *stream) took(evs []chat.Event, next int, state chat.State, err error) (batch, error) {
	st.buf = evs
	if err != nil {
		return batch{}, err
	}
	b := batch{events: evs}
	if len(evs) > st.limit {
		next = evs[st.limit].Pos
		b.events = evs[:st.limit]
		b.capped = true
	}
	for i := range b.events {
		if ev := &b.events[i]; ev.Kind == chat.PartyLeft && ev.From.UserID == st.userID {
			st.left = true
		}
	}
	st.pos = next
	b.next = next + 1
	b.ended = !b.capped && (state == chat.Closed || st.left)
	return b, nil
}

// buffer returns the stream's read buffer for reuse once the stream is done.
func (st *stream) buffer() []chat.Event { return st.buf }
