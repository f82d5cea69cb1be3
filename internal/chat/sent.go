package chat

import "slices"

// sentIndex finds the message an idempotent send repeats: the message of
// the same sender with the same client message id. A session's first
// sentFew such messages are found by their positions alone (their sender
// and id are in the transcript), later ones by a map. Most sessions are
// short, and a map of even one entry costs several hundred bytes that a
// server holding 10,000 sessions keeps and scans on every GC cycle.
type sentIndex struct {
	few  []int           // positions, while there are at most sentFew
	many map[sentKey]int // sender and client message id → position, after
}

// sentFew is how many positions sentIndex scans before it builds a map.
const sentFew = 16

// sentKey names an idempotent send: its sender's user id and client
// message id (a struct, so a lookup builds no string).
type sentKey struct{ from, id string }

// find returns the position of the message from sent with id.
func (x *sentIndex) find(t *transcript, from, id string) (int, bool) {
	if x.many != nil {
		pos, ok := x.many[sentKey{from, id}]
		return pos, ok
	}
	for i := len(x.few) - 1; i >= 0; i-- { // the latest first, as the map keeps it
		if pos := x.few[i]; t.entryAt(pos).clientMsgID == id && t.entryAt(pos).from.UserID == from {
			return pos, true
		}
	}
	return 0, false
}

// add records the message at pos from sent with id. The positions already
// recorded must be in t (pos itself need not be yet).
func (x *sentIndex) add(t *transcript, from, id string, pos int) {
	if x.many == nil && len(x.few) < sentFew {
		x.few = append(x.few, pos)
		return
	}
	if x.many == nil {
		x.many = make(map[sentKey]int, 2*sentFew)
		for _, p := range x.few {
			e := t.entryAt(p)
			x.many[sentKey{e.from.UserID, e.clientMsgID}] = p
		}
		x.few = nil
	}
	x.many[sentKey{from, id}] = pos
}

// forget drops the record of the message at pos from sent with id (its
// write failed), unless the record names another position.
func (x *sentIndex) forget(t *transcript, from, id string, pos int) {
	if x.many != nil {
		k := sentKey{from, id}
		if p, ok := x.many[k]; ok && p == pos {
			delete(x.many, k)
		}
		return
	}
	if e := t.entryAt(pos); e.clientMsgID != id || e.from.UserID != from {
		return
	}
	if i := slices.Index(x.few, pos); i >= 0 {
		x.few = slices.Delete(x.few, i, i+1)
	}
}
