package chat

// transcript is the append-only event list of a session, stored in blocks
// of fixed size so that appending never copies earlier events (a long
// session's transcript is not reallocated as it grows, and pointers to its
// events stay valid).
type transcript struct {
	blocks [][]Event
	n      int
}

const blockShift = 5 // 32 events per block
const blockSize = 1 << blockShift

// firstBlock is the capacity a transcript starts with; its first block
// doubles up to blockSize.
const firstBlock = 8

func (t *transcript) len() int { return t.n }

// at returns the event at position pos, which must be < len().
func (t *transcript) at(pos int) *Event {
	return &t.blocks[pos>>blockShift][pos&(blockSize-1)]
}

// add appends ev and returns a pointer to the stored copy.
func (t *transcript) add(ev *Event) *Event {
	b := t.n >> blockShift
	if b == len(t.blocks) {
		size := blockSize
		if t.n == 0 {
			size = firstBlock // most sessions are short: start small
		}
		t.blocks = append(t.blocks, make([]Event, 0, size))
	}
	blk := &t.blocks[b]
	if len(*blk) == cap(*blk) { // only the first, small block grows
		// Doubling, not straight to blockSize: a dense session's dozen or
		// so events fit in 16 (4 KB), and every byte of a block, used or
		// not, is held and scanned by the GC while the session lasts.
		grown := make([]Event, len(*blk), min(2*cap(*blk), blockSize))
		copy(grown, *blk)
		*blk = grown
	}
	*blk = append(*blk, *ev)
	t.n++
	return &(*blk)[len(*blk)-1]
}
