package routing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// toldRig is a router with Options.HistoryTells on a fake clock: the test
// plays the contact history (LearnContact, CloseInteraction, RecordClosed).
type toldRig struct {
	fake   *clock.Fake
	st     *memStore
	engine *chat.Engine
	router *routing.Router
}

func newToldRig(t *testing.T) *toldRig {
	t.Helper()
	g := &toldRig{fake: clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)), st: newMemStore()}
	var journals chat.Journals
	g.engine = chat.New(chat.Options{Clock: g.fake, Journal: &journals, Settings: chat.DefaultSettings})
	g.router = routing.New(routing.Options{Engine: g.engine, AppName: "confab-test", Store: g.st, Clock: g.fake, HistoryTells: true})
	journals = append(journals, g.router)
	t.Cleanup(func() { g.flush(t) })
	return g
}

func (g *toldRig) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.router.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// waitTimers waits (bounded) until the fake clock holds more than n timers:
// a write of the router waits to be told.
func (g *toldRig) waitTimers(t *testing.T, n int) {
	t.Helper()
	for range 5000 {
		if g.fake.Pending() > n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no write of the router waits: %d timers pending, want more than %d", g.fake.Pending(), n)
}

// liveSession creates a session whose record the history created and whose
// contact it told, with an agent in it, all written.
func (g *toldRig) liveSession(t *testing.T) *chat.Session {
	t.Helper()
	before := g.fake.Pending()
	s, _, _, err := g.engine.Create(chat.CreateRequest{
		Tenant: "1", Endpoint: "default", Queue: "q", UserData: kv.Map{"contact": "C-9"},
		Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex},
	})
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	// The first write waits for the history to tell the contact, without
	// reading the record that does not exist yet.
	g.waitTimers(t, before)
	g.st.historyCreate(s.Info())
	g.router.LearnContact(s.ID(), "C-9")
	g.flush(t)
	agentJoin(t, s, chat.Agent, false)
	g.flush(t)
	if rec, _ := g.st.get(t, s.ID()); rec.State != string(routing.Assigned) {
		t.Fatalf("stored state %q before the close, want %q", rec.State, routing.Assigned)
	}
	return s
}

// historyClose writes the closing transaction as the history does.
func (g *toldRig) historyClose(t *testing.T, s *chat.Session) {
	t.Helper()
	err := g.st.CloseInteraction(context.Background(), s.ID(), g.fake.Now(), store.Bytes([]byte(`{"transcript":[]}`)),
		[]byte(`{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
}

// closedByServer starts a live session, closes it as the server does, and
// returns once routing's write of the closed state is waiting (for the
// history's RecordClosed, or the close grace).
func (g *toldRig) closedByServer(t *testing.T) *chat.Session {
	t.Helper()
	s := g.liveSession(t)
	before := g.fake.Pending()
	if _, _, err := s.Close(chat.CloseRequest{Reason: chat.RemovedByServer}); err != nil {
		t.Fatal(err)
	}
	g.waitTimers(t, before)
	return s
}

// TestHistoryToldWritesWithoutReads: told by the history when the contact is
// known and when the closing transaction has landed, routing never reads an
// interaction's record, and its closed state is written only after the
// history's close.
func TestHistoryToldWritesWithoutReads(t *testing.T) {
	g := newToldRig(t)
	s := g.closedByServer(t)
	// (The agent's departure, before the close, may have been written:
	// queued again. Not the closed state.)
	if rec, _ := g.st.get(t, s.ID()); rec.State == string(routing.Offline) {
		t.Fatalf("stored state %q before the history's close landed", rec.State)
	}
	g.historyClose(t, s)
	g.router.RecordClosed(s.ID())
	g.flush(t)
	rec, ud := g.st.get(t, s.ID())
	if rec.State != string(routing.Offline) || rec.Status != store.StatusClosed || ud.String(routing.KeyIsOnline) != "0" ||
		ud.String(routing.KeyContactID) != "C-9" || string(rec.Transcript) != `{"transcript":[]}` {
		t.Errorf("closed record: state %q status %q user data %v transcript %s", rec.State, rec.Status, ud, rec.Transcript)
	}
	// get above read once; the router never did.
	if n := g.st.readsOf(s.ID()) - 3; n != 0 {
		t.Errorf("the router read the record %d times, want 0", n)
	}
	if _, err := g.router.Get(s.ID()); err == nil {
		t.Error("the closed interaction is still live in memory after its write")
	}
}

// TestHistoryNeverTellsClose: when the history's close never lands (a
// failed write, a cluster that took the session), the closed write reads
// the record once the close grace is over and writes it.
func TestHistoryNeverTellsClose(t *testing.T) {
	g := newToldRig(t)
	s := g.closedByServer(t)
	g.fake.Advance(5 * time.Second) // routing's close grace
	g.flush(t)
	rec, ud := g.st.get(t, s.ID())
	if rec.State != string(routing.Offline) || ud.String(routing.KeyIsOnline) != "0" {
		t.Errorf("closed record after the grace: state %q user data %v", rec.State, ud)
	}
	if n := g.st.readsOf(s.ID()) - 2; n != 1 { // the test read it twice
		t.Errorf("the router read the record %d times, want 1 (after the grace)", n)
	}
}

// TestFlushNamesWhatItWaitsFor: a flush that ends before a closed write's
// wait for the history is over says which interaction it waited for.
func TestFlushNamesWhatItWaitsFor(t *testing.T) {
	g := newToldRig(t)
	s := g.closedByServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := g.router.Flush(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush with the close untold = %v, want the deadline", err)
	}
	if want := "1 waiting to be written again (" + s.ID() + ")"; !strings.Contains(err.Error(), want) {
		t.Errorf("flush error %q does not say %q", err, want)
	}
	g.fake.Advance(5 * time.Second) // routing's close grace: the rig's cleanup flush completes
}
