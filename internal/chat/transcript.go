package chat

import (
	"time"

	"github.com/confab/confab/internal/kv"
)

// transcript is the append-only event list of a session, stored in blocks
// of fixed size so that appending never copies earlier events (a long
// session's transcript is not reallocated as it grows).
//
// It keeps each event in a compact form (entry, 80 bytes against an
// Event's 248): the fields most events leave empty live in an extra
// record allocated only when one is set, and the party an event came from
// is shared with the nearby events of the same party as it was then. A
// server holding 10,000 open sessions keeps their transcripts in memory
// the whole time, and every byte and pointer of them is held and scanned
// by the GC on every cycle; reads hand out full Events (get).
type transcript struct {
	blocks [][]entry
	n      int
}

// entry is the stored form of one Event; its position is its index.
type entry struct {
	time        time.Time
	from        *Party // shared by the events of the same party snapshot; never changed
	text        string
	clientMsgID string
	more        *extra // nil when every field of extra is empty
	kind        EventKind
	vis         Visibility
	notice      NoticeType
	reason      LeaveReason
	superseded  bool
	textType    bool // MsgType is "text" (not in more: agents send it with every message)
}

// extra holds the fields of an Event that most events leave empty.
type extra struct {
	receiverID, msgType, treatAs, askerID string
	userData, attrs                       kv.Map
	pii                                   *maskRecord
}

// msgTypeText is the message type kept as entry.textType, not in an
// extra record: the agent protocol's clients send it with every message
// (an extra record each was a third of a dense server's transcript bytes).
const msgTypeText = "text"

const blockShift = 5 // 32 events per block
const blockSize = 1 << blockShift

// firstBlock is the capacity a transcript starts with; its first block
// doubles up to blockSize.
const firstBlock = 8

// partyLookback is how many of the latest events add searches for the
// same party to share it (a chat mostly alternates between two or three).
const partyLookback = 4

func (t *transcript) len() int { return t.n }

func (t *transcript) entryAt(pos int) *entry {
	return &t.blocks[pos>>blockShift][pos&(blockSize-1)]
}

// get fills dst with the event at position pos, which must be < len().
// dst shares the stored event's strings and maps, which never change.
func (t *transcript) get(pos int, dst *Event) {
	e := t.entryAt(pos)
	*dst = Event{
		Pos: pos, Kind: e.kind, Time: e.time, From: *e.from, Visibility: e.vis, Text: e.text,
		Notice: e.notice, Reason: e.reason, ClientMsgID: e.clientMsgID, Superseded: e.superseded,
	}
	if x := e.more; x != nil {
		dst.ReceiverID, dst.MsgType, dst.TreatAs, dst.AskerID = x.receiverID, x.msgType, x.treatAs, x.askerID
		dst.UserData, dst.Attrs, dst.pii = x.userData, x.attrs, x.pii
	}
	if e.textType {
		dst.MsgType = msgTypeText
	}
}

// event returns the event at position pos, which must be < len().
func (t *transcript) event(pos int) Event {
	var ev Event
	t.get(pos, &ev)
	return ev
}

// superseded reports whether the event at pos is marked Superseded.
func (t *transcript) superseded(pos int) bool { return t.entryAt(pos).superseded }

// supersede marks the event at pos Superseded (the one change an appended
// event ever sees).
func (t *transcript) supersede(pos int) { t.entryAt(pos).superseded = true }

// timeAt returns the time of the event at pos.
func (t *transcript) timeAt(pos int) time.Time { return t.entryAt(pos).time }

// appendLive appends every event not marked Superseded to dst.
func (t *transcript) appendLive(dst []Event) []Event {
	for i := 0; i < t.n; i++ {
		if !t.superseded(i) {
			dst = append(dst, Event{})
			t.get(i, &dst[len(dst)-1])
		}
	}
	return dst
}

// add appends a copy of ev, whose Pos must be len(). ev itself is not kept.
func (t *transcript) add(ev *Event) {
	b := t.n >> blockShift
	if b == len(t.blocks) {
		size := blockSize
		if t.n == 0 {
			size = firstBlock // most sessions are short: start small
		}
		t.blocks = append(t.blocks, make([]entry, 0, size))
	}
	blk := &t.blocks[b]
	if len(*blk) == cap(*blk) { // only the first, small block grows
		// Doubling, not straight to blockSize: a dense session's dozen or
		// so events fit in 16, and every byte of a block, used or not, is
		// held and scanned by the GC while the session lasts.
		grown := make([]entry, len(*blk), min(2*cap(*blk), blockSize))
		copy(grown, *blk)
		*blk = grown
	}
	e := entry{
		time: ev.Time, from: t.party(ev.From), text: ev.Text, clientMsgID: ev.ClientMsgID,
		kind: ev.Kind, vis: ev.Visibility, notice: ev.Notice, reason: ev.Reason, superseded: ev.Superseded,
	}
	msgType := ev.MsgType
	if msgType == msgTypeText {
		e.textType, msgType = true, ""
	}
	if ev.ReceiverID != "" || msgType != "" || ev.TreatAs != "" || ev.AskerID != "" ||
		ev.UserData != nil || ev.Attrs != nil || ev.pii != nil {
		e.more = &extra{
			receiverID: ev.ReceiverID, msgType: msgType, treatAs: ev.TreatAs, askerID: ev.AskerID,
			userData: ev.UserData, attrs: ev.Attrs, pii: ev.pii,
		}
	}
	*blk = append(*blk, e)
	t.n++
}

// party returns a stored copy of p: that of one of the latest events when
// it is the same, else a new one.
func (t *transcript) party(p Party) *Party {
	for i := t.n - 1; i >= 0 && i >= t.n-partyLookback; i-- {
		if q := t.entryAt(i).from; *q == p {
			return q
		}
	}
	q := new(Party) // not &p: that would move p to the heap on every call
	*q = p
	return q
}

// scratchEvent returns an Event to hold a copy for the length of one call;
// releaseEvent gives it back.
func (e *Engine) scratchEvent() *Event {
	if ev, ok := e.scratch.Get().(*Event); ok {
		return ev
	}
	return new(Event)
}

// releaseEvent clears ev (so the pool pins none of its strings or maps) and
// pools it.
func (e *Engine) releaseEvent(ev *Event) {
	*ev = Event{}
	e.scratch.Put(ev)
}
