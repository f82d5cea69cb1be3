package agent

import (
	"sync"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
)

// watchBuf is a watcher's read buffer and the wire events it encodes them
// into. A watcher holds one only while it reads and enqueues: one waiting
// for its session's next change (nearly all of them, nearly always) gives
// it back, so a socket with 100 sessions does not keep 100 buffers of
// events (about 4 KB each, full of pointers the GC scans) alive.
type watchBuf struct {
	evs []chat.Event
	wev []wire.Event
}

// watchBufs recycles watchBufs among the watchers of every socket.
type watchBufs struct{ pool sync.Pool }

func (p *watchBufs) get() *watchBuf {
	if b, ok := p.pool.Get().(*watchBuf); ok {
		return b
	}
	return &watchBuf{evs: make([]chat.Event, 0, 16)}
}

// put gives b back; its slices must hold no events (cleared), so the pool
// keeps no texts or maps alive. Buffers grown by a long replay are dropped.
func (p *watchBufs) put(b *watchBuf) {
	if cap(b.evs) > 64 || cap(b.wev) > 64 {
		return
	}
	p.pool.Put(b)
}
