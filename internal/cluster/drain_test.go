package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
)

// TestClusterDrain drains a node holding 20 live chats into another with
// `confab drain`: it reports them handed over and /readyz 503, its
// customers (whose client lists it first) go on through the other node
// with their transcripts whole, a new chat started at it lands on the
// other node, and SIGTERM then stops it at once with exit 0.
func TestClusterDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chats = 20
	nodes, _, _ := startCluster(t, ctx, 2, 0)
	a, b := nodes[0], nodes[1]
	cc := chatv2.New(a.chatURL(), chatv2.Options{Nodes: []string{b.chatURL()}})
	var all []*chatv2.Chat
	for i := range chats {
		c, _, err := cc.RequestChat(ctx, service, chatv2.ChatRequest{Nickname: fmt.Sprint("d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.Send(ctx, fmt.Sprint("before-", i), nil); err != nil || r.StatusCode != 0 {
			t.Fatalf("send: %+v, %v", r, err)
		}
		all = append(all, c)
	}
	out, err := a.p.RunCLI(ctx, "drain", "--url", a.p.URLs.Agent, "--token", a.p.AdminToken, "--wait", "30s")
	if err != nil {
		t.Fatalf("confab drain: %v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("%d handed over", chats)) || !strings.Contains(out, "drained") {
		t.Fatalf("confab drain said:\n%s", out)
	}
	resp, err := http.Get(a.p.URLs.Health + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz of the draining node = %d, want 503", resp.StatusCode)
	}
	for i, c := range all {
		if r, err := c.Send(ctx, fmt.Sprint("after-", i), nil); err != nil || r.StatusCode != 0 {
			t.Fatalf("chat %d after the drain: %+v, %v", i, r, err)
		}
		seen, _ := texts(t, ctx, resume(c, b))
		if seen[fmt.Sprint("before-", i)] != 1 || seen[fmt.Sprint("after-", i)] != 1 {
			t.Fatalf("chat %d on the other node: %v", i, seen)
		}
	}
	n, _, err := cc.RequestChat(ctx, service, chatv2.ChatRequest{Nickname: "new"})
	if err != nil {
		t.Fatalf("a new chat while a node drains: %v", err)
	}
	if r, err := resume(n, b).Refresh(ctx, 1); err != nil || r.StatusCode != 0 {
		t.Fatalf("the new chat is not on the other node: %+v, %v", r, err)
	}
	start := time.Now()
	if _, err := a.p.Stop(10 * time.Second); err != nil {
		t.Fatalf("SIGTERM after the drain: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the drained node took %v to stop", d)
	}
}
