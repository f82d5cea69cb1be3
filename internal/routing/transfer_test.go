package routing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// assigned creates a chat in q and has k accept it.
func (g *rig) assigned(k *desk, q string, async bool) (*chat.Session, routing.Accepted) {
	g.t.Helper()
	g.ready(k)
	s, _ := g.chat(q, async, nil)
	wantOffers(g.t, k, s.ID())
	acc := g.mustAccept(k, s.ID())
	g.setState(k, routing.StateNotReady)
	return s, acc
}

func (g *rig) setState(k *desk, st routing.AgentState) {
	g.t.Helper()
	if err := k.SetState(st, ""); err != nil {
		g.t.Fatal(err)
	}
}

// present returns the person ids present in the session with their
// visibility.
func present(t *testing.T, s *chat.Session) map[string]chat.Visibility {
	t.Helper()
	out := map[string]chat.Visibility{}
	for _, p := range s.Info().Participants {
		if !p.Left && p.PersonID != "" {
			out[p.PersonID] = p.Visibility
		}
	}
	return out
}

func lastLeft(t *testing.T, s *chat.Session, userID string) *chat.Event {
	t.Helper()
	evs, _, _ := s.ReadAll(0, nil)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == chat.PartyLeft && evs[i].From.UserID == userID {
			return &evs[i]
		}
	}
	return nil
}

func TestTransferAccepted(t *testing.T) {
	g := newRig(t)
	amy, bob := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 1, "q")
	s, acc := g.assigned(amy, "q", false)
	if err := amy.Transfer(s.ID(), "bob"); !errors.Is(err, routing.ErrUnavailable) {
		t.Fatalf("transfer to a not-ready agent: %v", err)
	}
	g.ready(bob)
	if err := amy.Transfer(s.ID(), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := amy.Transfer(s.ID(), "bob"); !errors.Is(err, routing.ErrBusy) {
		t.Fatalf("second transfer while one is open: %v", err)
	}
	if st := mustGet(t, g.router, s.ID()).State; st != routing.Transferred {
		t.Fatalf("state while the transfer is open: %s", st)
	}
	offers := bob.take(routing.NoticeOffer)
	if len(offers) != 1 || offers[0].Offer.Kind != routing.OfferTransfer || offers[0].Offer.From != "amy" {
		t.Fatalf("bob's offers %+v", offers)
	}
	g.mustAccept(bob, s.ID())
	if got := present(t, s); len(got) != 1 || got["bob"] != chat.VisAll {
		t.Fatalf("present after the transfer: %v", got)
	}
	ev := lastLeft(t, s, acc.Participant.UserID)
	if ev == nil || ev.Reason != chat.LeftNormally {
		t.Fatalf("amy's departure: %+v", ev)
	}
	if n := amy.take(routing.NoticeTransfer); len(n) != 1 || n[0].Result != routing.ResultAccepted || n[0].By != "bob" {
		t.Fatalf("amy was told %+v", n)
	}
	if v := mustGet(t, g.router, s.ID()); v.State != routing.Assigned || v.AgentID != "bob" {
		t.Fatalf("after the transfer: %+v", v)
	}
	if st := amy.Status(); st.Load != 0 {
		t.Fatalf("amy's load after handing over: %d", st.Load)
	}
}

func TestTransferRejectedAndExpired(t *testing.T) {
	g := newRig(t)
	amy, bob := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 1, "q")
	s, _ := g.assigned(amy, "q", false)
	g.ready(bob)
	if err := amy.Transfer(s.ID(), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Reject(s.ID()); err != nil {
		t.Fatal(err)
	}
	if n := amy.take(routing.NoticeTransfer); len(n) != 1 || n[0].Result != routing.ResultRejected || n[0].By != "bob" {
		t.Fatalf("amy was told %+v", n)
	}
	if v := mustGet(t, g.router, s.ID()); v.State != routing.Assigned || v.AgentID != "amy" {
		t.Fatalf("after the rejection: %+v", v)
	}
	if err := amy.Transfer(s.ID(), "bob"); err != nil {
		t.Fatal(err)
	}
	g.clk.Advance(offerTimeout)
	if n := amy.take(routing.NoticeTransfer); len(n) != 1 || n[0].Result != routing.ResultExpired {
		t.Fatalf("amy was told %+v", n)
	}
	if st, reason := bob.State(); st != routing.StateNotReady || reason != routing.ReasonOfferTimeout {
		t.Fatalf("bob %s %s", st, reason)
	}
	if got := present(t, s); len(got) != 1 || got["amy"] != chat.VisAll {
		t.Fatalf("present: %v", got)
	}
	if _, err := g.accept(bob, s.ID()); !errors.Is(err, routing.ErrOfferExpired) {
		t.Fatalf("late accept: %v", err)
	}
	// Not in the session: not-present.
	cal := g.login("cal", store.UserAgent, 1, "q")
	if err := cal.Transfer(s.ID(), "bob"); !errors.Is(err, routing.ErrNotPresent) {
		t.Fatalf("transfer by an agent not in the session: %v", err)
	}
}

func TestTransferToQueue(t *testing.T) {
	g := newRig(t)
	bot := g.login("bot", store.UserBot, 10, "triage")
	humans := g.login("hal", store.UserAgent, 1, "humans")
	g.ready(bot)
	s, _ := g.chat("triage", false, nil)
	wantOffers(t, bot, s.ID())
	g.mustAccept(bot, s.ID())
	if err := bot.Transfer(s.ID(), "queue:humans"); err != nil {
		t.Fatal(err)
	}
	// Nobody of the queue is ready yet: the transfer waits, then hal gets it.
	g.clk.Advance(offerTimeout / 2)
	g.ready(humans)
	wantOffers(t, humans, s.ID())
	g.mustAccept(humans, s.ID())
	if got := present(t, s); len(got) != 1 || got["hal"] != chat.VisAll {
		t.Fatalf("present: %v", got)
	}
	if n := bot.take(routing.NoticeTransfer); len(n) != 1 || n[0].Result != routing.ResultAccepted {
		t.Fatalf("bot was told %+v", n)
	}
	// A queue nobody takes in time: no-agent.
	s2, _ := g.chat("triage", false, nil)
	wantOffers(t, bot, s2.ID())
	g.mustAccept(bot, s2.ID())
	if err := bot.Transfer(s2.ID(), "queue:humans"); err != nil {
		t.Fatal(err)
	}
	g.clk.Advance(offerTimeout)
	if n := bot.take(routing.NoticeTransfer); len(n) != 1 || n[0].Result != routing.ResultNoAgent {
		t.Fatalf("bot was told %+v", n)
	}
	if st := mustGet(t, g.router, s2.ID()).State; st != routing.Assigned {
		t.Fatalf("state after a failed queue transfer: %s", st)
	}
}

func TestInviteConferenceAndConsult(t *testing.T) {
	g := newRig(t)
	amy, bob, cal := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 2, "q"), g.login("cal", store.UserAgent, 1, "q")
	s, _ := g.assigned(amy, "q", false)
	g.ready(bob, cal)
	if err := amy.Invite(s.ID(), "bob", chat.VisVIP); err == nil {
		t.Fatal("invite with VIP accepted")
	}
	if err := amy.Invite(s.ID(), "bob", chat.VisInt); err != nil {
		t.Fatal(err)
	}
	n := bob.take(routing.NoticeOffer)
	if len(n) != 1 || n[0].Offer.Kind != routing.OfferInvite || n[0].Offer.Visibility != chat.VisInt {
		t.Fatalf("bob's offer %+v", n)
	}
	g.mustAccept(bob, s.ID())
	if got := present(t, s); got["amy"] != chat.VisAll || got["bob"] != chat.VisInt || len(got) != 2 {
		t.Fatalf("after the consultation invite: %v", got)
	}
	if err := amy.Invite(s.ID(), "cal", chat.VisAll); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, cal, s.ID())
	g.mustAccept(cal, s.ID())
	if got := present(t, s); got["cal"] != chat.VisAll || len(got) != 3 {
		t.Fatalf("after the conference invite: %v", got)
	}
	if n := amy.take(routing.NoticeInvite); len(n) != 2 || n[0].Result != routing.ResultAccepted {
		t.Fatalf("amy was told %+v", n)
	}
	if st := mustGet(t, g.router, s.ID()).State; st != routing.Assigned {
		t.Fatalf("state %s", st)
	}
}

func TestHoldWorkbinAndWake(t *testing.T) {
	g := newRig(t)
	amy, bob := g.login("amy", store.UserAgent, 2, "q"), g.login("bob", store.UserAgent, 1, "q")
	s, acc := g.assigned(amy, "q", true)
	if _, err := bob.Hold(s.ID(), ""); !errors.Is(err, routing.ErrNotPresent) {
		t.Fatalf("hold by an agent not in the chat: %v", err)
	}
	v, err := amy.Hold(s.ID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if v.AsyncStatus != routing.AsyncOnHold {
		t.Fatalf("async status %d", v.AsyncStatus)
	}
	if _, _, err := acc.Session.Leave(chat.LeaveRequest{UserID: acc.Participant.UserID, After: chat.KeepAlive}); err != nil {
		t.Fatal(err)
	}
	if v := mustGet(t, g.router, s.ID()); v.State != routing.Held || v.AsyncStatus != routing.AsyncOnHold {
		t.Fatalf("after hold: %+v", v)
	}
	bin, _ := amy.Workbin("")
	if len(bin) != 1 || bin[0].ID != s.ID() {
		t.Fatalf("amy's workbin %+v", bin)
	}
	g.ready(bob)
	wantOffers(t, bob) // a held chat is not routed
	// The customer writes: the chat wakes, waits for amy (not ready).
	cust := s.Info().Participants[0]
	if _, err := s.Send(cust.UserID, chat.Msg{Text: "any news?"}); err != nil {
		t.Fatal(err)
	}
	if v := mustGet(t, g.router, s.ID()); v.State != routing.Queued || v.AsyncStatus != routing.AsyncCustomerReplied {
		t.Fatalf("after the customer's reply: %+v", v)
	}
	if bin, _ := amy.Workbin(""); len(bin) != 0 {
		t.Fatalf("workbin after wake: %+v", bin)
	}
	wantOffers(t, bob)
	g.ready(amy)
	n := amy.take(routing.NoticeOffer)
	if len(n) != 1 || n[0].Offer.Kind != routing.OfferWake {
		t.Fatalf("amy's offers after the wake: %+v", n)
	}
	g.mustAccept(amy, s.ID())
	if v := mustGet(t, g.router, s.ID()); v.AsyncStatus != routing.AsyncProcessing {
		t.Fatalf("async status after amy is back: %d", v.AsyncStatus)
	}

	// Held in a queue's workbin; amy never comes back: after
	// last-agent-timeout bob gets it.
	s2, acc2 := g.assigned(amy, "q", true)
	if _, err := amy.Hold(s2.ID(), "bad"); !errors.Is(err, routing.ErrBadWorkbin) {
		t.Fatalf("bad workbin: %v", err)
	}
	if _, err := amy.Hold(s2.ID(), "queue:later"); err != nil {
		t.Fatal(err)
	}
	acc2.Session.Leave(chat.LeaveRequest{UserID: acc2.Participant.UserID, After: chat.KeepAlive})
	if bin, _ := amy.Workbin("queue:later"); len(bin) != 1 {
		t.Fatalf("queue workbin %+v", bin)
	}
	g.setState(amy, routing.StateNotReady)
	s2.Send(s2.Info().Participants[0].UserID, chat.Msg{Text: "hello?"})
	wantOffers(t, bob)
	g.clk.Advance(lastTimeout)
	wantOffers(t, bob, s2.ID())
}

func TestHoldNeedsAsync(t *testing.T) {
	g := newRig(t)
	amy := g.login("amy", store.UserAgent, 1, "q")
	s, _ := g.assigned(amy, "q", false)
	if _, err := amy.Hold(s.ID(), ""); !errors.Is(err, routing.ErrNotAsync) {
		t.Fatalf("hold of a regular chat: %v", err)
	}
}

func TestBotFirst(t *testing.T) {
	g := newRig(t)
	hal := g.login("hal", store.UserAgent, 1, "q")
	g.ready(hal)
	g.clk.Advance(time.Second)
	bot := g.login("bot", store.UserBot, 5, "q")
	g.ready(bot)
	s1, _ := g.chat("q", false, nil)
	wantOffers(t, hal, s1.ID()) // without bot-first: longest idle
	g.mu.Lock()
	g.botFirst["q"] = true
	g.mu.Unlock()
	g.clk.Advance(time.Second)
	g.mustAccept(hal, s1.ID())
	s2, _ := g.chat("q", false, kv.Map{"x": "y"})
	wantOffers(t, bot, s2.ID())
}

func TestLogoutEndsOffersAndAsks(t *testing.T) {
	g := newRig(t)
	amy, bob := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 1, "q")
	g.ready(amy)
	s, _ := g.chat("q", false, nil)
	wantOffers(t, amy, s.ID())
	amy.Logout()
	g.ready(bob)
	wantOffers(t, bob, s.ID())
	if _, err := g.router.Login(routing.Account{ID: "bob"}, func(routing.Notice) {}); !errors.Is(err, routing.ErrLoggedIn) {
		t.Fatalf("second login: %v", err)
	}
	if err := amy.SetState(routing.StateReady, ""); !errors.Is(err, routing.ErrClosedDesk) {
		t.Fatalf("state after logout: %v", err)
	}
	if q := g.router.Queues(); len(q) != 1 || q[0].Offered != 1 || q[0].Agents != 1 || q[0].Unserved {
		t.Fatalf("queues %+v", q)
	}
	bob.Logout()
	if q := g.router.Queues(); q[0].Waiting != 1 || !q[0].Unserved {
		t.Fatalf("queues after everybody left %+v", q)
	}
}
