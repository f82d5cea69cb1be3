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

// callbackGate is a gate that also offers completion callbacks, as store
// tickets do (store.Ticket.AfterDone): opening it runs them on another
// goroutine. It counts the waits that had to block, which only a tracking
// goroutine does.
type callbackGate struct {
	gate
	mu      sync.Mutex // guards the following
	after   []func()
	opened  bool
	blocked int
	hooked  int // callbacks registered
}

func (g *callbackGate) AfterDone(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened {
		return false
	}
	g.after = append(g.after, f)
	g.hooked++
	return true
}

func (g *callbackGate) Wait(ctx context.Context) error {
	select {
	case <-g.done:
	default:
		g.mu.Lock()
		g.blocked++
		g.mu.Unlock()
	}
	return g.gate.Wait(ctx)
}

func (g *callbackGate) open(err error) {
	g.gate.open(err)
	g.mu.Lock()
	g.opened = true
	fs := g.after
	g.after = nil
	g.mu.Unlock()
	go func() {
		for _, f := range fs {
			f()
		}
	}()
}

func (g *callbackGate) counts() (blocked, hooked int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.blocked, g.hooked
}

// callbackGated is a Journal whose every event waits for its own
// callbackGate.
type callbackGated struct {
	mu    sync.Mutex
	gates []*callbackGate // by position
}

func (j *callbackGated) SessionCreated(*chat.Info) chat.Waiter { return nil }
func (j *callbackGated) SessionUpdated(*chat.Info) chat.Waiter { return nil }
func (j *callbackGated) SessionClosed(*chat.Final) chat.Waiter { return nil }
func (j *callbackGated) EventAppended(_ string, ev *chat.Event) chat.Waiter {
	j.mu.Lock()
	defer j.mu.Unlock()
	g := &callbackGate{gate: gate{done: make(chan struct{})}}
	j.gates = append(j.gates, g)
	return g
}
func (j *callbackGated) gate(pos int) *callbackGate {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.gates[pos]
}

// TestWatermarkByCallback checks that with waiters offering completion
// callbacks the watermark advances in order without any goroutine blocking
// on a waiter, and that readers are woken when it moves, not when an event
// they may not see yet is appended.
func TestWatermarkByCallback(t *testing.T) {
	j := &callbackGated{}
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: j})
	s, c, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent, Protocol: chat.Basic})
	j.gate(0).open(nil)
	j.gate(1).open(nil)
	waitVisible(t, s, a.UserID, 2)

	ch := s.Changed()
	if _, err := s.Send(c.UserID, chat.Msg{Text: "one"}); err != nil { // pos 2
		t.Fatal(err)
	}
	if _, err := s.Send(c.UserID, chat.Msg{Text: "two"}); err != nil { // pos 3
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("readers woken by the append of events that are not durable")
	default:
	}
	j.gate(3).open(nil) // the later write completes first: nothing visible yet
	if evs, _, _, _ := s.Read(a.UserID, 2, nil); len(evs) != 0 {
		t.Fatalf("events shown past a write that is not durable: %d", len(evs))
	}
	j.gate(2).open(nil)
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("readers not woken when the watermark moved")
	}
	waitVisible(t, s, a.UserID, 4)
	if d := s.Durable(); d != 4 {
		t.Fatalf("watermark %d, want 4", d)
	}
	for pos := range 4 {
		if n, _ := j.gate(pos).counts(); n != 0 {
			t.Errorf("write %d: %d waits blocked on it; the callback should have advanced the watermark", pos, n)
		}
	}
	if _, n := j.gate(2).counts(); n != 1 {
		t.Errorf("the oldest pending write got %d completion callbacks, want 1", n)
	}
}

// TestWatermarkCallbackWriteError checks that a write failing behind a
// callback is still withdrawn and reported, and that the session goes on
// past it.
func TestWatermarkCallbackWriteError(t *testing.T) {
	j := &callbackGated{}
	failures := make(chan int, 1)
	e := chat.New(chat.Options{Clock: clock.NewFake(t0), Journal: j,
		OnWriteError: func(_ *chat.Session, pos int, _ error) { failures <- pos }})
	s, c, _, _ := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	j.gate(0).open(nil)
	waitVisible(t, s, c.UserID, 1)
	lost, _ := s.Send(c.UserID, chat.Msg{Text: "lost"}) // pos 1
	kept, _ := s.Send(c.UserID, chat.Msg{Text: "kept"}) // pos 2
	j.gate(1).open(errors.New("disk full"))
	select {
	case pos := <-failures:
		if pos != 1 {
			t.Fatalf("failure reported at %d, want 1", pos)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write failure not reported")
	}
	if err := lost.Wait(context.Background()); err == nil {
		t.Fatal("the failed write was acknowledged")
	}
	j.gate(2).open(nil)
	if err := kept.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitVisible(t, s, c.UserID, 2)
	evs, next, _, _ := s.Read(c.UserID, 0, nil)
	for _, ev := range evs {
		if ev.Pos == 1 {
			t.Fatal("the customer sees the event whose write failed")
		}
	}
	if next != 3 || len(evs) != 2 {
		t.Fatalf("reads %d events up to %d; want 2 (positions 0, 2) up to 3", len(evs), next)
	}
}
