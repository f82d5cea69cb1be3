package routing

import (
	"errors"
	"sync"
	"time"
)

// Kinds of change published on the stream.
const (
	ChangeCreated = "created" // a new interaction entered its queue
	ChangeUpdated = "updated" // state, async status, assignee or user data changed
	ChangeClosed  = "closed"  // the session ended (offline or stopped)
	// ChangeAgent is a logged-in agent's state change (Agent is set,
	// Interaction is empty); only subscribers of every queue get it.
	ChangeAgent = "agent"
)

// Change is one published change of an interaction.
type Change struct {
	// Seq numbers the changes of this node from 1, without gaps; a client
	// resumes after the last Seq it saw.
	Seq         uint64       `json:"seq"`
	Type        string       `json:"type"`
	Time        time.Time    `json:"time"`
	Interaction Interaction  `json:"interaction,omitzero"`
	Agent       *AgentStatus `json:"agent,omitempty"`

	// lazy: Interaction.UserData is not built yet; src is what it is
	// built from (materialized). Only the hub's kept changes are lazy:
	// a subscriber always gets the attached data.
	lazy bool
	src  attachedSrc
}

// materialized returns c with its attached data built.
func (c Change) materialized() Change {
	if c.lazy {
		c.Interaction.UserData = c.src.build()
		c.lazy, c.src = false, attachedSrc{}
	}
	return c
}

// Event is the Server-Sent Events name of the change:
// interaction.created, interaction.updated, interaction.closed or
// agent.state.
func (c *Change) Event() string {
	if c.Type == ChangeAgent {
		return "agent.state"
	}
	return "interaction." + c.Type
}

// ErrSlowConsumer ends a subscription whose reader fell behind by more than
// its buffer.
var ErrSlowConsumer = errors.New("routing: slow consumer: change stream buffer overflowed")

// subBuffer is how many changes a subscriber may be behind before it is
// dropped.
const subBuffer = 256

// hub fans changes out to subscribers and keeps the recent ones for resuming.
type hub struct {
	mu     sync.Mutex // guards the following
	seq    uint64
	recent []Change // the last max changes, oldest first
	max    int
	subs   map[*Subscription]struct{}
}

func (h *hub) init(keep int) {
	h.max = max(keep, 2)
	h.subs = make(map[*Subscription]struct{})
}

// Subscription receives the changes of one queue (or all). Read C until Done
// is closed; then Err says why.
type Subscription struct {
	h     *hub
	queue string
	ch    chan Change
	done  chan struct{}
	err   error // set before done is closed
}

// C delivers the changes in order.
func (s *Subscription) C() <-chan Change { return s.ch }

// Done is closed when the subscription ends: Close was called or the reader
// was too slow.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is ErrSlowConsumer if the subscription was dropped, nil otherwise.
// Call it once Done is closed.
func (s *Subscription) Err() error { return s.err }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.endLocked(nil)
}

func (s *Subscription) endLocked(err error) {
	if _, ok := s.h.subs[s]; !ok {
		return
	}
	delete(s.h.subs, s)
	s.err = err
	close(s.done)
}

// subscribe registers a subscriber for queue ("" for all). With after > 0
// it first receives the kept changes with a greater Seq; missed reports
// that changes after `after` were already forgotten.
func (h *hub) subscribe(queue string, after uint64) (s *Subscription, missed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var replay []Change
	if after > 0 && after < h.seq {
		if len(h.recent) == 0 || h.recent[0].Seq > after+1 {
			missed = true
		}
		for i := range h.recent {
			if c := &h.recent[i]; c.Seq > after && (queue == "" || c.Interaction.Queue == queue) {
				*c = c.materialized() // kept built: another resume may read it again
				replay = append(replay, *c)
			}
		}
	}
	s = &Subscription{h: h, queue: queue, ch: make(chan Change, subBuffer+len(replay)), done: make(chan struct{})}
	for _, c := range replay {
		s.ch <- c
	}
	h.subs[s] = struct{}{}
	return s, missed
}

// publish numbers c and hands it to every matching subscriber without
// blocking; a subscriber whose buffer is full is dropped.
func (h *hub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	c.Seq = h.seq
	if len(h.recent) == h.max {
		n := copy(h.recent, h.recent[h.max/2:])
		clear(h.recent[n:])
		h.recent = h.recent[:n]
	}
	for s := range h.subs {
		if s.queue == "" || s.queue == c.Interaction.Queue {
			c = c.materialized() // once, shared by every subscriber as before
			break
		}
	}
	h.recent = append(h.recent, c)
	for s := range h.subs {
		if s.queue != "" && s.queue != c.Interaction.Queue {
			continue
		}
		select {
		case s.ch <- c:
		default:
			s.endLocked(ErrSlowConsumer)
		}
	}
}
