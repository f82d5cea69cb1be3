package sqlite

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/confab/confab/internal/store"
)

// Once the log is half its span long (moves are near), the writer also
// keeps the open sessions' newly appended events in memory, per session in
// the pack encoding (eventpack.go), up to a budget of bytes (memLog): a
// move whose whole range is kept takes each session's events of the range
// from there as its pack, without reading the log (relocateMem). Reading
// the range back (a SELECT over the chunk tables, each row's columns
// decoded and copied) was three quarters of a move's CPU. A move of a
// range not wholly kept reads it as before (relocateRange), and drops what
// memory held of it.
//
// What memory holds changes only with committed transactions: a batch
// records its appended rows, its closed sessions and its move, and they
// are applied when it commits (memCommit), forgotten if it rolls back. So
// memory never holds an event the log does not, and a move of a kept
// range packs exactly the rows the log holds there.
//
// The cost: per kept event its data plus 36 bytes (the pack header and its
// seq), for every open session's events in the log from the point memory
// started keeping them, at most the budget (Options.EventLogMemory; by
// default 64 MiB). When the budget is reached, memory keeps what it has
// but takes no more until the moves and closes have consumed it all; then
// it starts again from the log's end. A log that stays short (sessions
// closing before their rows move: a dense run) never starts it.

// defaultEventLogMemory is the default budget of memLog.
const defaultEventLogMemory = 64 << 20

// memEventCost is what memory takes per kept event besides its data.
const memEventCost = packHeader + 8

// memLog is what the writer keeps of the open sessions' events.
type memLog struct {
	budget int64 // bytes at most; 0 or less: nothing is kept
	on     bool
	// from, to: while on, every open session's rows with seqs from from
	// up to to (and the log's end) are in bufs.
	from, to int64
	bytes    int64
	bufs     map[int64]*memBuf
	order    []int64 // a move's sids, reused

	// The transaction in progress, applied when it commits.
	adds      []memAdd
	drops     []int64 // sessions closed (if they stay closed)
	consumeTo int64   // a move took the log's rows below this
	moved     int64   // rows its moves packed from memory

	movedAll int64     // rows committed moves packed from memory
	stats    *memStats // movedAll and bytes for WriterStats; nil in a bare memLog
}

// memStats are memLog's figures for WriterStats, read from any goroutine.
type memStats struct {
	moved, bytes atomic.Int64
}

// memBuf is one session's kept events: b and seqs from their heads on.
// What the moves consume advances the heads; once a head passes half its
// slice, the rest is copied to the front (each byte at most about once),
// so that the slices keep their capacity instead of shrinking from the
// front and growing again (a copy of the whole buffer at every move).
type memBuf struct {
	b    []byte  // the events in the pack encoding, in seq order
	seqs []int64 // their seqs
	head int     // b[:head] and seqs[:head's event count] are consumed ...
	seqH int     // ... that count
}

// kept returns the buffer's events and their seqs.
func (b *memBuf) kept() ([]byte, []int64) { return b.b[b.head:], b.seqs[b.seqH:] }

// memAdd is a row the transaction appended.
type memAdd struct {
	sid, seq int64
	e        *store.EventRow // in the batch: valid until flush returns
}

// covers reports whether memory holds every open session's rows of the
// log range [from, to).
func (m *memLog) covers(from, to int64) bool { return m.on && from >= m.from && to <= m.to }

// appended records rows the transaction inserted.
func (m *memLog) appended(sid, seq int64, e *store.EventRow) {
	if m.on && seq < m.to {
		m.adds = append(m.adds, memAdd{sid: sid, seq: seq, e: e})
	}
}

// closed records a session the transaction closed.
func (m *memLog) closed(sid int64) {
	if m.bufs[sid] != nil {
		m.drops = append(m.drops, sid)
	}
}

// abort forgets the transaction's changes.
func (m *memLog) abort() {
	clear(m.adds)
	m.adds, m.drops, m.consumeTo, m.moved = m.adds[:0], m.drops[:0], 0, 0
}

// off drops everything kept.
func (m *memLog) off() {
	m.on, m.bufs, m.bytes = false, nil, 0
}

// memCommit applies a committed transaction's changes to memory, and
// starts or stops keeping events.
func (l *eventLog) memCommit() {
	m := &l.mem
	if m.consumeTo > 0 {
		m.consume(m.consumeTo)
	}
	for _, sid := range m.drops {
		if l.bySID[sid] == nil {
			m.drop(sid)
		}
	}
	for _, a := range m.adds {
		if a.seq >= m.to {
			break
		}
		if l.bySID[a.sid] == nil {
			continue
		}
		cost := int64(memEventCost + len(a.e.Data))
		if m.bytes+cost > m.budget {
			m.to = a.seq // full: keeps what it has, takes no more
			break
		}
		m.add(a.sid, a.seq, a.e)
		m.bytes += cost
	}
	m.movedAll += m.moved
	m.abort()
	if m.on && l.trimmed >= m.to {
		m.off() // all it held is gone from the log
	}
	if !m.on && m.budget > 0 && l.nextSeq-l.trimmed >= l.span/2 {
		m.on, m.from, m.to = true, l.nextSeq, math.MaxInt64
	}
	if m.stats != nil {
		m.stats.moved.Store(m.movedAll)
		m.stats.bytes.Store(m.bytes)
	}
}

func (m *memLog) add(sid, seq int64, e *store.EventRow) {
	if m.bufs == nil {
		m.bufs = map[int64]*memBuf{}
	}
	b := m.bufs[sid]
	if b == nil {
		b = &memBuf{}
		m.bufs[sid] = b
	}
	b.b = appendPack(b.b, packedEvent{pos: e.Position, eid: e.EventID, at: micros(e.Time), data: e.Data})
	b.seqs = append(b.seqs, seq)
}

func (m *memLog) drop(sid int64) {
	if b := m.bufs[sid]; b != nil {
		evs, seqs := b.kept()
		m.bytes -= int64(len(evs) + 8*len(seqs))
		delete(m.bufs, sid)
	}
}

// consume drops the kept events below seq to.
func (m *memLog) consume(to int64) {
	for sid, b := range m.bufs {
		evs, seqs := b.kept()
		k, _ := slices.BinarySearch(seqs, to)
		if k == 0 {
			continue
		}
		if k == len(seqs) {
			m.drop(sid)
			continue
		}
		off := packOffset(evs, k)
		m.bytes -= int64(off + 8*k)
		b.head, b.seqH = b.head+off, b.seqH+k
		if b.head > len(b.b)/2 {
			b.b = b.b[:copy(b.b, b.b[b.head:])]
			b.seqs = b.seqs[:copy(b.seqs, b.seqs[b.seqH:])]
			b.head, b.seqH = 0, 0
		}
	}
}

// packOffset is the offset of event k of a pack written by this process
// (memory's own encoding: well formed).
func packOffset(b []byte, k int) int {
	off := 0
	for range k {
		off += packHeader + int(binary.BigEndian.Uint32(b[off+24:]))
	}
	return off
}

// relocateMem writes the packs of a move of the log range below to that
// memory covers (memLog.covers): each open session's kept events below to,
// as one event_cold row, in sid order. The events stay in memory until
// the transaction commits (memCommit consumes them).
func (w *writer) relocateMem(ctx context.Context, to int64) (int64, error) {
	m := &w.log.mem
	m.order = m.order[:0]
	for sid, b := range m.bufs {
		if _, seqs := b.kept(); len(seqs) > 0 && seqs[0] < to && w.log.bySID[sid] != nil {
			m.order = append(m.order, sid)
		}
	}
	if len(m.order) == 0 {
		return 0, nil
	}
	slices.Sort(m.order)
	ins, err := w.lazy(ctx, &w.log.packs.ins, insertPackSQL)
	if err != nil {
		return 0, err
	}
	var moved int64
	for _, sid := range m.order {
		evs, seqs := m.bufs[sid].kept()
		k, _ := slices.BinarySearch(seqs, to)
		pack := evs[:packOffset(evs, k)]
		lo, hi, sorted := packRange(pack)
		if !sorted {
			if pack, err = sortPack(pack, k); err != nil {
				return 0, fmt.Errorf("pack session %d: %w", sid, err)
			}
		}
		if _, err := ins.ExecContext(ctx, sid, lo, hi, k, pack); err != nil {
			return 0, err
		}
		moved += int64(k)
	}
	m.moved += moved
	return moved, nil
}
