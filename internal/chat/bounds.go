package chat

import (
	"errors"
	"fmt"
	"time"

	"github.com/confab/confab/internal/kv"
)

// Bounds keep one session's memory proportional to what its parties may
// send, and its parties' pace to a human one. Zero values mean unbounded.
type Bounds struct {
	// MaxEvents caps the messages and notices the parties of one session
	// may send ([protection] session-max-messages).
	MaxEvents int
	// MaxBytes caps the text, attributes and user data of those events
	// together, in bytes ([protection] session-max-transcript-bytes).
	MaxBytes int
	// Rate is the sustained sends per second each party may make, Burst how
	// many it may make at once: a token bucket per party on the engine's
	// clock ([protection] party-send-rate, party-send-burst).
	Rate  float64
	Burst int
}

// Errors of the bounds; both are wrapped with the session and the limit.
var (
	// ErrFull: the session has reached MaxEvents or MaxBytes. The session
	// goes on; only sending is refused.
	ErrFull = errors.New("chat: session full")
	// ErrRate: the party sends faster than Rate allows; try again later.
	ErrRate = errors.New("chat: sending too fast")
)

// FullNotice is the text of the notice every party gets once, when the
// session first refuses a send for being full.
const FullNotice = "This chat has reached its size limit: no more messages can be added to it."

// bucket is one party's token bucket.
type bucket struct {
	tokens float64
	at     time.Time
}

// admitLocked checks a send of size bytes by from against the bounds and
// charges it. It appends the one-time full notice when it refuses for size.
func (s *Session) admitLocked(from *Participant, size int, now time.Time) error {
	b := s.engine.settings.Load().Bounds
	if b.MaxEvents > 0 && s.sentEvents >= b.MaxEvents || b.MaxBytes > 0 && s.sentBytes+size > b.MaxBytes {
		s.fullLocked(now)
		return fmt.Errorf("send in session %s: %w (at most %d messages and %d bytes)", s.id, ErrFull, b.MaxEvents, b.MaxBytes)
	}
	if b.Rate > 0 {
		if s.buckets == nil {
			s.buckets = make(map[string]*bucket)
		}
		bk := s.buckets[from.UserID]
		burst := float64(max(b.Burst, 1))
		if bk == nil {
			bk = &bucket{tokens: burst, at: now}
			s.buckets[from.UserID] = bk
		}
		if d := now.Sub(bk.at); d > 0 {
			bk.tokens = min(burst, bk.tokens+d.Seconds()*b.Rate)
			bk.at = now
		}
		if bk.tokens < 1 {
			return fmt.Errorf("send in session %s by %s: %w (%g per second)", s.id, from.UserID, ErrRate, b.Rate)
		}
		bk.tokens--
	}
	s.sentEvents++
	s.sentBytes += size
	return nil
}

// fullLocked tells every party, once, that the session is full.
func (s *Session) fullLocked(now time.Time) {
	if s.fullNoticed {
		return
	}
	s.fullNoticed = true
	ev := Event{Kind: Notice, Notice: CustomNotice, From: Party{Nick: "system", Type: System}, Text: FullNotice}
	s.appendLocked(&ev, now)
}

// eventSize is what a sent event adds to the session's byte count.
func eventSize(text string, maps ...kv.Map) int {
	n := len(text)
	for _, m := range maps {
		n += m.Size()
	}
	return n
}

// Throttled reports whether every present customer of the session is out
// of send tokens now, without charging anything: an adapter may then
// refuse a customer's charged operation (a send, a notice, a nickname
// change) with ErrRate before it reads the request's body. It is false
// when the rate is off or any present customer could send.
func (s *Session) Throttled() bool {
	b := s.engine.settings.Load().Bounds
	if b.Rate <= 0 {
		return false
	}
	now := s.engine.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, p := range s.parties {
		if p.Left || p.Type != Client {
			continue
		}
		bk := s.buckets[p.UserID]
		if bk == nil {
			return false
		}
		tokens := bk.tokens
		if d := now.Sub(bk.at); d > 0 {
			tokens += d.Seconds() * b.Rate
		}
		if tokens >= 1 {
			return false
		}
		found = true
	}
	return found
}
