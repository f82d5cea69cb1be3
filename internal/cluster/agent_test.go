package cluster_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
)

// TestLocateAgentRestoresWithToken runs two nodes on one PostgreSQL store;
// node a owns a session per case and its lease ends on b's clock. An
// agent-socket join reaching b claims and restores the session only when
// it carries the session's ChatServerWebapiToken and
// session-restore-extend-by is agent or both; while a lives, the join is
// routed to a's agent listener whatever the token.
func TestLocateAgentRestoresWithToken(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
	mode := cluster.ExtendNone
	restored := make(chan string, 1)
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease, Secrets: st})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease, Secrets: st,
		Restore:    func(_ context.Context, id string) error { restored <- id; return nil },
		MayRestore: cluster.ExtendBy(func() string { return mode })})
	if err := a.Start(ctx, map[string]string{"agent": "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	if err := b.Start(ctx, map[string]string{"agent": "http://127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)

	tok := a.WebapiToken("x")
	if tok == "" || b.WebapiToken("x") != tok || a.WebapiToken("y") == tok {
		t.Fatalf("tokens: a %q, b %q, other session %q: want one non-empty token per session, the same on every node", tok, b.WebapiToken("x"), a.WebapiToken("y"))
	}
	if !b.ValidToken("x", tok) || b.ValidToken("y", tok) || b.ValidToken("x", "") || b.ValidToken("x", tok+"A") {
		t.Fatal("ValidToken accepts a wrong token or refuses the right one")
	}

	cases := []struct {
		mode    string
		token   func(id string) string
		restore bool
	}{
		{cluster.ExtendNone, a.WebapiToken, false},
		{cluster.ExtendESP, a.WebapiToken, false},
		{cluster.ExtendAgent, func(string) string { return "" }, false},
		{cluster.ExtendAgent, func(id string) string { return a.WebapiToken(id + "-other") }, false},
		{cluster.ExtendAgent, a.WebapiToken, true},
		{cluster.ExtendBoth, a.WebapiToken, true},
	}
	for i := range cases {
		if err := a.SessionCreated(&chat.Info{ID: fmt.Sprintf("s%d", i)}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// While a lives, a join with a valid token is routed to it.
	mode = cluster.ExtendBoth
	r, err := b.LocateAgent(ctx, "s0", a.WebapiToken("s0"), false)
	if err != nil || r.Local || r.Node != "a" || r.URLs["agent"] != "http://127.0.0.1:1" {
		t.Fatalf("live owner: %+v, %v; want a's agent listener", r, err)
	}
	clkB.Advance(lease + time.Second) // a never renews: dead to b
	for i, tc := range cases {
		id := fmt.Sprintf("s%d", i)
		mode = tc.mode
		r, err := b.LocateAgent(ctx, id, tc.token(id), false)
		if err != nil || !r.Local {
			t.Fatalf("case %d: %+v, %v; want served by b", i, r, err)
		}
		o, err := st.GetOwner(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-restored:
			if !tc.restore || got != id {
				t.Errorf("case %d (extend-by=%s): restored %s", i, tc.mode, got)
			}
		default:
			if tc.restore {
				t.Errorf("case %d (extend-by=%s): not restored", i, tc.mode)
			}
		}
		if tc.restore != (o.NodeID == "b" && o.Epoch == 2) || tc.restore != r.Restored {
			t.Errorf("case %d (extend-by=%s): owner %+v, route %+v; restore %v", i, tc.mode, o, r, tc.restore)
		}
	}
}

// TestFollowFindsTheRestoringNode: node b lost its socket to a (which owns
// a session) and follows the session on its fake clock. While a is within
// its lease and its listener answers, Follow names a. With
// session-restore-extend-by=none b never claims it itself: it keeps
// looking, every third of the lease, until node c restores it, and then
// names c. With agent, b claims and restores it itself once a's lease
// ended.
func TestFollowFindsTheRestoringNode(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const lease = 9 * time.Second
	clkA, clkB, clkC := clock.NewFake(t0), clock.NewFake(t0), clock.NewFake(t0)
	mode := cluster.ExtendNone
	policy := cluster.ExtendBy(func() string { return mode })
	a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease})
	b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease, MayRestore: policy,
		Restore: func(context.Context, string) error { return nil }})
	c := cluster.New(cluster.Options{Store: st, Clock: clkC, NodeID: "c", Lease: lease, MayRestore: policy,
		Restore: func(context.Context, string) error { return nil }})
	// a's agent listener accepts connections while a lives: Follow probes
	// a lost node that is still within its lease.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, n := range []struct {
		c   *cluster.Cluster
		url string
	}{{a, "http://" + ln.Addr().String()}, {b, "http://127.0.0.1:2"}, {c, "http://127.0.0.1:3"}} {
		if err := n.c.Start(ctx, map[string]string{"agent": n.url}); err != nil {
			t.Fatal(err)
		}
		defer n.c.Stop(ctx)
	}
	for _, id := range []string{"s1", "s2"} {
		if err := a.SessionCreated(&chat.Info{ID: id}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	follow := func(id string) chan cluster.Followed {
		ch := make(chan cluster.Followed, 1)
		go func() {
			f, err := b.Follow(ctx, id, "a")
			if err != nil {
				t.Error(err)
			}
			ch <- f
		}()
		return ch
	}
	// waitSleep waits until Follow sleeps on b's clock (its timer beside
	// the lease renewal's), then advances it a third of the lease.
	step := func() {
		for deadline := time.Now().Add(10 * time.Second); clkB.Pending() < 2; {
			if time.Now().After(deadline) {
				t.Fatal("Follow does not wait on the clock")
			}
			time.Sleep(time.Millisecond)
		}
		clkB.Advance(lease / 3)
		clkC.Advance(lease / 3) // c stays alive on b's clock
	}

	// a is alive: Follow names it once it still answers a moment later
	// (not moved).
	alive := follow("s1")
	step()
	if f := <-alive; f.Node != "a" || f.Moved || f.Local {
		t.Fatalf("live owner: %+v", f)
	}

	// a dies; extend-by none: b waits until c restores the session.
	ln.Close()
	clkB.Advance(lease + time.Second)
	clkC.Advance(lease + time.Second)
	ch := follow("s1")
	for range 3 {
		step()
		select {
		case f := <-ch:
			t.Fatalf("Follow returned %+v before anyone restored the session", f)
		default:
		}
	}
	if r, err := c.Resolve(ctx, "s1"); err != nil || !r.Local || !r.Restored {
		t.Fatalf("c restores: %+v, %v", r, err)
	}
	step()
	if f := <-ch; f.Node != "c" || !f.Moved || f.URLs["agent"] != "http://127.0.0.1:3" {
		t.Fatalf("after c restored it: %+v, want c", f)
	}

	// extend-by agent: b claims s2 itself.
	mode = cluster.ExtendAgent
	if f := <-follow("s2"); !f.Local || !f.Moved || b.Epoch("s2") != 2 {
		t.Fatalf("extend-by agent: %+v, epoch %d; want restored on b at epoch 2", f, b.Epoch("s2"))
	}

	// A closed session (no owner row) ends the following.
	if err := b.Release(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if f := <-follow("s2"); !f.Closed {
		t.Fatalf("closed session: %+v", f)
	}
}
