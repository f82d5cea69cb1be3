package cluster_test

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/bench"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// startAgentCluster starts n real nodes on one PostgreSQL schema with a
// short lease and extra settings, and one agent account.
func startAgentCluster(t *testing.T, ctx context.Context, n int, settings string) ([]*node, string, string) {
	t.Helper()
	dsn, schema := pgtest.Schema(t)
	dsn += "&search_path=" + schema
	exe := buildExe(t)
	cfg := "[store]\ndriver = postgres\ndsn = " + dsn + "\n[cluster]\nlease = 2\n[settings]\n" + settings + "\n"
	var nodes []*node
	for i := range n {
		p, err := bench.StartServer(ctx, bench.ServerOptions{Exe: exe, Dir: t.TempDir(), ExtraConfig: cfg})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(p.Kill)
		nodes = append(nodes, &node{p: p, cc: chatv2.New(p.URLs.WebAPI+"/genesys/2/chat", chatv2.Options{})})
	}
	out, err := exec.CommandContext(ctx, exe, "agent", "add", "--store-dsn", dsn, "agent-0").CombinedOutput()
	if err != nil {
		t.Fatalf("agent add: %v: %s", err, out)
	}
	token := ""
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "token") {
			token = strings.TrimSpace(line[strings.LastIndex(line, ": ")+2:])
		}
	}
	return nodes, token, dsn
}

// desk collects what an agent client delivers: every event once, in
// position order, and the restored frames.
type desk struct {
	mu       sync.Mutex // guards the following
	pos      map[string][]int
	texts    map[string]map[string]int
	restored []agent.Frame
	changed  chan struct{}
}

func watch(cl *agent.Client) *desk {
	d := &desk{pos: map[string][]int{}, texts: map[string]map[string]int{}, changed: make(chan struct{}, 1)}
	go func() {
		for f := range cl.Frames() {
			d.mu.Lock()
			switch f.Type {
			case agent.FrameEvents:
				for _, ev := range f.Events {
					d.pos[f.SessionID] = append(d.pos[f.SessionID], ev.Pos)
					if ev.Kind == "message" {
						if d.texts[f.SessionID] == nil {
							d.texts[f.SessionID] = map[string]int{}
						}
						d.texts[f.SessionID][ev.Text]++
					}
				}
			case agent.FrameRestored:
				d.restored = append(d.restored, f)
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

// await waits until cond holds on the desk, bounded.
func (d *desk) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		d.mu.Lock()
		ok := cond()
		d.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-d.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("agent never saw %s", what)
		}
	}
}

// check fails unless the agent saw every text once and positions only
// growing (no event twice).
func (d *desk) check(t *testing.T, id string, want ...string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range want {
		if d.texts[id][w] != 1 {
			t.Errorf("agent saw %q %d times, want once (all: %v)", w, d.texts[id][w], d.texts[id])
		}
	}
	ps := d.pos[id]
	for i := 1; i < len(ps); i++ {
		if ps[i] <= ps[i-1] {
			t.Errorf("agent got position %d after %d: an event twice or out of order (%v)", ps[i], ps[i-1], ps)
			break
		}
	}
}

func owner(t *testing.T, ctx context.Context, dsn, id string) (string, int64) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var node string
	var epoch int64
	if err := conn.QueryRow(ctx, `SELECT node_id, epoch FROM session_owners WHERE session_id = $1`, id).Scan(&node, &epoch); err != nil {
		t.Fatal(err)
	}
	return node, epoch
}

// customerSees fails unless the customer's transcript holds every text
// once.
func customerSees(t *testing.T, ctx context.Context, c *chatv2.Chat, want ...string) {
	t.Helper()
	seen, _ := texts(t, ctx, c)
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("customer saw %q %d times, want once (all: %v)", w, seen[w], seen)
		}
	}
}

// TestAgentReachesAnotherNodesSession: an agent on node a's socket accepts
// and serves a chat owned by node b (its operations relayed to b); b is
// killed with SIGKILL; the customer comes back through a, which restores
// the chat (session-restore-extend-by=none: only the customer may); the
// agent's socket on a gets a restored frame naming a, its client joins
// again as the same party, and the agent saw every message once, in
// order.
func TestAgentReachesAnotherNodesSession(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodes, token, dsn := startAgentCluster(t, ctx, 2, "")
	a, b := nodes[0], nodes[1]
	c, _, err := b.cc.RequestChat(ctx, service, chatv2.ChatRequest{Nickname: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	bNode, _ := owner(t, ctx, dsn, c.ID)
	cl, err := agent.Dial(ctx, a.p.URLs.Agent, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	d := watch(cl)
	j, err := cl.Accept(ctx, c.ID, agent.JoinOptions{})
	if err != nil {
		t.Fatalf("accept through a of b's chat: %v", err)
	}
	if j.Interaction == nil || j.Interaction.UserData[agent.KeyWebapiToken] == nil {
		t.Errorf("accept result without the interaction's %s: %+v", agent.KeyWebapiToken, j.Interaction)
	}
	if _, err := cl.Send(ctx, c.ID, agent.Message{Text: "agent-1"}); err != nil {
		t.Fatalf("send through a: %v", err)
	}
	if r, err := c.Send(ctx, "customer-1", nil); err != nil || r.StatusCode != 0 {
		t.Fatalf("customer on b: %+v, %v", r, err)
	}
	d.await(t, "customer-1 through the relay", func() bool { return d.texts[c.ID]["customer-1"] == 1 })

	b.p.Kill() // SIGKILL
	viaA := resume(c, a)
	if err := sendRetry(ctx, viaA, "customer-2"); err != nil {
		t.Fatalf("customer through a after the kill: %v", err)
	}
	d.await(t, "a restored frame", func() bool { return len(d.restored) > 0 })
	d.mu.Lock()
	rf := d.restored[0]
	d.mu.Unlock()
	aNode, epoch := owner(t, ctx, dsn, c.ID)
	if rf.SessionID != c.ID || rf.Node != aNode || aNode == bNode || epoch != 2 || !rf.Restored || rf.URL == "" {
		t.Errorf("restored frame %+v; owner %s at epoch %d (b was %s)", rf, aNode, epoch, bNode)
	}
	if _, err := cl.Send(ctx, c.ID, agent.Message{Text: "agent-2"}); err != nil {
		t.Fatalf("agent send after the restoration: %v", err)
	}
	d.await(t, "customer-2 and agent-2 after the restoration", func() bool {
		return d.texts[c.ID]["customer-2"] == 1 && d.texts[c.ID]["agent-2"] == 1
	})
	d.check(t, c.ID, "agent-1", "customer-1", "customer-2", "agent-2")
	customerSees(t, ctx, viaA, "agent-1", "customer-1", "customer-2", "agent-2")
}

// TestAgentFailsOverAndRestores: an agent connected straight to node b,
// the owner, with node a as its other address; b is killed with SIGKILL
// while a send is under way; the client moves to a and joins again with
// the session's ChatServerWebapiToken, which restores the chat on a
// (session-restore-extend-by=agent) before the customer is back; the
// send lands once, and the customer, coming back through a, finds the
// conversation whole.
func TestAgentFailsOverAndRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodes, token, dsn := startAgentCluster(t, ctx, 2, "session-restore-extend-by = agent")
	a, b := nodes[0], nodes[1]
	c, _, err := b.cc.RequestChat(ctx, service, chatv2.ChatRequest{Nickname: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	bNode, _ := owner(t, ctx, dsn, c.ID)
	cl, err := agent.Dial(ctx, b.p.URLs.Agent, token, &agent.Options{Nodes: []string{a.p.URLs.Agent}, FailoverTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	d := watch(cl)
	j, err := cl.Accept(ctx, c.ID, agent.JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Send(ctx, c.ID, agent.Message{Text: "agent-1"}); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Send(ctx, "customer-1", nil); err != nil || r.StatusCode != 0 {
		t.Fatalf("customer on b: %+v, %v", r, err)
	}
	d.await(t, "customer-1", func() bool { return d.texts[c.ID]["customer-1"] == 1 })

	b.p.Kill() // SIGKILL
	if _, err := cl.Send(ctx, c.ID, agent.Message{Text: "agent-2"}); err != nil {
		t.Fatalf("the send across the failover: %v", err)
	}
	aNode, epoch := owner(t, ctx, dsn, c.ID)
	if aNode == bNode || epoch != 2 {
		t.Fatalf("owner %s at epoch %d after the agent's failover; want a at epoch 2", aNode, epoch)
	}
	again, err := cl.Do(ctx, agent.Request{Op: agent.OpPing})
	if err != nil || again.Type != agent.FrameResult {
		t.Fatalf("ping on a: %+v, %v", again, err)
	}
	viaA := resume(c, a)
	if err := sendRetry(ctx, viaA, "customer-2"); err != nil {
		t.Fatalf("customer through a: %v", err)
	}
	d.await(t, "customer-2 and agent-2", func() bool {
		return d.texts[c.ID]["customer-2"] == 1 && d.texts[c.ID]["agent-2"] == 1
	})
	d.check(t, c.ID, "agent-1", "customer-1", "agent-2", "customer-2")
	customerSees(t, ctx, viaA, "agent-1", "customer-1", "agent-2", "customer-2")
	if hello := cl.Hello(); hello.Agent == nil || hello.Agent.ID != "agent-0" {
		t.Errorf("hello after the failover: %+v", hello)
	}
	if j.SessionID != c.ID {
		t.Errorf("accept answered session %q, want %q", j.SessionID, c.ID)
	}
}
