package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
)

// routeNode is one node's router and route share on a shared store.
type routeNode struct {
	id    string
	clk   *clock.Fake
	r     *routing.Router
	share *cluster.RouteShare
}

func newRouteNode(t *testing.T, st *postgres.Store, id string, clk *clock.Fake) *routeNode {
	t.Helper()
	ctx := context.Background()
	if err := st.PutNode(ctx, store.Node{ID: id, LeaseUntil: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sh := cluster.NewRouteShare(cluster.RouteShareOptions{Store: st, NodeID: id, Clock: clk, Manual: true})
	if err := sh.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	r := routing.New(routing.Options{Clock: clk, Share: sh})
	sh.Start(r)
	t.Cleanup(sh.Stop)
	return &routeNode{id: id, clk: clk, r: r, share: sh}
}

// settle waits until the node's share has written and reserved what it
// was asked to, then reads the other nodes' routes.
func (n *routeNode) settle(t *testing.T, others ...*routeNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, o := range append(others, n) {
		if err := o.share.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.share.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range append(others, n) {
		if err := o.share.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// notices collects a desk's notices.
type notices struct {
	mu   sync.Mutex // guards list
	list []routing.Notice
}

func (ns *notices) sink(n routing.Notice) {
	ns.mu.Lock()
	ns.list = append(ns.list, n)
	ns.mu.Unlock()
}

func (ns *notices) offers() []string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var ids []string
	for _, n := range ns.list {
		if n.Type == routing.NoticeOffer {
			ids = append(ids, n.InteractionID)
		}
	}
	return ids
}

func (ns *notices) has(typ, id, result string) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, n := range ns.list {
		if n.Type == typ && n.InteractionID == id && n.Result == result {
			return true
		}
	}
	return false
}

func login(t *testing.T, n *routeNode, id string, capacity int) (*routing.Desk, *notices) {
	t.Helper()
	ns := &notices{}
	d, err := n.r.Login(routing.Account{ID: id, Type: store.UserAgent, Queues: []string{"q"}, Capacity: capacity}, ns.sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(routing.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	return d, ns
}

// TestCrossNodeOfferTimeout: a chat queued on node b, where nobody is
// ready, is offered to the ready agent on node a (and listed there); an
// agent who becomes ready on b meanwhile is not offered it while a's offer
// is open; a's offer expires on the fake clock (its agent not-ready), and
// then b's agent is offered it. An agent's chat on another node counts in
// its load.
func TestCrossNodeOfferTimeout(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	a := newRouteNode(t, st, "a", clk)
	b := newRouteNode(t, st, "b", clk)
	_, alice := login(t, a, "alice", 1)

	b.r.SessionCreated(&chat.Info{ID: "x1", Queue: "q", CreatedAt: t0})
	a.settle(t, b)
	if got := alice.offers(); !slices.Equal(got, []string{"x1"}) {
		t.Fatalf("alice on a was offered %v, want b's x1", got)
	}
	if w := a.r.Waiting("q"); len(w) != 1 || w[0].ID != "x1" {
		t.Fatalf("a lists %+v, want b's x1", w)
	}
	bobDesk, bob := login(t, b, "bob", 1)
	b.settle(t, a)
	if got := bob.offers(); len(got) != 0 {
		t.Fatalf("bob on b was offered %v while alice's offer of x1 is open", got)
	}
	if st := bobDesk.Status(); st.Load != 0 {
		t.Fatalf("bob's load %d while nothing is offered to him", st.Load)
	}

	clk.Advance(15 * time.Second) // the default offer-timeout
	if !alice.has(routing.NoticeRevoked, "x1", routing.ResultExpired) {
		t.Fatalf("alice's offer did not expire: %+v", alice.list)
	}
	b.settle(t, a)
	if got := bob.offers(); !slices.Equal(got, []string{"x1"}) {
		t.Fatalf("after alice's offer expired bob was offered %v, want x1", got)
	}
	a.settle(t, b)
	if got := alice.offers(); len(got) != 1 {
		t.Fatalf("alice offered %v again while bob's offer is open", got)
	}

	// A chat alice joined on b counts in her load on a until she leaves.
	ad := a.r.Agents()[0]
	if ad.State != routing.StateNotReady {
		t.Fatalf("alice is %s after letting the offer expire", ad.State)
	}
	a.r.RemoteJoined("y1", "alice")
	if s := a.r.Agents()[0]; s.Load != 1 {
		t.Fatalf("alice's load %d with a chat on another node, want 1", s.Load)
	}
	a.r.RemoteLeft("y1", "alice")
	if s := a.r.Agents()[0]; s.Load != 0 {
		t.Fatalf("alice's load %d after she left it, want 0", s.Load)
	}
}

// TestCrossNodeOfferLapsesWithItsNode: node a reserves b's chat for its
// agent and then dies (it never releases the reservation). b's agent is
// not offered the chat until the reservation lapses (offer-timeout plus a
// margin on b's clock), then is.
func TestCrossNodeOfferLapsesWithItsNode(t *testing.T) {
	st := openStore(t)
	a := newRouteNode(t, st, "a", clock.NewFake(t0))
	b := newRouteNode(t, st, "b", clock.NewFake(t0))
	_, alice := login(t, a, "alice", 1)
	b.r.SessionCreated(&chat.Info{ID: "x1", Queue: "q", CreatedAt: t0})
	a.settle(t, b)
	if got := alice.offers(); !slices.Equal(got, []string{"x1"}) {
		t.Fatalf("alice on a was offered %v, want x1", got)
	}
	a.share.Stop() // a is gone: nothing it holds is released
	_, bob := login(t, b, "bob", 1)
	b.clk.Advance(15 * time.Second)
	b.settle(t)
	if got := bob.offers(); len(got) != 0 {
		t.Fatalf("bob was offered %v within a's reservation", got)
	}
	b.clk.Advance(3 * time.Second) // past offer-timeout + the margin (2 s)
	b.settle(t)
	if got := bob.offers(); !slices.Equal(got, []string{"x1"}) {
		t.Fatalf("bob was offered %v after a's reservation lapsed, want x1", got)
	}
}

// TestCrossNodeOffersExclusiveAndOldestFirst: 20 chats queued on b, six
// agents of capacity 2 on two nodes: the 12 oldest chats are offered, each
// to one agent only, no agent over its capacity.
func TestCrossNodeOffersExclusiveAndOldestFirst(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	a := newRouteNode(t, st, "a", clk)
	b := newRouteNode(t, st, "b", clk)
	var all []*notices
	for i := range 3 {
		_, ns := login(t, a, fmt.Sprintf("a%d", i), 2)
		all = append(all, ns)
		_, ns = login(t, b, fmt.Sprintf("b%d", i), 2)
		all = append(all, ns)
	}
	for i := range 20 {
		clk.Advance(time.Millisecond)
		b.r.SessionCreated(&chat.Info{ID: fmt.Sprintf("x%02d", i), Queue: "q", CreatedAt: clk.Now()})
	}
	for range 3 {
		b.settle(t, a)
		a.settle(t, b)
	}
	offered := map[string]int{}
	for _, ns := range all {
		got := ns.offers()
		if len(got) > 2 {
			t.Fatalf("an agent was offered %v: over its capacity 2", got)
		}
		for _, id := range got {
			offered[id]++
		}
	}
	var ids []string
	for id, n := range offered {
		if n != 1 {
			t.Fatalf("%s offered to %d agents", id, n)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var want []string
	for i := range 12 {
		want = append(want, fmt.Sprintf("x%02d", i))
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("offered %v, want the 12 oldest %v", ids, want)
	}
	if w := a.r.Waiting("q"); len(w) != 20 {
		t.Fatalf("a lists %d of b's queued chats, want 20", len(w))
	}
}

// TestOneDeskPerAgentInTheCluster: an agent with a desk on node a (whose
// agent listener answers) gets none on b, and so is not offered b's chats
// twice over its capacity; once it logs out of a, b gives it a desk. A
// holder that does not answer (killed, its lease still running) or whose
// lease ended is taken over.
func TestOneDeskPerAgentInTheCluster(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := clock.NewFake(t0)
	a := newRouteNode(t, st, "a", clk)
	b := newRouteNode(t, st, "b", clk)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a's agent listener, answering
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	live := store.Node{ID: "a", URLs: map[string]string{"agent": "http://" + ln.Addr().String()}, LeaseUntil: t0.Add(time.Hour)}
	if err := st.PutNode(ctx, live); err != nil {
		t.Fatal(err)
	}
	acc := routing.Account{ID: "alice", Type: store.UserAgent, Queues: []string{"q"}, Capacity: 1}
	onA, err := a.r.Login(acc, func(routing.Notice) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.r.Login(acc, func(routing.Notice) {}); !errors.Is(err, routing.ErrLoggedIn) {
		t.Fatalf("login on b while a holds the desk: %v, want ErrLoggedIn", err)
	}
	onA.Logout()
	onB, err := b.r.Login(acc, func(routing.Notice) {})
	if err != nil {
		t.Fatalf("login on b after a's logout: %v", err)
	}
	// b holds it; b stops answering (no listener at its URL): a takes over.
	if err := st.PutNode(ctx, store.Node{ID: "b", URLs: map[string]string{"agent": "http://127.0.0.1:1"}, LeaseUntil: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	onA, err = a.r.Login(acc, func(routing.Notice) {})
	if err != nil {
		t.Fatalf("login on a while b does not answer: %v", err)
	}
	onB.Logout() // b's late logout does not release a's claim
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if err := st.PutNode(ctx, store.Node{ID: "b", URLs: map[string]string{"agent": "http://" + ln2.Addr().String()}, LeaseUntil: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.r.Login(acc, func(routing.Notice) {}); !errors.Is(err, routing.ErrLoggedIn) {
		t.Fatalf("login on b after b's stale logout: %v, want ErrLoggedIn (a holds it)", err)
	}
	// a's lease ends: b takes it over although a's listener answers.
	live.LeaseUntil = t0.Add(-time.Second)
	if err := st.PutNode(ctx, live); err != nil {
		t.Fatal(err)
	}
	if _, err := b.r.Login(acc, func(routing.Notice) {}); err != nil {
		t.Fatalf("login on b after a's lease ended: %v", err)
	}
	_ = onA
}
