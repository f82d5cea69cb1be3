package bench

import (
	"context"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Role is the kind of party the tracker follows; it decides what the party
// may see.
type Role uint8

// Roles. A workflow (ESP) sends but never receives.
const (
	RoleCustomer Role = iota
	RoleAgent
	RoleSupervisor
	RoleWorkflow
)

// Vis is the visibility a bench message is sent with.
type Vis uint8

// Visibilities the scenarios use.
const (
	VisAll Vis = iota // everybody
	VisInt            // coaching: agents and supervisors, never the customer
	VisVIP            // monitoring: supervisors only
)

func (v Vis) String() string {
	switch v {
	case VisInt:
		return "INT"
	case VisVIP:
		return "VIP"
	}
	return "ALL"
}

// maysee reports whether a party of role r may see a message of visibility v.
func (r Role) maysee(v Vis) bool {
	switch r {
	case RoleCustomer:
		return v == VisAll
	case RoleAgent:
		return v <= VisInt
	case RoleSupervisor:
		return true
	}
	return false
}

// msgPrefix starts the text of every message the generator sends:
// "cfb:<stream>:<seq>:<sent ns since run start> <filler>".
const msgPrefix = "cfb:"

// Tracker checks correctness while a run measures: every message a sender
// had acknowledged must reach every party allowed to see it exactly once and
// in its stream's order, and nothing may reach a party not allowed to see it.
// It also records the end-to-end latency of each first delivery.
//
// A stream is one sender in one session (a customer, an agent, a workflow)
// sending with one visibility; its messages are numbered 1, 2, ... and the
// number, the stream id and the send time travel in the message text, so a
// receiver needs no lookup table shared with the sender's goroutine beyond
// the stream list.
//
// Concurrency: a Tracker is safe for concurrent use. Each session has its own
// mutex (guarding its streams' and parties' state); the stream index has a
// read-write mutex taken briefly to find a stream by id. Lock order: the
// index lock is never held while a session lock is taken.
type Tracker struct {
	start  time.Time
	onLat  func(time.Duration) // latency sink (the run's metrics)
	filler string

	mu      sync.RWMutex // guards streams
	streams []*Stream    // by id-1

	// Outcome counters.
	Sent       atomic.Int64 // messages acknowledged to their sender
	Delivered  atomic.Int64 // first receptions by a party allowed to see them
	Lost       atomic.Int64 // acknowledged, allowed, never received (counted when a party is finished)
	Duplicated atomic.Int64 // received again by the same party
	Reordered  atomic.Int64 // received after a later message of the same stream
	Leaked     atomic.Int64 // received by a party not allowed to see it, or from another session
	Malformed  atomic.Int64 // a message carrying the bench prefix that does not parse
}

// NewTracker returns a Tracker whose send times count from start; onLat
// (may be nil) receives each first delivery's latency. Message texts are
// padded with filler.
func NewTracker(start time.Time, filler string, onLat func(time.Duration)) *Tracker {
	return &Tracker{start: start, onLat: onLat, filler: filler}
}

// now returns the time since the run started, in nanoseconds (monotonic).
func (t *Tracker) now() int64 { return int64(time.Since(t.start)) }

// TSession is the tracker's view of one chat session.
type TSession struct {
	t *Tracker

	mu      sync.Mutex // guards the following and the state of streams and parties below
	streams []*Stream
	parties []*Party
}

// NewSession starts following a session.
func (t *Tracker) NewSession() *TSession { return &TSession{t: t} }

// Stream is one sender's numbered messages in one session.
type Stream struct {
	id     uint32
	sess   *TSession
	vis    Vis
	sender *Party // nil for a workflow
	issued uint32 // guarded by sess.mu
	acked  bitset // guarded by sess.mu
}

// Party is one receiver (or sender-receiver) in a session.
type Party struct {
	sess     *TSession
	role     Role
	joinedNs int64       // latency is recorded only for messages sent after this
	recv     []recvState // by the stream's position in sess.streams; guarded by sess.mu
	done     bool        // finished: losses counted; guarded by sess.mu
	// caught, when not nil, is closed by the reception that leaves p
	// missing nothing (a WaitCaughtUp is waiting); guarded by sess.mu.
	caught chan struct{}
}

type recvState struct {
	max  uint32
	seen bitset
}

// AddParty adds a receiving party of the given role. Its latency baseline is
// now: messages sent earlier (seen in a replay) are checked but not timed.
func (s *TSession) AddParty(r Role) *Party {
	p := &Party{sess: s, role: r, joinedNs: s.t.now()}
	s.mu.Lock()
	s.parties = append(s.parties, p)
	s.mu.Unlock()
	return p
}

// NewStream opens a numbered stream for sender (nil for a workflow) with
// visibility v.
func (s *TSession) NewStream(sender *Party, v Vis) *Stream {
	st := &Stream{sess: s, vis: v, sender: sender}
	s.t.mu.Lock()
	s.t.streams = append(s.t.streams, st)
	st.id = uint32(len(s.t.streams))
	s.t.mu.Unlock()
	s.mu.Lock()
	s.streams = append(s.streams, st)
	s.mu.Unlock()
	return st
}

// Next numbers the stream's next message and returns its number and text.
func (st *Stream) Next() (seq uint32, text string) {
	st.sess.mu.Lock()
	st.issued++
	seq = st.issued
	st.sess.mu.Unlock()
	t := st.sess.t
	var b strings.Builder
	b.Grow(len(msgPrefix) + 32 + len(t.filler))
	b.WriteString(msgPrefix)
	b.WriteString(strconv.FormatUint(uint64(st.id), 10))
	b.WriteByte(':')
	b.WriteString(strconv.FormatUint(uint64(seq), 10))
	// The send time follows an underscore: a bare run of ten or more
	// digits looks like a phone number to the default masking rules,
	// which never match after '_'.
	b.WriteString(":_")
	b.WriteString(strconv.FormatInt(t.now(), 10))
	if t.filler != "" {
		b.WriteByte(' ')
		b.WriteString(t.filler)
	}
	return seq, b.String()
}

// Ack records that message seq was acknowledged to its sender: from now on
// every party allowed to see it must receive it.
func (st *Stream) Ack(seq uint32) {
	st.sess.mu.Lock()
	fresh := st.acked.set(seq)
	st.sess.mu.Unlock()
	if fresh {
		st.sess.t.Sent.Add(1)
	}
}

// ID returns the stream's id (for client message ids).
func (st *Stream) ID() uint32 { return st.id }

// parseMsg reads a bench message text.
func parseMsg(text string) (stream, seq uint32, sentNs int64, ok bool) {
	rest := text[len(msgPrefix):]
	fields := [3]string{}
	for i := 0; i < 3; i++ {
		end := strings.IndexAny(rest, ": ")
		if i < 2 {
			if end < 0 || rest[end] != ':' {
				return 0, 0, 0, false
			}
		} else if end < 0 {
			end = len(rest)
		}
		fields[i] = rest[:end]
		if end < len(rest) {
			rest = rest[end+1:]
		} else {
			rest = ""
		}
	}
	a, err1 := strconv.ParseUint(fields[0], 10, 32)
	b, err2 := strconv.ParseUint(fields[1], 10, 32)
	c, err3 := strconv.ParseInt(strings.TrimPrefix(fields[2], "_"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || a == 0 || b == 0 {
		return 0, 0, 0, false
	}
	return uint32(a), uint32(b), c, true
}

// IsBenchMessage reports whether text was written by the generator.
func IsBenchMessage(text string) bool { return strings.HasPrefix(text, msgPrefix) }

// Receive records that p received a message with this text. Texts that are
// not the generator's are ignored (greetings from elsewhere, notices); the
// party's own messages echoed back are ignored too. It returns false when
// the text is not a bench message.
func (p *Party) Receive(text string) bool {
	if !IsBenchMessage(text) {
		return false
	}
	t := p.sess.t
	now := t.now()
	sid, seq, sentNs, ok := parseMsg(text)
	if !ok {
		t.Malformed.Add(1)
		return true
	}
	t.mu.RLock()
	var st *Stream
	if int(sid) <= len(t.streams) {
		st = t.streams[sid-1]
	}
	t.mu.RUnlock()
	if st == nil || st.sess != p.sess || !p.role.maysee(st.vis) {
		t.Leaked.Add(1)
		return true
	}
	if st.sender == p {
		return true
	}
	s := p.sess
	s.mu.Lock()
	idx := s.indexLocked(st)
	for len(p.recv) <= idx {
		p.recv = append(p.recv, recvState{})
	}
	rs := &p.recv[idx]
	fresh := rs.seen.set(seq)
	reordered := fresh && seq < rs.max
	if seq > rs.max {
		rs.max = seq
	}
	// The waiter is woken only once this reception is counted (below), so
	// that what it reads next (Delivered, the latencies) includes it.
	var wake chan struct{}
	if fresh && p.caught != nil && p.missingLocked() == 0 {
		wake, p.caught = p.caught, nil
	}
	s.mu.Unlock()
	switch {
	case !fresh:
		t.Duplicated.Add(1)
		return true
	case reordered:
		t.Reordered.Add(1)
	}
	t.Delivered.Add(1)
	if sentNs >= p.joinedNs && t.onLat != nil {
		t.onLat(time.Duration(now - sentNs))
	}
	if wake != nil {
		close(wake)
	}
	return true
}

func (s *TSession) indexLocked(st *Stream) int {
	for i, x := range s.streams {
		if x == st {
			return i
		}
	}
	panic(fmt.Sprintf("bench: stream %d not in its session", st.id))
}

// Missing returns how many acknowledged messages p may see and has not
// received yet.
func (p *Party) Missing() int {
	s := p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	return p.missingLocked()
}

func (p *Party) missingLocked() int {
	n := 0
	for i, st := range p.sess.streams {
		if st.sender == p || !p.role.maysee(st.vis) {
			continue
		}
		var seen *bitset
		if i < len(p.recv) {
			seen = &p.recv[i].seen
		}
		n += st.acked.countNotIn(seen)
	}
	return n
}

// WaitCaughtUp waits until p has received every acknowledged message it may
// see, or ctx ends, or timeout passes; it reports whether p caught up. It
// sleeps until the reception that completes p wakes it (no polling: one
// wake-up per wait on a machine the server shares).
func (p *Party) WaitCaughtUp(ctx context.Context, timeout time.Duration) bool {
	var timer *time.Timer
	for {
		s := p.sess
		s.mu.Lock()
		if p.missingLocked() == 0 {
			s.mu.Unlock()
			return true
		}
		if p.caught == nil {
			p.caught = make(chan struct{})
		}
		caught := p.caught
		s.mu.Unlock()
		if timer == nil {
			if timeout <= 0 {
				return false
			}
			timer = time.NewTimer(timeout)
			defer timer.Stop()
		}
		select {
		case <-caught: // look again: an acknowledgement may have come since
		case <-timer.C:
			return p.Missing() == 0
		case <-ctx.Done():
			return false
		}
	}
}

// Finish ends p's participation: every acknowledged message it may see and
// has not received is counted lost. Later receptions by p are still checked
// for duplicates and leaks but cannot undo a loss. Finish is idempotent.
func (p *Party) Finish() (lost int) {
	s := p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.done {
		return 0
	}
	p.done = true
	lost = p.missingLocked()
	if lost > 0 {
		s.t.Lost.Add(int64(lost))
	}
	return lost
}

// Finish finishes every party of the session.
func (s *TSession) Finish() (lost int) {
	s.mu.Lock()
	parties := append([]*Party(nil), s.parties...)
	s.mu.Unlock()
	for _, p := range parties {
		lost += p.Finish()
	}
	return lost
}

// bitset is a growable set of message numbers (1..).
type bitset struct{ w []uint64 }

// set adds n and reports whether it was absent.
func (b *bitset) set(n uint32) bool {
	i := int(n / 64)
	for len(b.w) <= i {
		b.w = append(b.w, 0)
	}
	m := uint64(1) << (n % 64)
	if b.w[i]&m != 0 {
		return false
	}
	b.w[i] |= m
	return true
}

func (b *bitset) has(n uint32) bool {
	i := int(n / 64)
	return i < len(b.w) && b.w[i]&(uint64(1)<<(n%64)) != 0
}

// countNotIn returns how many members of b are not in o (o may be nil).
func (b *bitset) countNotIn(o *bitset) int {
	n := 0
	for i, w := range b.w {
		if o != nil && i < len(o.w) {
			w &^= o.w[i]
		}
		n += bits.OnesCount64(w)
	}
	return n
}
