package chat

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
)

// seenGate is a Waiter completed by hand that reports Done, like a store
// ticket (the engine's waiterDone accepts it).
type seenGate struct{ done chan struct{} }

func (g seenGate) Wait(ctx context.Context) error {
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (g seenGate) Done() <-chan struct{} { return g.done }

// seenJournal gives every event its own gate; events at positions in
// early are durable before EventAppended returns (a fast store).
type seenJournal struct {
	mu    sync.Mutex // guards the following
	gates []seenGate
	early map[int]bool
}

func (j *seenJournal) SessionCreated(*Info) Waiter { return nil }
func (j *seenJournal) SessionUpdated(*Info) Waiter { return nil }
func (j *seenJournal) SessionClosed(*Final) Waiter { return nil }
func (j *seenJournal) EventAppended(_ string, ev *Event) Waiter {
	j.mu.Lock()
	defer j.mu.Unlock()
	g := seenGate{done: make(chan struct{})}
	if j.early[len(j.gates)] {
		close(g.done)
	}
	j.gates = append(j.gates, g)
	return g
}
func (j *seenJournal) open(pos int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	close(j.gates[pos].done)
}

// TestDurableSeenFollowsTheWatermark checks that the lock-free copy of the
// watermark that Receipt.Wait reads (durableSeen) equals the watermark after
// every way it moves: an event durable at once, the tracker passing a
// completed write, a group moving it back (the close on a fast store), and
// a restoration. A copy ahead of the watermark would let Receipt.Wait skip
// the settle that makes an acknowledged event readable at once.
func TestDurableSeenFollowsTheWatermark(t *testing.T) {
	j := &seenJournal{early: map[int]bool{0: true, 1: true, 3: true}}
	e := New(Options{Clock: clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), Journal: j})
	check := func(step string, s *Session) {
		t.Helper()
		s.mu.Lock()
		defer s.mu.Unlock()
		if got := s.durableSeen.Load(); got != int64(s.durable) {
			t.Fatalf("%s: durableSeen %d, watermark %d", step, got, s.durable)
		}
	}
	s, c, _, err := e.Create(CreateRequest{Creator: JoinRequest{Nick: "c", Type: Client}})
	if err != nil {
		t.Fatal(err)
	}
	check("created", s)
	_, _, err = s.Join(JoinRequest{Nick: "a", Type: Agent, Protocol: Basic})
	if err != nil {
		t.Fatal(err)
	}
	check("joined (durable at once)", s)
	rc, err := s.Send(c.UserID, Msg{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Durable() > rc.Pos {
		t.Fatalf("watermark %d passed a write not yet durable at %d", s.Durable(), rc.Pos)
	}
	check("message pending", s)
	j.open(rc.Pos)
	if err := rc.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.Durable() <= rc.Pos {
		t.Fatalf("Receipt.Wait returned with the watermark at %d, before its event %d", s.Durable(), rc.Pos)
	}
	check("message acknowledged", s)
	// The close appends two departures under one hold of the lock; the
	// first (position 3) is durable at once, the second is not: the group
	// moves the watermark back to 3.
	crc, _, err := s.Close(CloseRequest{Reason: RemovedByServer})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Durable(); got != 3 {
		t.Fatalf("watermark %d during a half-durable close, want 3", got)
	}
	check("close grouped", s)
	for pos := 4; pos <= crc.Pos; pos++ {
		j.open(pos)
	}
	if err := crc.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("close durable", s)
}
