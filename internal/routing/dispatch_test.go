package routing_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

const (
	offerTimeout = 15 * time.Second
	lastTimeout  = 20 * time.Second
)

// rig is a router on a fake clock with desks that record their notices.
type rig struct {
	t        *testing.T
	clk      *clock.Fake
	engine   *chat.Engine
	router   *routing.Router
	botFirst map[string]bool
	last     func(id string) string

	mu sync.Mutex // guards botFirst reads in tests that change it
}

type optsFn func(*routing.Options)

func newRig(t *testing.T, more ...optsFn) *rig {
	t.Helper()
	g := &rig{t: t, clk: clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), botFirst: map[string]bool{}}
	var journals chat.Journals
	g.engine = chat.New(chat.Options{Journal: &journals, Settings: chat.DefaultSettings, Clock: g.clk})
	opts := routing.Options{
		Engine:           g.engine,
		OfferTimeout:     func() time.Duration { return offerTimeout },
		LastAgentTimeout: func() time.Duration { return lastTimeout },
		BotFirst: func(q string) bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.botFirst[q]
		},
	}
	for _, f := range more {
		f(&opts)
	}
	g.router = routing.New(opts)
	journals = append(journals, g.router)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.router.Flush(ctx)
	})
	return g
}

// desk is a logged-in agent whose notices are kept.
type desk struct {
	*routing.Desk
	acc    routing.Account
	router *routing.Router
	mu     sync.Mutex // guards got
	got    []routing.Notice
}

func (g *rig) login(id string, typ store.UserType, capacity int, queues ...string) *desk {
	g.t.Helper()
	k := &desk{acc: routing.Account{ID: id, Name: id, Type: typ, Queues: queues, Capacity: capacity}, router: g.router}
	d, err := g.router.Login(k.acc, func(n routing.Notice) {
		k.mu.Lock()
		k.got = append(k.got, n)
		k.mu.Unlock()
	})
	if err != nil {
		g.t.Fatalf("login %s: %v", id, err)
	}
	k.Desk = d
	return k
}

func (g *rig) ready(ks ...*desk) {
	g.t.Helper()
	for _, k := range ks {
		if err := k.SetState(routing.StateReady, ""); err != nil {
			g.t.Fatalf("%s ready: %v", k.acc.ID, err)
		}
	}
}

func (k *desk) r() *routing.Router { return k.router }

// take returns and forgets the notices of one type.
func (k *desk) take(typ string) []routing.Notice {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out, keep []routing.Notice
	for _, n := range k.got {
		if n.Type == typ {
			out = append(out, n)
		} else {
			keep = append(keep, n)
		}
	}
	k.got = keep
	return out
}

// offers returns the ids of the interactions offered to k since the last
// call.
func (k *desk) offers() []string {
	var ids []string
	for _, n := range k.take(routing.NoticeOffer) {
		ids = append(ids, n.InteractionID)
	}
	return ids
}

func (g *rig) chat(queue string, async bool, ud kv.Map) (*chat.Session, chat.Participant) {
	g.t.Helper()
	s, p, _, err := g.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: queue, Async: async, UserData: ud,
		Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex}})
	if err != nil {
		g.t.Fatalf("create: %v", err)
	}
	return s, p
}

func (g *rig) accept(k *desk, id string) (routing.Accepted, error) {
	typ := chat.Agent
	if k.acc.Type == store.UserSupervisor {
		typ = chat.Supervisor
	}
	var ud kv.Map
	if k.acc.Type == store.UserBot {
		ud = kv.Map{chat.KeySetPartyStyle: "BOT"}
	}
	return g.router.Accept(id, k.acc.ID, chat.JoinRequest{Nick: k.acc.ID, Type: typ, Protocol: chat.Basic, PersonID: k.acc.ID, UserData: ud})
}

func (g *rig) mustAccept(k *desk, id string) routing.Accepted {
	g.t.Helper()
	acc, err := g.accept(k, id)
	if err != nil {
		g.t.Fatalf("%s accepts %s: %v", k.acc.ID, id, err)
	}
	return acc
}

func wantOffers(t *testing.T, k *desk, want ...string) {
	t.Helper()
	if got := k.offers(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s was offered %v, want %v", k.acc.ID, got, want)
	}
}

func TestLongestIdleFirstAndTies(t *testing.T) {
	g := newRig(t)
	bea := g.login("bea", store.UserAgent, 1, "sales")
	g.ready(bea)
	g.clk.Advance(time.Second)
	cal, amy := g.login("cal", store.UserAgent, 1, "sales"), g.login("amy", store.UserAgent, 1, "sales")
	g.ready(cal, amy) // same instant: amy before cal by id
	other := g.login("oz", store.UserAgent, 1, "support")
	g.ready(other)

	s1, _ := g.chat("sales", false, nil)
	wantOffers(t, bea, s1.ID()) // the longest idle
	s2, _ := g.chat("sales", false, nil)
	wantOffers(t, amy, s2.ID()) // tie broken by id
	s3, _ := g.chat("sales", false, nil)
	wantOffers(t, cal, s3.ID())
	wantOffers(t, other) // another queue's agent gets nothing
	s4, _ := g.chat("sales", false, nil)
	if st := mustGet(t, g.router, s4.ID()).State; st != routing.Queued {
		t.Fatalf("fourth chat state %s", st)
	}
	// Nobody has capacity: the fourth waits, then goes to the first agent
	// whose chat ends.
	g.mustAccept(bea, s1.ID())
	acc := g.mustAccept(amy, s2.ID())
	if _, _, err := acc.Session.Leave(chat.LeaveRequest{UserID: acc.Participant.UserID, After: chat.KeepAlive}); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, amy, s4.ID())
	wantOffers(t, bea)
}

func TestCapacityAndArrivalOrder(t *testing.T) {
	g := newRig(t)
	amy := g.login("amy", store.UserAgent, 2, "q")
	var ids []string
	for range 3 {
		s, _ := g.chat("q", false, nil)
		ids = append(ids, s.ID())
		g.clk.Advance(time.Second)
	}
	wantOffers(t, amy) // not ready yet
	g.ready(amy)
	wantOffers(t, amy, ids[0], ids[1]) // capacity 2, oldest first
	acc := g.mustAccept(amy, ids[0])
	wantOffers(t, amy)
	if st := amy.Status(); st.Load != 2 {
		t.Fatalf("load %d, want 2 (one chat, one offer)", st.Load)
	}
	acc.Session.Leave(chat.LeaveRequest{UserID: acc.Participant.UserID, After: chat.CloseIfNoAgents})
	wantOffers(t, amy, ids[2])
}

func TestOfferTimeoutGoesToNextAgent(t *testing.T) {
	g := newRig(t)
	amy, bob := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 1, "q")
	g.ready(amy)
	g.clk.Advance(time.Second)
	g.ready(bob)
	s, _ := g.chat("q", false, nil)
	wantOffers(t, amy, s.ID())
	amy.take(routing.NoticeState)
	g.clk.Advance(offerTimeout - time.Millisecond)
	wantOffers(t, bob) // not yet
	g.clk.Advance(time.Millisecond)
	wantOffers(t, bob, s.ID())
	if st, reason := amy.State(); st != routing.StateNotReady || reason != routing.ReasonOfferTimeout {
		t.Fatalf("amy is %s (%s) after letting the offer expire", st, reason)
	}
	if rv := amy.take(routing.NoticeRevoked); len(rv) != 1 || rv[0].Result != routing.ResultExpired {
		t.Fatalf("amy revoked notices %+v", rv)
	}
	if _, err := g.accept(amy, s.ID()); !errors.Is(err, routing.ErrOfferExpired) {
		t.Fatalf("accept of an expired offer: %v, want ErrOfferExpired", err)
	}
	if v := mustGet(t, g.router, s.ID()); v.State != routing.Queued || v.AgentID != "" {
		t.Fatalf("the refused accept changed the interaction: %+v", v)
	}
	g.mustAccept(bob, s.ID())
	if v := mustGet(t, g.router, s.ID()); v.State != routing.Assigned || v.AgentID != "bob" {
		t.Fatalf("after bob's accept: %+v", v)
	}
}

func TestRejectAndOutOfOrder(t *testing.T) {
	g := newRig(t)
	amy, bob := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 1, "q")
	g.ready(amy)
	g.clk.Advance(time.Second)
	s, _ := g.chat("q", false, nil)
	if err := bob.Reject(s.ID()); !errors.Is(err, routing.ErrNoOffer) {
		t.Fatalf("reject without an offer: %v", err)
	}
	if _, err := g.accept(bob, s.ID()); !errors.Is(err, routing.ErrOffered) {
		t.Fatalf("accept of a chat offered to another agent: %v", err)
	}
	wantOffers(t, amy, s.ID())
	if err := amy.Reject(s.ID()); err != nil {
		t.Fatal(err)
	}
	if err := amy.Reject(s.ID()); !errors.Is(err, routing.ErrNoOffer) {
		t.Fatalf("second reject: %v", err)
	}
	wantOffers(t, amy) // never offered again what it rejected
	if st, _ := amy.State(); st != routing.StateReady {
		t.Fatalf("a reject made amy %s", st)
	}
	g.ready(bob)
	wantOffers(t, bob, s.ID())
	s2, _ := g.chat("q", false, nil)
	wantOffers(t, amy, s2.ID()) // amy still gets new chats
	c := g.router.Counters()
	if c.Offers != 3 || c.OffersRejected != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestLastAgentPreference(t *testing.T) {
	var mu sync.Mutex
	lastOf := map[string]string{}
	g := newRig(t, func(o *routing.Options) {
		o.LastAgent = func(_ context.Context, id string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			return lastOf[id], nil
		}
	})
	amy, bob := g.login("amy", store.UserAgent, 1, "q"), g.login("bob", store.UserAgent, 1, "q")
	g.ready(amy)
	g.clk.Advance(time.Second)
	g.ready(bob)
	// The look-up runs asynchronously; wait for the offer.
	s1 := g.chatWithLast("q", "bob", &mu, lastOf)
	waitOffer(t, bob, s1)
	wantOffers(t, amy)
	// Bob lets it expire after last-agent-timeout: amy gets it.
	g.clk.Advance(lastTimeout)
	wantOffers(t, amy, s1)
	// A last agent that is busy is skipped at once.
	s2 := g.chatWithLast("q", "amy", &mu, lastOf)
	g.waitRouted(s2)
	if v := mustGet(t, g.router, s2); v.State != routing.Queued {
		t.Fatalf("s2 %+v", v)
	}
	g.ready(bob)
	wantOffers(t, bob, s2)
}

func (g *rig) chatWithLast(queue, last string, mu *sync.Mutex, m map[string]string) string {
	id := chat.NewSessionID()
	mu.Lock()
	m[id] = last
	mu.Unlock()
	_, _, _, err := g.engine.Create(chat.CreateRequest{ID: id, Tenant: "1", Endpoint: "default", Queue: queue,
		Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex}})
	if err != nil {
		g.t.Fatal(err)
	}
	return id
}

// waitRouted waits until no last-agent look-up runs.
func (g *rig) waitRouted(string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.router.Flush(ctx); err != nil {
		g.t.Fatal(err)
	}
}

func waitOffer(t *testing.T, k *desk, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.r().Flush(ctx); err != nil { // waits for the look-up goroutines
		t.Fatal(err)
	}
	wantOffers(t, k, id)
}

// TestForgetLeavesTheQueue checks a forgotten interaction (its session
// moved to another node) leaves its queue: its open offer ends, and no desk
// is offered it again, while the next chat is.
func TestForgetLeavesTheQueue(t *testing.T) {
	g := newRig(t)
	a := g.login("a1", store.UserAgent, 1, "q")
	g.ready(a)
	s, _ := g.chat("q", false, nil)
	if got := a.offers(); len(got) != 1 || got[0] != s.ID() {
		t.Fatalf("offers %v, want %s", got, s.ID())
	}
	g.router.Forget(s.ID())
	if _, err := g.router.Get(s.ID()); !errors.Is(err, routing.ErrNotFound) {
		t.Fatalf("Get after Forget: %v", err)
	}
	if w := g.router.Waiting("q"); len(w) != 0 {
		t.Fatalf("still waiting after Forget: %+v", w)
	}
	g.clk.Advance(offerTimeout + time.Second) // the offer would have expired and come back
	if got := a.offers(); len(got) != 0 {
		t.Fatalf("the forgotten interaction was offered again: %v", got)
	}
	s2, _ := g.chat("q", false, nil)
	if got := a.offers(); len(got) != 1 || got[0] != s2.ID() {
		t.Fatalf("after Forget the desk is offered %v, want the next chat %s", got, s2.ID())
	}
}
