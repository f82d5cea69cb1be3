package sqlite

import (
	"encoding/binary"
	"math"
	"sync/atomic"

	"github.com/confab/confab/internal/store"
)

// Once the log is half its span long (moves are near), the writer also
// keeps the open sessions' newly appended events in memory, up to a budget
// of bytes (memLog): a move whose whole range is kept packs the range's
// events from there (relocateRange) instead of reading the log back (a
// SELECT over the chunk tables, each row's columns decoded and copied:
// three quarters of a move's CPU). A move of a range not wholly kept reads
// it from the log, and drops what memory held of it.
//
// Memory is a copy of the log's newest rows in seq order, as the log
// itself: one queue of fixed-size blocks (memBlockSize), appended at its
// end, consumed from its front by the moves and trims, a consumed block
// going back to a pool for the next appends. So keeping an event copies it
// once and allocates nothing in the steady state, and a move packs its
// range's events as it packs rows read from the log (packer.add). Kept in
// per-session buffers instead (before), grown by doubling and compacted by
// copying as the moves consumed them, every kept byte was copied two to
// three times more, into freshly allocated memory (in BenchmarkEventLogMove
// the buffers allocated about 530 bytes per appended event of about 230;
// docs/benchmarks.md, seventh round).
//
// What memory holds changes only with committed transactions: a batch
// records its appended rows and its move, and they are applied when it
// commits (memCommit), forgotten if it rolls back. So memory never holds an
// event the log does not, and a move of a kept range packs exactly the rows
// the log holds there: a session closed after its rows were kept leaves
// them in memory, as in the log, until a move or a trim passes them, and a
// move skips them, as it skips them in the log.
//
// The cost: per kept event its data plus memEventCost bytes, for the log's
// rows from the point memory started keeping them, at most the budget
// (Options.EventLogMemory; by default 256 MiB), plus the unused end of the
// last block and the pool (memPoolMax blocks at most). When the budget is
// reached, memory keeps what it has but takes no more until the moves and
// trims have consumed it all; then it starts again from the log's end. A
// log that stays short (sessions closing before their rows move: a dense
// run) never starts it.
//
// So memory only pays if the budget holds what it keeps between its start
// and the moves: the log's rows up to its span, a step and a batch
// (TestEventMemBudgetCoveringTheSpan). A budget short of that fills, stops,
// and the rows appended meanwhile are read back, move after move.

// defaultEventLogMemory is the default budget of memLog. The default span,
// its step and a large batch of events the size of the throughput
// benchmark's (330 bytes) take about 100 MB, which 64 MiB (before) did not
// hold, so about half of every move was read back from the log, and the
// read-back was half of a move's CPU (233 of 449 profile samples at 36,700
// deliveries a second). With 256 MiB the server took 0.9-1.4 µs less CPU
// per message in four of four concurrent pairs of 60 s runs
// (docs/benchmarks.md, fourteenth round). Memory holds what the log's rows
// need, not the budget: about 100 MB then, nothing while the log is short.
const defaultEventLogMemory = 256 << 20

// memEntryHeader is the seq and sid before a kept event's pack encoding.
const memEntryHeader = 8 + 8

// memEventCost is what memory takes per kept event besides its data: its
// seq and sid, then the pack header (eventpack.go).
const memEventCost = memEntryHeader + packHeader

// memBlockSize is the size of memory's blocks; an event larger than a
// block gets a block of its own, which is not pooled.
const memBlockSize = 256 << 10

// memPoolMax is the number of emptied blocks kept for the next appends, at
// most: more than a move consumes (relocMax rows), fewer than a trim of many
// closed sessions' rows may empty, whose blocks go to the garbage collector.
const memPoolMax = 16

// memLog is what the writer keeps of the log's newest rows.
type memLog struct {
	budget int64 // bytes at most; 0 or less: nothing is kept
	on     bool
	// from, to: while on, every open session's rows with seqs from from
	// up to to (and the log's end) are in blocks.
	from, to int64
	bytes    int64      // the kept entries' bytes
	blocks   []memBlock // the queue, oldest first: entries in seq order
	headOff  int        // the offset in blocks[0] of the first entry not consumed
	pool     [][]byte   // emptied blocks of memBlockSize, for the next appends

	// The transaction in progress, applied when it commits.
	adds      []memAdd
	consumeTo int64 // a move took the log's rows below this
	moved     int64 // rows its moves packed from memory

	movedAll int64     // rows committed moves packed from memory
	stats    *memStats // movedAll and bytes for WriterStats; nil in a bare memLog
}

// memBlock is one block of the queue: entries, each a seq and a sid
// (8-byte big-endian) followed by the event in the pack encoding.
type memBlock struct {
	b    []byte
	last int64 // the seq of its last entry
}

// memStats are memLog's figures for WriterStats, read from any goroutine.
type memStats struct {
	moved, bytes atomic.Int64
}

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

// abort forgets the transaction's changes.
func (m *memLog) abort() {
	clear(m.adds)
	m.adds, m.consumeTo, m.moved = m.adds[:0], 0, 0
}

// off drops everything kept.
func (m *memLog) off() {
	m.consume(math.MaxInt64)
	m.on, m.pool = false, nil
}

// memCommit applies a committed transaction's changes to memory, and
// starts or stops keeping events.
func (l *eventLog) memCommit() {
	m := &l.mem
	// The rows below the watermark are gone from the log: moved (this
	// transaction's move, consumeTo) or only closed sessions' (a trim).
	if len(m.blocks) > 0 {
		m.consume(max(m.consumeTo, l.trimmed))
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

// add appends an event to the queue.
func (m *memLog) add(sid, seq int64, e *store.EventRow) {
	need := memEventCost + len(e.Data)
	n := len(m.blocks)
	if n == 0 || cap(m.blocks[n-1].b)-len(m.blocks[n-1].b) < need {
		var b []byte
		switch k := len(m.pool); {
		case need > memBlockSize:
			b = make([]byte, 0, need)
		case k > 0:
			b, m.pool = m.pool[k-1], m.pool[:k-1]
		default:
			b = make([]byte, 0, memBlockSize)
		}
		m.blocks = append(m.blocks, memBlock{b: b})
		n++
	}
	blk := &m.blocks[n-1]
	blk.b = binary.BigEndian.AppendUint64(blk.b, uint64(seq))
	blk.b = binary.BigEndian.AppendUint64(blk.b, uint64(sid))
	blk.b = appendPack(blk.b, packedEvent{pos: e.Position, eid: e.EventID, at: micros(e.Time), data: e.Data})
	blk.last = seq
}

// entryAt decodes the entry at offset off of a block (memory's own
// encoding: well formed) and returns the offset of the next; e.data
// aliases the block.
func entryAt(b []byte, off int) (seq, sid int64, e packedEvent, next int) {
	seq = int64(binary.BigEndian.Uint64(b[off:]))
	sid = int64(binary.BigEndian.Uint64(b[off+8:]))
	h := b[off+memEntryHeader : off+memEventCost]
	e.pos = int64(binary.BigEndian.Uint64(h[0:8]))
	e.eid = int64(binary.BigEndian.Uint64(h[8:16]))
	e.at = int64(binary.BigEndian.Uint64(h[16:24]))
	next = off + memEventCost + int(binary.BigEndian.Uint32(h[24:28]))
	e.data = b[off+memEventCost : next : next]
	return seq, sid, e, next
}

// consume drops the kept entries below seq to; emptied blocks go to the
// pool.
func (m *memLog) consume(to int64) {
	for len(m.blocks) > 0 {
		blk := &m.blocks[0]
		if blk.last >= to {
			for m.headOff < len(blk.b) {
				seq, _, _, next := entryAt(blk.b, m.headOff)
				if seq >= to {
					break
				}
				m.bytes -= int64(next - m.headOff)
				m.headOff = next
			}
			return
		}
		m.bytes -= int64(len(blk.b) - m.headOff)
		if cap(blk.b) == memBlockSize && len(m.pool) < memPoolMax {
			m.pool = append(m.pool, blk.b[:0])
		}
		*blk = memBlock{}
		m.blocks, m.headOff = m.blocks[1:], 0
	}
	m.blocks = nil // empty: the next append starts a new slice rather than grow the old one's tail
}

// each calls fn for each kept entry with a seq in [from, to), in seq order.
func (m *memLog) each(from, to int64, fn func(seq, sid int64, e packedEvent)) {
	off := m.headOff
	for _, blk := range m.blocks {
		for off < len(blk.b) {
			seq, sid, e, next := entryAt(blk.b, off)
			if seq >= to {
				return
			}
			if seq >= from {
				fn(seq, sid, e)
			}
			off = next
		}
		off = 0
	}
}
