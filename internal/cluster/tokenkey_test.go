package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
)

// TestTokenKeyOneForSimultaneousFirstStarts starts several nodes at once
// on a store with no token key yet: every one must end up with the same
// key (the same ChatServerWebapiToken of a session), or a desktop's token
// from one node would be refused by another.
func TestTokenKeyOneForSimultaneousFirstStarts(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := clock.NewFake(t0)
	const n = 6
	nodes := make([]*cluster.Cluster, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		nodes[i] = cluster.New(cluster.Options{Store: st, Clock: clk, NodeID: string(rune('a' + i)), Lease: time.Hour, Secrets: st})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = nodes[i].Start(ctx, map[string]string{"agent": "http://127.0.0.1:1"})
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		defer c.Stop(ctx)
	}
	want := nodes[0].WebapiToken("s1")
	if want == "" {
		t.Fatal("no token key made")
	}
	for i, c := range nodes[1:] {
		if got := c.WebapiToken("s1"); got != want {
			t.Fatalf("node %d's token %q differs from node 0's %q: two keys were made", i+1, got, want)
		}
		if !c.ValidToken("s1", want) {
			t.Fatalf("node %d refuses node 0's token", i+1)
		}
	}
}
