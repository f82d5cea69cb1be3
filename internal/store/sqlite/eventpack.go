package sqlite

import (
	"cmp"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A pack is one row of event_cold (migration 0010): the events of one open
// session that one move took from the log, in position order, each as a
// fixed header (position, event id and time as 8-byte big-endian integers,
// the data's length as a 4-byte one) followed by its data. The row carries
// the session's sid, the lowest and highest position of the pack (lo, hi;
// the packs of a session hold disjoint sets of positions, but a pack may
// hold a position below another's lo: an event filling a gap is appended
// to the log late) and its number of events (n). The writer's moves build
// packs in Go (packer), the open's compaction and migration 0010 in SQL
// (packEvents); Go reads them (decodePack).
const packHeader = 8 + 8 + 8 + 4

// packEvents is the SQL aggregate that packs a group of event_log rows
// (aliased l) into a pack's bytes: hex of each row's header and data,
// concatenated in position order, turned back into bytes.
const packEvents = `unhex(group_concat(printf('%016x%016x%016x%08x', l.position, l.event_id, l.at, length(l.data)) || hex(l.data), '' ORDER BY l.position))`

// packColumns are the event_cold columns a pack's aggregate fills, and
// packSelect their values from a group of event_log rows aliased l.
const (
	packColumns = `(sid, lo, hi, n, data)`
	packSelect  = `l.sid, min(l.position), max(l.position), count(*), ` + packEvents
)

// packedEvent is one event of a pack; data aliases the pack's bytes.
type packedEvent struct {
	pos, eid, at int64
	data         []byte
}

var errPack = errors.New("corrupt event pack")

// decodePack calls fn for each event of a pack, in order. Packs come from
// the store's own file, but a damaged file must give an error, never a
// panic or an event read past its pack.
func decodePack(b []byte, fn func(packedEvent) error) error {
	for off := 0; off < len(b); {
		if len(b)-off < packHeader {
			return fmt.Errorf("%w: %d bytes left at offset %d, header is %d", errPack, len(b)-off, off, packHeader)
		}
		h := b[off : off+packHeader]
		e := packedEvent{
			pos: int64(binary.BigEndian.Uint64(h[0:8])),
			eid: int64(binary.BigEndian.Uint64(h[8:16])),
			at:  int64(binary.BigEndian.Uint64(h[16:24])),
		}
		n := int(binary.BigEndian.Uint32(h[24:28]))
		off += packHeader
		if e.pos < 0 || n > len(b)-off {
			return fmt.Errorf("%w: event at offset %d: position %d, %d bytes of data, %d left", errPack, off-packHeader, e.pos, n, len(b)-off)
		}
		e.data = b[off : off+n : off+n]
		off += n
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// appendPack encodes events as a pack (tests and fuzzing: the store packs
// in SQL).
func appendPack(b []byte, evs ...packedEvent) []byte {
	for _, e := range evs {
		b = binary.BigEndian.AppendUint64(b, uint64(e.pos))
		b = binary.BigEndian.AppendUint64(b, uint64(e.eid))
		b = binary.BigEndian.AppendUint64(b, uint64(e.at))
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.data)))
		b = append(b, e.data...)
	}
	return b
}

// insertPackSQL stores one pack.
const insertPackSQL = `INSERT INTO event_cold ` + packColumns + ` VALUES (?, ?, ?, ?, ?)`

// packer builds the packs of one move from the log rows it reads, in seq
// order, one per session; kept by the writer's eventLog so that its
// buffers and statement are reused from move to move.
type packer struct {
	ins   *sql.Stmt // insertPackSQL, prepared on the writer's connection at the first move
	bufs  map[int64]*packBuf
	order []int64 // the sids of the move's packs
	free  []*packBuf
}

// packBuf is one session's pack being built.
type packBuf struct {
	b        []byte
	n        int64
	lo, hi   int64
	unsorted bool // a row came after one of a higher position (a late event that filled a gap)
}

// keepPackBuf is the largest buffer a packer keeps for the next move: the
// few larger ones (a session with most of a move's rows) are dropped, so
// that what the writer keeps stays near one move's bytes.
const keepPackBuf = 64 << 10

// reset empties the packer for a new move, keeping its buffers.
func (p *packer) reset() {
	for _, sid := range p.order {
		pb := p.bufs[sid]
		if cap(pb.b) > keepPackBuf {
			continue
		}
		pb.b, pb.n, pb.unsorted = pb.b[:0], 0, false
		p.free = append(p.free, pb)
	}
	clear(p.bufs)
	p.order = p.order[:0]
}

// add appends an event to its session's pack.
func (p *packer) add(sid int64, e packedEvent) {
	if p.bufs == nil {
		p.bufs = map[int64]*packBuf{}
	}
	pb := p.bufs[sid]
	if pb == nil {
		if n := len(p.free); n > 0 {
			pb, p.free = p.free[n-1], p.free[:n-1]
		} else {
			pb = &packBuf{}
		}
		pb.lo, pb.hi = e.pos, e.pos
		p.bufs[sid] = pb
		p.order = append(p.order, sid)
	} else {
		pb.unsorted = pb.unsorted || e.pos < pb.hi
		pb.lo, pb.hi = min(pb.lo, e.pos), max(pb.hi, e.pos)
	}
	pb.b = appendPack(pb.b, e)
	pb.n++
}

// sorted returns the pack's bytes in position order.
func (pb *packBuf) sorted() ([]byte, error) {
	if !pb.unsorted {
		return pb.b, nil
	}
	return sortPack(pb.b, int(pb.n))
}

// sortPack returns a copy of a pack of n events in position order.
func sortPack(b []byte, n int) ([]byte, error) {
	evs := make([]packedEvent, 0, n)
	if err := decodePack(b, func(e packedEvent) error { evs = append(evs, e); return nil }); err != nil {
		return nil, err
	}
	slices.SortStableFunc(evs, func(a, b packedEvent) int { return cmp.Compare(a.pos, b.pos) })
	return appendPack(make([]byte, 0, len(b)), evs...), nil
}
