package cluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
)

// TestPurgeAfterRestore runs two nodes on one PostgreSQL store; node a
// serves its purge route on a test listener. a owns a session, its lease
// ends on b's clock (a is paused, not gone), and b claims and restores
// the session. With session-restore-do-purge on, b asks a to drop its copy
// and a does, at once; with it off a keeps its copy (until its next write
// is fenced). A purge request for a session a still owns drops nothing.
func TestPurgeAfterRestore(t *testing.T) {
	for _, on := range []bool{true, false} {
		name := "off"
		if on {
			name = "on"
		}
		t.Run(name, func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			const lease = 9 * time.Second
			clkA, clkB := clock.NewFake(t0), clock.NewFake(t0)
			dropped := make(chan string, 4)
			a := cluster.New(cluster.Options{Store: st, Clock: clkA, NodeID: "a", Lease: lease,
				Drop: func(id string) { dropped <- id }})
			agentA := httptest.NewServer(a.PurgeHandler())
			defer agentA.Close()
			var purge atomic.Bool
			purge.Store(on)
			b := cluster.New(cluster.Options{Store: st, Clock: clkB, NodeID: "b", Lease: lease,
				Restore: func(context.Context, string) error { return nil }, Purge: purge.Load})
			if err := a.Start(ctx, map[string]string{"agent": agentA.URL}); err != nil {
				t.Fatal(err)
			}
			defer a.Stop(ctx)
			if err := b.Start(ctx, map[string]string{"agent": "http://127.0.0.1:1"}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"p1", "p2"} {
				if err := a.SessionCreated(&chat.Info{ID: id}).Wait(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// A purge for a session a owns drops nothing.
			resp, err := http.Post(agentA.URL+cluster.PurgePath+"p2", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			var ans map[string]any
			json.NewDecoder(resp.Body).Decode(&ans)
			resp.Body.Close()
			if ans["purged"] != false || a.Epoch("p2") != 1 {
				t.Fatalf("purge of a's own session: %v, epoch %d", ans, a.Epoch("p2"))
			}

			clkB.Advance(lease + time.Second) // a's lease ends for b
			if r, err := b.Resolve(ctx, "p1"); err != nil || !r.Local || b.Epoch("p1") != 2 {
				t.Fatalf("b's claim: %+v, %v", r, err)
			}
			b.Stop(ctx) // waits for the purge request in flight
			select {
			case id := <-dropped:
				if !on || id != "p1" {
					t.Fatalf("a dropped %s with do-purge %v", id, on)
				}
				if a.Owned() != 1 || a.Epoch("p2") != 1 {
					t.Fatalf("a owns %d sessions after the purge (p2 at epoch %d); want p2 alone", a.Owned(), a.Epoch("p2"))
				}
			default:
				if on {
					t.Fatal("with do-purge on a kept its copy")
				}
				if a.Owned() != 2 {
					t.Fatal("with do-purge off a lost its copy")
				}
			}
		})
	}
}
