package chat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// gate is a Waiter the test completes by hand; it reports Done like a
// store ticket.
type gate struct {
	done chan struct{}
	err  error
}

func newGate() *gate { return &gate{done: make(chan struct{})} }

func (g *gate) Wait(ctx context.Context) error {
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (g *gate) Done() <-chan struct{} { return g.done }
func (g *gate) open(err error)        { g.err = err; close(g.done) }

// gated is a Journal whose every event waits for its own gate.
type gated struct {
	mu      sync.Mutex
	gates   []*gate      // by position
	settled map[int]bool // positions whose write is durable before EventAppended returns
}

func (j *gated) SessionCreated(*chat.Info) chat.Waiter { return nil }
func (j *gated) SessionUpdated(*chat.Info) chat.Waiter { return nil }
func (j *gated) SessionClosed(*chat.Final) chat.Waiter { return nil }
func (j *gated) EventAppended(_ string, ev *chat.Event) chat.Waiter {
	j.mu.Lock()
	defer j.mu.Unlock()
	g := newGate()
	if j.settled[len(j.gates)] {
		g.open(nil)
	}
	j.gates = append(j.gates, g)
	return g
}
func (j *gated) gate(pos int) *gate {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.gates[pos]
}

// waitVisible waits (bounded) until the viewer can read n events.
func waitVisible(t *testing.T, s *chat.Session, viewer string, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		ch := s.Changed()
		evs, _, _, _ := s.Read(viewer, 0, nil)
		if len(evs) >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s sees %d events, want %d", viewer, len(evs), n)
		}
	}
}

// TestWatermarkHidesWhatIsNotDurable checks readers see an event only once
// it and every earlier event are durable, in order, and that an
// acknowledged receipt makes its event visible at once.
func TestWatermarkHidesWhatIsNotDurable(t *testing.T) {
	j := &gated{}
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: j})
	s, c, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	if evs, next, _, _ := s.Read(c.UserID, 0, nil); len(evs) != 0 || next != 0 {
		t.Fatalf("before any commit the customer reads %d events, next %d; want none, 0", len(evs), next)
	}
	rc1, _ := s.Send(c.UserID, chat.Msg{Text: "one"})
	rc2, _ := s.Send(c.UserID, chat.Msg{Text: "two"})
	j.gate(2).open(nil) // the later write completes first
	if evs, _, _, _ := s.Read(c.UserID, 0, nil); len(evs) != 0 {
		t.Fatalf("events shown past a write that is not durable: %d", len(evs))
	}
	j.gate(0).open(nil)
	waitVisible(t, s, c.UserID, 1)
	if evs, next, _, _ := s.Read(c.UserID, 0, nil); len(evs) != 1 || next != 1 {
		t.Fatalf("after the first commit: %d events, next %d; want 1, 1", len(evs), next)
	}
	j.gate(1).open(nil)
	if err := rc1.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rc2.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Acknowledged means visible, without waiting for the tracker.
	if evs, next, _, _ := s.Read(c.UserID, 0, nil); len(evs) != 3 || next != 3 || s.Durable() != 3 {
		t.Fatalf("after every commit: %d events, next %d, watermark %d; want 3", len(evs), next, s.Durable())
	}
}

// TestWatermarkCloseIsAtomic checks the events of a close become visible
// together and the session reads as closed only once they are.
func TestWatermarkCloseIsAtomic(t *testing.T) {
	j := &gated{}
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: j})
	s, c, _, _ := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	a, _, _ := s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent, Protocol: chat.Basic})
	j.gate(0).open(nil)
	j.gate(1).open(nil)
	waitVisible(t, s, a.UserID, 2)
	if _, _, err := s.Close(chat.CloseRequest{Reason: chat.RemovedByServer}); err != nil {
		t.Fatal(err)
	}
	j.gate(2).open(nil) // the customer's partyLeft alone
	evs, _, state, _ := s.Read(a.UserID, 0, nil)
	if len(evs) != 2 || state != chat.Alive {
		t.Fatalf("half a close is visible: %d events, state %s", len(evs), state)
	}
	if p, _ := s.Participant(c.UserID); p.Left {
		t.Fatal("the customer is reported left before its departure is durable")
	}
	j.gate(3).open(nil)
	waitVisible(t, s, a.UserID, 4)
	if _, _, state, _ := s.Read(a.UserID, 0, nil); state != chat.Closed {
		t.Fatalf("state %s after the close is durable", state)
	}
	if p, _ := s.Participant(c.UserID); !p.Left {
		t.Fatal("the customer's durable departure is not reported")
	}
}

// TestWatermarkCloseIsAtomicOnAFastStore: when the first closing event is
// durable at once (its batch committed before the next departure was
// appended), the close is still shown whole or not at all: a customer
// whose stream ends at its own departure must not miss the agent's.
func TestWatermarkCloseIsAtomicOnAFastStore(t *testing.T) {
	j := &gated{settled: map[int]bool{0: true, 1: true, 2: true}}
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: j})
	s, c, _, _ := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	a, _, _ := s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent, Protocol: chat.Basic})
	waitVisible(t, s, a.UserID, 2)
	if _, _, err := s.Close(chat.CloseRequest{Reason: chat.RemovedByServer}); err != nil {
		t.Fatal(err)
	}
	// Position 2, the customer's partyLeft, was durable when appended; 3,
	// the agent's, is not.
	for _, viewer := range []string{c.UserID, a.UserID} {
		if evs, _, state, _ := s.Read(viewer, 0, nil); len(evs) != 2 || state != chat.Alive {
			t.Fatalf("%s reads half a close: %d events, state %s; want 2, alive", viewer, len(evs), state)
		}
	}
	j.gate(3).open(nil)
	waitVisible(t, s, c.UserID, 4)
	if _, _, state, _ := s.Read(c.UserID, 0, nil); state != chat.Closed {
		t.Fatalf("state %s after the close is durable", state)
	}
}

// TestWatermarkWriteError checks that a failed write is reported, that no
// reader ever sees its event (not even once later writes have committed),
// that the session's readers go on past it, and that its client message id
// may be sent again.
func TestWatermarkWriteError(t *testing.T) {
	j := &gated{}
	failures := make(chan int, 1)
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: j,
		OnWriteError: func(_ *chat.Session, pos int, _ error) { failures <- pos }})
	s, c, _, _ := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	a, _, _ := s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent, Protocol: chat.Basic})
	j.gate(0).open(nil)
	j.gate(1).open(nil)
	waitVisible(t, s, a.UserID, 2)
	lost, _ := s.Send(c.UserID, chat.Msg{Text: "lost", ClientMsgID: "m1"})    // pos 2
	kept, _ := s.Send(c.UserID, chat.Msg{Text: "kept", ClientMsgID: "m2"})    // pos 3
	again, err := s.Send(c.UserID, chat.Msg{Text: "lost", ClientMsgID: "m1"}) // a retry while pos 2 is in flight
	if err != nil || !again.Duplicate || again.Pos != 2 {
		t.Fatalf("retry in flight: %+v, %v; want a duplicate of position 2", again, err)
	}
	j.gate(3).open(nil) // the later write commits first
	j.gate(2).open(errors.New("disk full"))
	select {
	case pos := <-failures:
		if pos != 2 {
			t.Fatalf("failure reported at %d, want 2", pos)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write failure not reported")
	}
	if err := lost.Wait(context.Background()); err == nil {
		t.Fatal("the failed write was acknowledged")
	}
	if err := again.Wait(context.Background()); !errors.Is(err, chat.ErrNotStored) {
		t.Fatalf("the duplicate of the failed write: %v, want ErrNotStored", err)
	}
	if err := kept.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, viewer := range []string{c.UserID, a.UserID} {
		evs, next, _, _ := s.Read(viewer, 0, nil)
		for _, ev := range evs {
			if ev.Pos == 2 {
				t.Fatalf("%s sees the event whose write failed", viewer)
			}
		}
		if next != 4 || len(evs) != 3 {
			t.Fatalf("%s reads %d events up to %d; want 3 (positions 0, 1, 3) up to 4", viewer, len(evs), next)
		}
	}
	// The withdrawn message's client id is free again: a retry appends it.
	re, err := s.Send(c.UserID, chat.Msg{Text: "lost", ClientMsgID: "m1"})
	if err != nil || re.Duplicate || re.Pos != 4 {
		t.Fatalf("resend after the failure: %+v, %v; want a new event at 4", re, err)
	}
	// A duplicate of a durable message is acknowledged at once.
	if d, err := s.Send(c.UserID, chat.Msg{Text: "kept", ClientMsgID: "m2"}); err != nil || !d.Duplicate || d.Wait(context.Background()) != nil {
		t.Fatalf("duplicate of a durable message: %+v, %v", d, err)
	}
	j.gate(4).open(nil)
	waitVisible(t, s, c.UserID, 4)
}
