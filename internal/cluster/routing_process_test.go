package cluster_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
)

// routed records what an agent socket is told: offers, revocations,
// message texts by session.
type routed struct {
	cl *agent.Client

	mu      sync.Mutex // guards the following
	offers  []string
	revoked []string
	texts   map[string][]string
	changed chan struct{}
}

func watchRouted(cl *agent.Client) *routed {
	d := &routed{cl: cl, texts: map[string][]string{}, changed: make(chan struct{}, 1)}
	go func() {
		for f := range cl.Frames() {
			d.mu.Lock()
			switch f.Type {
			case agent.FrameOffer:
				d.offers = append(d.offers, f.InteractionID)
			case agent.FrameRevoked:
				d.revoked = append(d.revoked, f.InteractionID+":"+f.Result)
			case agent.FrameEvents:
				for _, ev := range f.Events {
					if ev.Kind == "message" {
						d.texts[f.SessionID] = append(d.texts[f.SessionID], ev.Text)
					}
				}
			}
			d.mu.Unlock()
			select {
			case d.changed <- struct{}{}:
			default:
			}
		}
	}()
	return d
}

// await waits, bounded, until cond holds.
func (d *routed) await(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(limit)
	for {
		d.mu.Lock()
		ok := cond()
		d.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-d.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			d.mu.Lock()
			defer d.mu.Unlock()
			t.Fatalf("%s did not happen in %v (offers %v, revoked %v)", what, limit, d.offers, d.revoked)
		}
	}
}

func (d *routed) offered(id string) bool { return slices.Contains(d.offers, id) }

// TestRoutingAcrossNodes runs 2 real nodes on one PostgreSQL. An agent on
// node a lists the queued chats of both nodes; made ready, it is offered
// the older one, queued on node b, accepts it and the messages flow both
// ways through a. A second agent on a is offered the next chat of b; an
// agent made ready on b meanwhile is not offered it; a is SIGKILLed with
// that offer open: it lapses and the chat is offered to the agent on b,
// who accepts it and talks to the customer.
func TestRoutingAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodes, tokens, dsn := startCluster(t, ctx, 2, 3, "[routing]\noffer-timeout = 3")
	a, b := nodes[0], nodes[1]
	defer func() {
		if t.Failed() {
			t.Logf("node b's log:\n%s", tail(readLog(b.p.LogPath), 40))
		}
	}()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE agents SET queues = 'default'"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	dial := func(n *node, tok string) *routed {
		cl, err := agent.Dial(ctx, n.p.URLs.Agent, tok, &agent.Options{FrameBuffer: 1 << 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return watchRouted(cl)
	}
	chatOn := func(n *node, nick string) *chatv2.Chat {
		c, _, err := n.cc.RequestChat(ctx, service, chatv2.ChatRequest{Nickname: nick})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	alice := dial(a, tokens[0])
	c1 := chatOn(b, "one") // the oldest, on b
	c2 := chatOn(a, "two")
	var ids []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := alice.cl.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:0]
		for _, in := range list {
			ids = append(ids, in.ID)
		}
		if len(ids) == 2 {
			break
		}
	}
	if !slices.Equal(ids, []string{c1.ID, c2.ID}) {
		t.Fatalf("list on a: %v, want b's %s then a's %s", ids, c1.ID, c2.ID)
	}
	if r, err := c2.Disconnect(ctx); err != nil || r.StatusCode != 0 {
		t.Fatalf("customer two leaves: %+v, %v", r, err)
	}

	if err := alice.cl.SetState(ctx, "ready", ""); err != nil {
		t.Fatal(err)
	}
	alice.await(t, "an offer of b's chat to the agent on a", 10*time.Second, func() bool { return alice.offered(c1.ID) })
	if _, err := alice.cl.Accept(ctx, c1.ID, agent.JoinOptions{}); err != nil {
		t.Fatalf("accept on a of b's chat: %v", err)
	}
	if r, err := c1.Send(ctx, "hello from b's customer", nil); err != nil || r.StatusCode != 0 {
		t.Fatalf("customer sends: %+v, %v", r, err)
	}
	alice.await(t, "the customer's message at the agent", 10*time.Second, func() bool {
		return slices.Contains(alice.texts[c1.ID], "hello from b's customer")
	})
	if _, err := alice.cl.Send(ctx, c1.ID, agent.Message{Text: "hi from a"}); err != nil {
		t.Fatal(err)
	}
	seen := false
	for deadline := time.Now().Add(10 * time.Second); !seen && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r, err := c1.Refresh(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			seen = seen || (m.Type == chatv2.TypeMessage && m.Text == "hi from a")
		}
	}
	if !seen {
		t.Fatal("the agent's message on a never reached b's customer")
	}

	// alice on a transfers b's chat to carol on b: the transfer is relayed
	// to b, where alice's relaying socket has a guest desk.
	carol := dial(b, tokens[2])
	if err := carol.cl.SetState(ctx, "ready", ""); err != nil {
		t.Fatal(err)
	}
	// (carol may be busy for a moment with a held offer of a's closed chat
	// two, until b's next poll of the shared routes drops it)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := alice.cl.Transfer(ctx, c1.ID, "agent-2")
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "unavailable") || time.Now().After(deadline) {
			t.Fatalf("transfer on a of b's chat to an agent on b: %v", err)
		}
	}
	carol.await(t, "the transfer offer at carol on b", 10*time.Second, func() bool { return carol.offered(c1.ID) })
	if _, err := carol.cl.Accept(ctx, c1.ID, agent.JoinOptions{}); err != nil {
		t.Fatalf("carol accepts the transfer: %v", err)
	}
	if r, err := c1.Send(ctx, "after the transfer", nil); err != nil || r.StatusCode != 0 {
		t.Fatalf("customer sends: %+v, %v", r, err)
	}
	carol.await(t, "the customer's message at carol", 10*time.Second, func() bool {
		return slices.Contains(carol.texts[c1.ID], "after the transfer")
	})
	if err := carol.cl.SetState(ctx, "not-ready", ""); err != nil {
		t.Fatal(err)
	}

	if _, err := carol.cl.Release(ctx, c1.ID, "", ""); err != nil {
		t.Fatalf("carol leaves the chat: %v", err)
	}
	if r, err := c1.Disconnect(ctx); err != nil || r.StatusCode != 0 { // the chat ends
		t.Fatalf("customer one leaves: %+v, %v", r, err)
	}

	// An offer open on a node that dies lapses; the chat goes to an agent
	// on the survivor.
	bob := dial(a, tokens[1])
	if err := bob.cl.SetState(ctx, "ready", ""); err != nil {
		t.Fatal(err)
	}
	c3 := chatOn(b, "three")
	bob.await(t, "an offer of b's second chat to the agent on a", 10*time.Second, func() bool { return bob.offered(c3.ID) })
	if err := carol.cl.SetState(ctx, "ready", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // two polls of b: carol must not be offered it
	carol.mu.Lock()
	early := carol.offered(c3.ID)
	carol.mu.Unlock()
	if early {
		t.Fatal("carol on b was offered the chat while bob's offer on a is open")
	}
	killed := time.Now()
	a.p.Kill() // SIGKILL
	carol.await(t, "the chat offered on b after a died", 15*time.Second, func() bool { return carol.offered(c3.ID) })
	t.Logf("offered on b %v after a's SIGKILL", time.Since(killed).Round(time.Millisecond))
	if _, err := carol.cl.Accept(ctx, c3.ID, agent.JoinOptions{}); err != nil {
		t.Fatalf("carol accepts: %v", err)
	}
	if r, err := c3.Send(ctx, "still here", nil); err != nil || r.StatusCode != 0 {
		t.Fatalf("customer three sends: %+v, %v", r, err)
	}
	carol.await(t, "customer three's message at carol", 10*time.Second, func() bool {
		return slices.Contains(carol.texts[c3.ID], "still here")
	})
}
